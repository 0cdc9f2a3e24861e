import type { RandomFn } from '../lib/core/types.ts'

/**
 * The paper's precise reconciliation baselines (section 3.1), as the
 * harness runs them: the digest is every key's version, the candidates are
 * the keys where the sender holds a newer version than the receiver, and
 * when more than `mtu` want to go they are ordered globally by version
 * (versions here follow virtual time, the paper's synchronized clock) and
 * cut: `oldest` keeps the oldest updates, `newest` the newest. This ignores
 * Scuttlebutt's rule 2 (per source, only a suffix may be cut) on purpose:
 * precise reconciliation does not need it, since its digest names every key.
 */
export type PreciseOrder = 'oldest' | 'newest'

export class PreciseSelector {
  private idx = new Int32Array(1024)
  private ver = new Float64Array(1024)
  private out: number[] = []

  /**
   * Keys to send from a sender holding `from` to a receiver holding `to`
   * (versions by key index). Returns the chosen key indices, ascending by
   * version, and how many keys were candidates.
   */
  select(from: Float64Array, to: Float64Array, mtu: number, order: PreciseOrder, random: RandomFn): { keys: number[]; candidates: number } {
    let c = 0
    if (this.idx.length < from.length) {
      this.idx = new Int32Array(from.length)
      this.ver = new Float64Array(from.length)
    }
    const idx = this.idx
    const ver = this.ver
    for (let k = 0; k < from.length; k++) {
      if (from[k] > to[k]) {
        idx[c] = k
        ver[c] = from[k]
        c++
      }
    }
    const out = this.out
    out.length = 0
    if (c <= mtu) {
      for (let i = 0; i < c; i++) out.push(idx[i])
    } else {
      // The mtu-th oldest (or newest) version is the cut; ties at it go in random order.
      const sign = order === 'oldest' ? 1 : -1
      const work = new Float64Array(c)
      for (let i = 0; i < c; i++) work[i] = sign * ver[i]
      const cut = select(work, mtu - 1)
      const ties: number[] = []
      for (let i = 0; i < c; i++) {
        const v = sign * ver[i]
        if (v < cut) out.push(idx[i])
        else if (v === cut) ties.push(idx[i])
      }
      for (let i = ties.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1))
        const t = ties[i]
        ties[i] = ties[j]
        ties[j] = t
      }
      for (let i = 0; out.length < mtu; i++) out.push(ties[i])
    }
    const keys = out.slice()
    keys.sort((a, b) => from[a] - from[b])
    return { keys, candidates: c }
  }
}

/** The k-th smallest value of `a` (0-based); reorders `a` (Hoare quickselect, median of three). */
function select(a: Float64Array, k: number): number {
  let lo = 0
  let hi = a.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const x = a[lo]
    const y = a[mid]
    const z = a[hi]
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i] < pivot) i++
      while (a[j] > pivot) j--
      if (i <= j) {
        const t = a[i]
        a[i] = a[j]
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]
  }
  return a[k]
}
