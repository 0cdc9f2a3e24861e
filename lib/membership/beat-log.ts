/**
 * The heartbeat log of a member table: every rise of a member's counter
 * gets a local sequence number, so that the heartbeats a peer has not been
 * sent yet (those that rose after the mark of its last beat) are found in
 * O(changes), not O(members).
 *
 * Invariants: the log is in sequence order; an entry's latest rise is the
 * one whose sequence number it still holds (`seq`), earlier ones are stale
 * and skipped (a removed entry holds -1: all of its rises are stale); the
 * log holds at most about two rises per entry plus 1,024 before it is
 * compacted to one per entry.
 */
import type { Beats, MemberRecord } from './types.ts'

/** What the log needs of a table entry. */
export interface Logged {
  readonly record: MemberRecord
  hb: number
  /** Local sequence number of the last rise (-1: removed). */
  seq: number
  /** The link the last rise came from (not sent back there). */
  from: unknown
  /** Only members in the summary have their heartbeats sent. */
  readonly inSummary: boolean
}

export class BeatLog<E extends Logged> {
  private entries: E[] = []
  private seqs: number[] = []
  private seqNo = 0

  /** The latest sequence number (a peer sent everything up to it is up to date). */
  get seq(): number {
    return this.seqNo
  }

  /** `e`'s counter rose, learnt from `from`; `live` entries are held (the bound compaction keeps to). */
  rose(e: E, from: unknown, live: number): void {
    e.seq = ++this.seqNo
    e.from = from
    this.entries.push(e)
    this.seqs.push(e.seq)
    if (this.seqs.length > 2 * live + 1024) this.compact()
  }

  /**
   * The heartbeats that rose after `mark` (a sequence number), except those
   * that came from `from`; at most `max`. Returns them and the new mark.
   */
  since(mark: number, from: unknown, max: number): { beats: Beats; mark: number } {
    const seqs = this.seqs
    let lo = 0
    let hi = seqs.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (seqs[mid] <= mark) lo = mid + 1
      else hi = mid
    }
    const out: Beats = []
    const log = this.entries
    const limit = 3 * max
    for (let i = lo; i < seqs.length; i++) {
      const e = log[i]
      if (e.seq !== seqs[i] || (from !== null && e.from === from) || !e.inSummary) continue
      out.push(e.record.id, e.record.gen, e.hb)
      if (out.length >= limit) return { beats: out, mark: seqs[i] }
    }
    return { beats: out, mark: this.seqNo }
  }

  /** Keep one log entry per member: its latest rise. */
  private compact(): void {
    const entries: E[] = []
    const seqs: number[] = []
    const log = this.entries
    for (let i = 0; i < log.length; i++) {
      if (log[i].seq === this.seqs[i]) {
        entries.push(log[i])
        seqs.push(this.seqs[i])
      }
    }
    this.entries = entries
    this.seqs = seqs
  }
}
