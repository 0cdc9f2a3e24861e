import { RESERVED_KEY_PREFIX } from '../protocol/validate.ts'

/** Holes kept at most, over all sources: past it a record is not passed over (its chain breaks, and it is fetched again later). */
export const MAX_HOLES = 4096

/**
 * Records this node passed over without holding them (refused for good:
 * `accept`, `maxValueBytes`, one of its limits, a signature by a key it does
 * not hold), by source: its clock goes past them, so it does not fetch them
 * again, but it must not vouch for them (design rule 4 at its peers, who
 * may take them). So no chain it sends spans one (`between`), and the clock
 * entries it sends a peer to adopt stop below the lowest (`vouched`): a
 * peer that would take the record still asks for it, from a node that
 * holds it.
 *
 * A hole ends when the node takes a later record of its source and key:
 * the record passed over is then no longer its source's current entry for
 * the key, and nobody needs it. A hole whose key can never be taken here
 * (longer than `maxKeyLength`) is kept under a reserved key (`keyless`).
 * Holes are bounded (`MAX_HOLES`); past that `add` says no, and the caller
 * breaks the record's chain instead of passing over it.
 */
/** A source as holes see it (clock.ts's `Source`; its own type here keeps the import graph acyclic). */
export interface Source {
  readonly clock: number
}

export class Holes {
  private readonly bySource = new Map<Source, Map<string, number>>()
  private count = 0

  /** Note a record of `src` passed over; false when the bound is reached (it must not be passed over). */
  add(src: Source, key: string, version: number): boolean {
    let m = this.bySource.get(src)
    const had = m?.get(key)
    if (had !== undefined) {
      if (version > had) m!.set(key, version)
      return true
    }
    if (this.count >= MAX_HOLES) return false
    if (m === undefined) this.bySource.set(src, (m = new Map()))
    m.set(key, version)
    this.count++
    return true
  }

  /** A record of `src` at `version` for `key` was taken: a hole of that key below it ends. */
  taken(src: Source, key: string, version: number): void {
    const m = this.bySource.get(src)
    if (m === undefined) return
    const had = m.get(key)
    if (had === undefined || had >= version) return
    m.delete(key)
    this.count--
    if (m.size === 0) this.bySource.delete(src)
  }

  /** Whether a hole of `src` lies strictly between `lo` and `hi` (a chain from `lo` to `hi` would span it). */
  between(src: Source, lo: number, hi: number): boolean {
    const m = this.bySource.get(src)
    if (m === undefined) return false
    for (const v of m.values()) if (v > lo && v < hi) return true
    return false
  }

  /** Whether a hole of `src` lies above `v`. */
  above(src: Source, v: number): boolean {
    return this.between(src, v, Infinity)
  }

  /** The clock of `src` this node vouches for: its clock, below its lowest hole. */
  vouched(src: Source): number {
    const m = this.bySource.get(src)
    let v = src.clock
    if (m !== undefined) for (const h of m.values()) if (h <= v) v = h - 1
    return v
  }

  /** The key a hole of a record whose key this node cannot hold is kept under (unique per version, never a record's key). */
  static keyless(version: number): string {
    return `${RESERVED_KEY_PREFIX}hole/${version}`
  }
}
