import type { Source } from './clock.ts'
import type { Replica } from './replica.ts'
import type { Rec } from './types.ts'
import type { ResetMsg } from '../protocol/messages.ts'

/**
 * The two halves of a reset (ALGORITHM.md, deletes): the healthy side sends
 * a stale peer all its records, source by source in version ranges; the
 * stale side sweeps, per range, the records it holds that were not sent.
 */

/** Sends a reset in chunks; one per session. */
export class ResetSender {
  /** Per source, how far the reset has gone; null when no reset is running. */
  private cursor: Map<Source, number> | null = null

  get running(): boolean {
    return this.cursor !== null
  }

  stop(): void {
    this.cursor = null
  }

  /**
   * Send the next chunk through `send`: at most `budget` records, each
   * source's range closed by a marker. Returns whether more chunks remain.
   */
  next(replica: Replica, budget: number, send: (rec: Rec, prev: number) => void, mark: (src: Source, from: number, to: number, n: number) => void): boolean {
    if (this.cursor === null) {
      this.cursor = new Map()
      for (const src of replica.clock.values()) if (src.clock > 0) this.cursor.set(src, 0)
    }
    const recs: Rec[] = []
    for (const [src, from] of this.cursor) {
      const log = src.log
      const start = log.firstAfter(from)
      const count = log.liveFrom(start) - log.liveFrom(log.firstAfter(src.clock))
      if (count > 0 && budget === 0) break
      const n = Math.min(count, budget)
      recs.length = 0
      log.take(start, n, recs)
      let prev = from
      for (const r of recs) {
        send(r, prev)
        prev = r.version
      }
      budget -= n
      const to = n === count ? src.clock : recs[n - 1].version
      mark(src, from, to, n)
      if (to >= src.clock) this.cursor.delete(src)
      else this.cursor.set(src, to)
    }
    if (this.cursor.size > 0) return true
    this.cursor = null
    return false
  }
}

/**
 * Receives a reset while this side is stale. Clock advances are held back
 * (`deferred`) until the whole reset has arrived intact: a clock may only
 * claim a source once every stale record, of any source, that a forgotten
 * tombstone of it deleted has been swept.
 */
export class ResetReceiver {
  private readonly kept = new Map<Source, Set<string>>()
  private readonly deferred = new Map<Source, number>()
  /** Part of the reset went missing: nothing is committed, the next reset starts over. */
  private broken = false

  /** Where this side would stand for `src` if the reset so far were committed. */
  private reach(src: Source): number {
    const d = this.deferred.get(src) ?? 0
    return d > src.clock ? d : src.clock
  }

  /** A record arrived while stale, with its chain link. */
  onRecord(src: Source, rec: Rec, prev: number): void {
    let keys = this.kept.get(src)
    if (keys === undefined) this.kept.set(src, (keys = new Set()))
    keys.add(rec.key)
    if (this.reach(src) >= prev && rec.version > (this.deferred.get(src) ?? 0)) this.deferred.set(src, rec.version)
  }

  /** The end of a chunk: sweep our records of the range that were not sent. */
  onMarker(src: Source, m: ResetMsg, replica: Replica): void {
    const kept = this.kept.get(src)
    this.kept.delete(src)
    if ((kept?.size ?? 0) !== m.n || this.reach(src) < m.from) {
      this.broken = true // a record or an earlier chunk was lost on the way
      return
    }
    const doomed: Rec[] = []
    const one: Rec[] = []
    let slot = src.log.firstAfter(m.from)
    for (;;) {
      one.length = 0
      slot = src.log.take(slot, 1, one)
      const r = one[0]
      if (r === undefined || r.version > m.to) break
      if (kept === undefined || !kept.has(r.key)) doomed.push(r)
    }
    for (const r of doomed) replica.dropForReset(r)
    if (m.to > (this.deferred.get(src) ?? 0)) this.deferred.set(src, m.to)
  }

  /** The reset is over: commit the held-back advances if it arrived whole. Returns whether it did. */
  finish(replica: Replica, complete: boolean): boolean {
    const ok = complete && !this.broken
    if (ok) for (const [src, v] of this.deferred) replica.advance(src, v)
    this.deferred.clear()
    this.kept.clear()
    this.broken = false
    return ok
  }

  /** Records since the last marker belong to no chunk once a digest ends. */
  endOfMessage(): void {
    this.kept.clear()
  }
}
