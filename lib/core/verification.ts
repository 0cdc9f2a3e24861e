import type { Clock, Source } from './clock.ts'
import type { DigestMsg } from '../protocol/messages.ts'

/**
 * Per-source fingerprint checks with one peer (ALGORITHM.md, verification).
 * Every `interval` ms a digest we start carries our fingerprints; the peer's
 * are compared with ours wherever its digest carries them. A difference
 * seen twice in a row with nothing changed in between (both clocks and both
 * fingerprints the same) is no write in flight: it is real, and the
 * records of that source are to be sent in full.
 */
export class Verification {
  private last = -Infinity
  /** Per source, the last difference seen: the clocks and fingerprints compared. */
  private readonly suspects = new Map<Source, string>()

  constructor(private readonly interval: number) {}

  /** Whether a digest started at `now` (ms) should carry fingerprints; if so, it is counted as sent. */
  due(now: number): boolean {
    if (now - this.last < this.interval) return false
    this.last = now
    return true
  }

  /**
   * Compare the peer's entries with our clock. Returns whether they carried
   * fingerprints, and the sources whose records must now go in full.
   */
  compare(entries: readonly DigestMsg[], clock: Clock): { carried: boolean; different: Source[] } {
    let carried = false
    const different: Source[] = []
    for (const e of entries) {
      if (e.fp === undefined) continue
      carried = true
      const src = clock.find(e.source_id, e.gen)
      if (src === undefined) continue
      const mine = src.fp.toString()
      if (mine === e.fp) {
        this.suspects.delete(src)
        continue
      }
      const what = `${src.clock}|${e.version}|${mine}|${e.fp}`
      if (this.suspects.get(src) === what) {
        this.suspects.delete(src)
        different.push(src)
      } else this.suspects.set(src, what)
    }
    return { carried, different }
  }
}
