import type { Clock, Source } from './clock.ts'
import type { DigestMsg } from '../protocol/messages.ts'
import { Fingerprint, xorHex } from './fingerprint.ts'

/**
 * Per-source fingerprint checks with one peer (ALGORITHM.md, verification).
 * Every `interval` ms (of `replica.timeMs()`, which a step back of the wall
 * clock does not stretch: wait-clock.ts) a digest we start carries our
 * fingerprints; the peer's are compared with ours wherever its digest
 * carries them. Fingerprints
 * are XORs, so the difference of two (their XOR) is the XOR of the records
 * one side holds and the other does not: writes both sides took since
 * cancel out of it. The same difference seen at every check for at least
 * `interval` is no write in flight (those come and go): it is real, and
 * the records of that source are to be sent in full. New writes of the
 * source that both sides took do not reset it (they cancel out). The
 * session compares only after a whole
 * response (the initiator at the reply, the responder at the final), when
 * each side holds what the other had: a backlog cut at the MTU is no
 * difference. A difference seen again after a full send of the source
 * (the peer refused the records, or cannot hold their source; the same
 * difference or another) waits twice as long before the next, until the
 * fingerprints are once equal, up to 64 times the interval: a difference
 * no send can mend costs a send an hour (at the default 60 s), not a minute.
 */
export class Verification {
  private last = -Infinity
  /** Per source, the difference seen (the XOR of the two fingerprints), and when it was first seen. */
  private readonly suspects = new Map<Source, { what: string; at: number }>()
  /** Per source, full sends in a row that did not make the fingerprints equal (whatever the differences were). */
  private readonly sent = new Map<Source, number>()

  constructor(private readonly interval: number) {}

  /** Whether a digest started at `now` (ms) should carry fingerprints; if so, it is counted as sent. */
  due(now: number): boolean {
    if (now - this.last < this.interval) return false
    this.last = now
    return true
  }

  /**
   * Compare the peer's entries with our clock: the sources whose records
   * must now go in full. A whole digest lists every source its sender
   * knows, so one that carries fingerprints and does not list a source of
   * ours says the peer holds nothing of it (an empty fingerprint at
   * version 0): that is judged for the sources `heldBack` names, whose
   * records nothing else would offer the peer.
   */
  compare(entries: readonly DigestMsg[], clock: Clock, now: number, heldBack?: (src: Source) => boolean): Source[] {
    const different: Source[] = []
    // Only a digest with fingerprints (a verifying one) needs the sources it listed.
    let listed: Set<Source> | null = null
    for (const e of entries) {
      if (e.fp === undefined) continue
      listed ??= new Set()
      const src = clock.find(e.source_id, e.gen)
      if (src === undefined) continue
      listed.add(src)
      this.judge(src, e.fp, e.version, now, different)
    }
    if (listed !== null && heldBack !== undefined) {
      for (const src of clock.values()) if (!listed.has(src) && heldBack(src)) this.judge(src, EMPTY, 0, now, different)
    }
    return different
  }

  private judge(src: Source, theirs: string, version: number, now: number, different: Source[]): void {
    const mine = src.fp.toString()
    if (mine === theirs) {
      this.suspects.delete(src)
      this.sent.delete(src)
      return
    }
    // At different clocks, records in flight may make the difference: it
    // counts only if the clocks stand where they stood (nothing arrived).
    const what = version === src.clock ? xorHex(mine, theirs) : `${src.clock}|${version}|${xorHex(mine, theirs)}`
    const seen = this.suspects.get(src)
    if (seen === undefined || seen.what !== what) return void this.suspects.set(src, { what, at: now })
    const times = this.sent.get(src) ?? 0
    // Seen again an interval later (not at the other check of the same moment): real.
    if (now - seen.at < this.interval * 2 ** Math.min(times, MAX_BACKOFF_STEPS)) return
    this.suspects.delete(src)
    this.sent.set(src, times + 1)
    different.push(src)
  }
}

/** A difference that full sends do not mend is sent again at most every 2^6 = 64 intervals. */
const MAX_BACKOFF_STEPS = 6

/** The fingerprint of no records. */
const EMPTY = new Fingerprint().toString()
