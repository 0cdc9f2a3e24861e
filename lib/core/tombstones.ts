import type { Rec } from './types.ts'

/**
 * Tombstones in the order they were applied, with the time each was
 * applied, so that those past the grace period are found in O(1) each.
 * Entries whose tombstone was since superseded are skipped when met; the
 * queue's consumed head is compacted away as it grows.
 */
export class Tombstones {
  private tombs: Rec[] = []
  private times: number[] = []
  private head = 0

  /** A tombstone was applied at `time` (ms). */
  note(rec: Rec, time: number): void {
    this.tombs.push(rec)
    this.times.push(time)
  }

  /** The oldest tombstone applied at least `grace` ms before `now`, or undefined. It stays until `pop`. */
  peekDue(now: number, grace: number): Rec | undefined {
    return this.head < this.tombs.length && this.times[this.head] + grace <= now ? this.tombs[this.head] : undefined
  }

  /** Done with the oldest (from `peekDue`); returns when it was applied. */
  pop(): number {
    const at = this.times[this.head]
    this.head++
    if (this.head > 1024 && this.head * 2 > this.tombs.length) {
      this.tombs = this.tombs.slice(this.head)
      this.times = this.times.slice(this.head)
      this.head = 0
    }
    return at
  }

  /** Restored tombstones with the time each was applied: noted oldest first, before any new one (applied later). */
  restored(entries: [Rec, number][]): void {
    entries.sort((x, y) => x[1] - y[1])
    for (const [rec, at] of entries) this.note(rec, at)
  }

  /** When each entry not yet popped that `held` still holds was applied, by key. */
  timesOf(held: (rec: Rec) => boolean): Map<string, number> {
    const out = new Map<string, number>()
    for (let i = this.head; i < this.tombs.length; i++) if (held(this.tombs[i])) out.set(this.tombs[i].key, this.times[i])
    return out
  }

  /** Entries not yet due or popped (some may have been superseded since). */
  *pending(): IterableIterator<Rec> {
    for (let i = this.head; i < this.tombs.length; i++) yield this.tombs[i]
  }
}

/** At most this many forgotten tombstones are remembered by key. */
export const MAX_COLLECTED = 65_536

/**
 * Tombstones this node forgot, remembered by key (at most `max`, the
 * oldest dropped first), so that a record one of them beat is refused
 * however it comes back (a stale peer, a replay, a source this node never
 * knew), while a record of a key never deleted here is taken, however old;
 * and so that a peer behind our gc floors can still be sent them (kept
 * with their signatures).
 *
 * `floor`: the highest version among forgotten tombstones no longer
 * remembered by key (dropped past `max`, or collected in an earlier life
 * of this node: a restored gc floor). A record this node's clock covers,
 * of a key it does not hold, at or below it may be one they deleted, and
 * is refused.
 */
export class Collected {
  private readonly byKey = new Map<string, Rec>()
  floor = 0

  constructor(private readonly max: number) {}

  /** The tombstone forgotten for `key`, if remembered. */
  get(key: string): Rec | undefined {
    return this.byKey.get(key)
  }

  /** `t` was forgotten (collected). */
  add(t: Rec): void {
    this.byKey.delete(t.key)
    this.byKey.set(t.key, t)
    if (this.byKey.size <= this.max) return
    const [key, oldest] = this.byKey.entries().next().value as [string, Rec]
    this.byKey.delete(key)
    this.raise(oldest.version)
  }

  /** How many are remembered by key. */
  get size(): number {
    return this.byKey.size
  }

  /** Those remembered, oldest first (what a store saves). */
  values(): IterableIterator<Rec> {
    return this.byKey.values()
  }

  /** The key holds a record again: what was forgotten for it no longer matters. */
  delete(key: string): void {
    this.byKey.delete(key)
  }

  /** Tombstones up to `version` were forgotten, which ones unknown. */
  raise(version: number): void {
    if (version > this.floor) this.floor = version
  }
}
