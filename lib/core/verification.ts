import type { Clock, Source } from './clock.ts'
import type { DigestMsg } from '../protocol/messages.ts'
import { xorHex } from './fingerprint.ts'

/** The fingerprint of a source's records at or below a version, or undefined past `max` records above it (`Records.fingerprintAt`). */
export type FingerprintAt = (src: Source, version: number, max: number) => string | undefined

/** How many of a source's records a peer may lack (in flight to it) and still be compared. */
const BEHIND_MAX = 64

/**
 * Per-source fingerprint checks with one peer (ALGORITHM.md, verification).
 * Every `interval` ms a digest we start carries our fingerprints; the peer's
 * are compared with ours wherever its digest carries them. Fingerprints
 * are XORs, so the difference of two (their XOR) is the XOR of the records
 * one side holds and the other does not: writes both sides took since
 * cancel out of it. The same difference seen twice in a row is no write in
 * flight (those come and go): it is real, and the records of that source
 * are to be sent in full. A source written without pause still gets there,
 * where comparing whole clocks and fingerprints would never see the same
 * twice. A peer behind our clock of a source is compared with our
 * records up to its clock.
 */
export class Verification {
  private last = -Infinity
  /** Per source, the last difference seen (the XOR of the two fingerprints). */
  private readonly suspects = new Map<Source, string>()

  constructor(private readonly interval: number) {}

  /** Whether a digest started at `now` (ms) should carry fingerprints; if so, it is counted as sent. */
  due(now: number): boolean {
    if (now - this.last < this.interval) return false
    this.last = now
    return true
  }

  /**
   * Compare the peer's entries with our clock: the sources whose records
   * must now go in full.
   */
  compare(entries: readonly DigestMsg[], clock: Clock, at: FingerprintAt): Source[] {
    const different: Source[] = []
    for (const e of entries) {
      if (e.fp === undefined) continue
      const src = clock.find(e.source_id, e.gen)
      if (src === undefined) continue
      // Ours as of the peer's clock (records above it are in flight to it);
      // none while the peer is ahead or far behind (judged another time).
      const mine = e.version === src.clock ? src.fp.toString() : e.version < src.clock ? at(src, e.version, BEHIND_MAX) : undefined
      if (mine === undefined) continue
      if (mine === e.fp) {
        this.suspects.delete(src)
        continue
      }
      const what = xorHex(mine, e.fp)
      if (this.suspects.get(src) === what) {
        this.suspects.delete(src)
        different.push(src)
      } else this.suspects.set(src, what)
    }
    return different
  }
}
