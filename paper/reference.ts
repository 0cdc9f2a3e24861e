import type { RandomFn } from '../lib/core/types.ts'
import type { Ordering } from './library.ts'
import { PreciseSelector } from './precise.ts'
import type { ExchangeResult, Model } from './sim.ts'

/**
 * A reference model of the paper's protocols, written from the paper's
 * definitions with plain arrays and none of the library's code: it is the
 * yardstick the library's run is compared with.
 *
 * State: held[q][key] is the version of µ_q(p)(k); clock[q][p] is
 * max(µ_q(p)), the highest version q holds of p (the Scuttlebutt digest).
 * Versions are stamped as max(highest seen + 1, time in µs), like the
 * library's, so they follow virtual time (the precise baselines need that).
 *
 * Scuttlebutt (section 3.2): p sends q, for every participant r, the
 * mappings of r with a version above q's digest entry for r, ascending per
 * r; under the MTU, scuttle-depth takes participants with the most such
 * deltas first (ties at random), each in full; scuttle-breadth takes them
 * rank by rank (participants in random order). Precise (section 3.1): see
 * precise.ts.
 */
export class ReferenceModel implements Model {
  readonly held: Float64Array[]
  readonly clock: Float64Array[]
  private readonly seen: Float64Array
  private readonly precise = new PreciseSelector()

  constructor(
    readonly n: number,
    readonly keys: number,
    readonly order: Ordering,
    private readonly random: RandomFn,
  ) {
    this.held = Array.from({ length: n }, () => new Float64Array(n * keys))
    this.clock = Array.from({ length: n }, () => new Float64Array(n))
    this.seen = new Float64Array(n)
  }

  write(node: number, key: number, t: number): number {
    const v = Math.max(this.seen[node] + 1, Math.round(t * 1e6))
    this.seen[node] = v
    this.held[node][key] = v
    this.clock[node][node] = v
    return v
  }

  exchange(p: number, q: number, mtu: number): ExchangeResult {
    const a = this.leg(q, p, mtu)
    const b = this.leg(p, q, mtu)
    return { toInitiator: a.candidates, toResponder: b.candidates, sent: a.sent + b.sent, redundant: a.redundant + b.redundant }
  }

  private leg(from: number, to: number, mtu: number): { candidates: number; sent: number; redundant: number } {
    let keys: number[]
    let candidates: number
    if (this.order === 'oldest' || this.order === 'newest') {
      const r = this.precise.select(this.held[from], this.held[to], mtu, this.order, this.random)
      keys = r.keys
      candidates = r.candidates
    } else {
      const r = this.scuttle(from, to, mtu)
      keys = r.keys
      candidates = r.candidates
    }
    const src = this.held[from]
    const dst = this.held[to]
    const clock = this.clock[to]
    let redundant = 0
    for (const k of keys) {
      const v = src[k]
      if (dst[k] >= v) redundant++
      else dst[k] = v
      const owner = Math.floor(k / this.keys)
      if (v > clock[owner]) clock[owner] = v
      if (v > this.seen[to]) this.seen[to] = v
    }
    return { candidates, sent: keys.length, redundant }
  }

  private scuttle(from: number, to: number, mtu: number): { keys: number[]; candidates: number } {
    const src = this.held[from]
    const digest = this.clock[to]
    const pending: number[][] = []
    let candidates = 0
    for (let r = 0; r < this.n; r++) {
      const base = r * this.keys
      const mine: number[] = []
      for (let k = base; k < base + this.keys; k++) if (src[k] > digest[r]) mine.push(k)
      if (mine.length === 0) continue
      mine.sort((a, b) => src[a] - src[b])
      pending.push(mine)
      candidates += mine.length
    }
    const keys: number[] = []
    if (candidates <= mtu) {
      for (const m of pending) keys.push(...m)
      return { keys, candidates }
    }
    this.shuffle(pending)
    if (this.order === 'depth') {
      pending.sort((a, b) => b.length - a.length) // stable: ties keep the random order
      for (const m of pending) {
        for (const k of m) {
          if (keys.length === mtu) return { keys, candidates }
          keys.push(k)
        }
      }
    } else {
      for (let rank = 0; keys.length < mtu; rank++) {
        for (const m of pending) {
          if (rank < m.length && keys.length < mtu) keys.push(m[rank])
        }
      }
    }
    return { keys, candidates }
  }

  private shuffle<T>(a: T[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1))
      const t = a[i]
      a[i] = a[j]
      a[j] = t
    }
  }
}
