/** Choosing the deltas for one peer under an MTU: candidates per source, depth or breadth order (the paper's section 2). */
import type { Source } from './clock.ts'
import { shuffle } from './random.ts'
import type { DeltaOrder, RandomFn, Rec } from './types.ts'

/** Records of one source that the peer lacks: live slots from `from` on, `count` of them. */
export interface Candidate {
  readonly src: Source
  readonly from: number
  readonly count: number
}

export interface Selection {
  /** Records to send, ascending by version within each source. */
  readonly recs: Rec[]
  /** Some pending record was left for a later exchange. */
  readonly truncated: boolean
}

/**
 * Check the options of a response (`Engine.deltasFor`, `selectDelta`):
 * `mtu` a non-negative integer or Infinity, `order` 'depth' or 'breadth'
 * (undefined: 'depth'), `random` a function. Throws a `RangeError` or
 * `TypeError` naming the option and showing the value; returns the order.
 */
export function checkDeltaOptions(mtu: unknown, order: unknown, random: unknown): DeltaOrder {
  if (typeof mtu !== 'number' || !(mtu === Infinity || (Number.isInteger(mtu) && mtu >= 0))) {
    throw new (typeof mtu === 'number' ? RangeError : TypeError)(`mtu must be a non-negative integer or Infinity, got ${show(mtu)}`)
  }
  if (order !== undefined && order !== 'depth' && order !== 'breadth') throw new RangeError(`order must be 'depth' or 'breadth', got ${show(order)}`)
  if (typeof random !== 'function') throw new TypeError(`random must be a function returning a number in [0, 1), got ${show(random)}`)
  return order ?? 'depth'
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

/**
 * Choose what one exchange sends when the peer lacks `candidates`.
 *
 * Rule 2 holds for every order: per source, records go in ascending version
 * and only a suffix is left out, so the receiver's clock never passes a gap.
 * - `depth` (scuttle-depth, the paper's winner): sources with the most
 *   pending records first, ties in random order; each source is sent in full
 *   before the next one starts.
 * - `breadth` (scuttle-breadth): rank by rank, the oldest pending record of
 *   every source (in random source order), then the second, and so on.
 */
export function selectDelta(candidates: Candidate[], mtu: number, order: DeltaOrder, random: RandomFn): Selection {
  checkDeltaOptions(mtu, order, random)
  const recs: Rec[] = []
  let total = 0
  for (const c of candidates) total += c.count

  if (total <= mtu) {
    for (const c of candidates) {
      c.src.log.take(c.from, c.count, recs)
    }
    return { recs, truncated: false }
  }

  const ordered = shuffle(candidates.slice(), random)
  let budget = mtu
  if (order === 'depth') {
    // Array.prototype.sort is stable: equal counts keep their shuffled order.
    ordered.sort((a, b) => b.count - a.count)
    for (const c of ordered) {
      if (budget === 0) break
      const n = Math.min(c.count, budget)
      c.src.log.take(c.from, n, recs)
      budget -= n
    }
  } else {
    const cursor = ordered.map((c) => c.from)
    const left = ordered.map((c) => c.count)
    const one: Rec[] = []
    while (budget > 0) {
      let progressed = false
      for (let i = 0; i < ordered.length && budget > 0; i++) {
        if (left[i] === 0) continue
        one.length = 0
        cursor[i] = ordered[i].src.log.take(cursor[i], 1, one)
        recs.push(one[0])
        left[i]--
        budget--
        progressed = true
      }
      if (!progressed) break
    }
    // Sources interleave; each source's cursor only moves forward, so its own
    // records still go out in ascending version.
  }
  return { recs, truncated: true }
}
