import type { Clock, Source } from './clock.ts'
import type { Rec } from './types.ts'

/**
 * The records a replica holds: one winning record per key, each also in
 * its source's log (ordered by version) and in its source's fingerprint.
 * This is the one owner of that bookkeeping: nothing else adds or removes
 * a record.
 *
 * Invariants: a record is in the map exactly when it is in its source's
 * log; it is in its source's fingerprint unless it is `aged` (a tombstone
 * of this node past the grace period, kept but left out, as other nodes
 * forget theirs); `seen` of a source is at least the version of any record
 * of it ever held. An aged tombstone keeps when it was applied, so that a
 * store saving state (a rewrite of the log) saves it as aged still.
 */
export class Records {
  private readonly map = new Map<string, Rec>()
  /** Own tombstones past the grace period: held, not fingerprinted; with when each was applied (ms). */
  private readonly aged = new Map<Rec, number>()

  constructor(private readonly clock: Clock) {}

  get(key: string): Rec | undefined {
    return this.map.get(key)
  }

  get size(): number {
    return this.map.size
  }

  values(): IterableIterator<Rec> {
    return this.map.values()
  }

  entries(): IterableIterator<[string, Rec]> {
    return this.map.entries()
  }

  /** Put `rec` (of source `src`) in place of `cur`, the record held for its key. */
  replace(rec: Rec, src: Source, cur: Rec | undefined): void {
    Object.freeze(rec) // held records are shared with readers (get, record, history, state)
    if (rec.version > src.seen) src.seen = rec.version
    if (cur !== undefined) this.unindex(cur, cur.source_id === src.id && cur.gen === src.gen ? src : this.clock.find(cur.source_id, cur.gen))
    src.log.insert(rec)
    this.map.set(rec.key, rec)
    src.fp.add(rec)
  }

  /** Take `rec` (of source `src`) out of state altogether. */
  remove(rec: Rec, src: Source): void {
    this.unindex(rec, src)
    this.map.delete(rec.key)
  }

  /** Keep `rec` (an own tombstone past the grace period, applied at `at`) but leave it out of its source's fingerprint. */
  age(rec: Rec, src: Source, at: number): void {
    if (this.aged.has(rec)) return
    this.aged.set(rec, at)
    src.fp.remove(rec)
  }

  /** The aged tombstones held, with when each was applied. */
  agedTimes(): IterableIterator<[Rec, number]> {
    return this.aged.entries()
  }

  private unindex(rec: Rec, src: Source | undefined): void {
    if (src === undefined) return
    src.log.remove(rec)
    if (this.aged.size === 0 || !this.aged.delete(rec)) src.fp.remove(rec)
  }
}
