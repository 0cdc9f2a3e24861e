import type { DigestMsg, DoneMsg, RateClaim } from './messages.ts'

/**
 * A whole digest as one typed message: its entries and what its end marker
 * says. On the wire a digest is entries then an end marker (the seed's
 * shapes); `DigestAssembler` turns that sequence into `Digest`s.
 *
 * The leg, from the marker:
 * - `request`: leg 1, the initiator's clock (or, with `resync`, exact
 *   starting points);
 * - `reply`: leg 2, the responder's clock, ending its answer;
 * - `final`: ends leg 3 (or a streamed answer): nothing is sent back;
 * - `part`: marks a part of a long streamed answer (`final` with `more` and
 *   `stream`); it carries no entries that matter.
 */
export type Leg = 'request' | 'reply' | 'final' | 'part'

export interface Digest {
  readonly leg: Leg
  readonly entries: readonly DigestMsg[]
  /** The answer this marker ends was cut at `mtu`; more is waiting. */
  readonly more: boolean
  /** With `more`: the rest follows by itself. */
  readonly stream: boolean
  /** A resync request (`request`), or the end of an answer to one (`reply`). */
  readonly resync: boolean
  /** The sender's acknowledgement of what it received from us, and its own sequence number (lossy links; see `DoneMsg`). */
  readonly ack: number | undefined
  readonly seq: number | undefined
  /** The sender's (ρ, τ), when it runs flow control; validated, not trusted (core/flow-link.ts). */
  readonly rates: RateClaim | undefined
}

export function legOf(end: DoneMsg): Leg {
  if (end.final) return end.more && end.stream ? 'part' : 'final'
  return end.reply ? 'reply' : 'request'
}

/**
 * Gathers digest entries until their end marker; a digest of more than
 * `max` entries, or whose ids and generations come to more than
 * `CHARS_PER_ENTRY` characters an entry on average over `max` entries, is
 * refused whole. What one unfinished digest holds is bounded by both:
 * entries of long ids cannot pin tens of MB per connection.
 */
export class DigestAssembler {
  private entries: DigestMsg[] = []
  private overflow = false
  private chars = 0
  private readonly maxChars: number

  constructor(private readonly max: number) {
    this.maxChars = max * CHARS_PER_ENTRY
  }

  entry(e: DigestMsg): void {
    if (this.overflow) return
    this.chars += e.source_id.length + (e.gen?.length ?? 0)
    if (this.entries.length >= this.max || this.chars > this.maxChars) {
      this.overflow = true
      this.entries = []
    } else this.entries.push(e)
  }

  /** The digest `end` closes, or null when it was over either bound. */
  end(end: DoneMsg): Digest | null {
    const entries = this.entries
    this.entries = []
    this.chars = 0
    if (this.overflow) {
      this.overflow = false
      return null
    }
    return { leg: legOf(end), entries, more: end.more, stream: end.stream, resync: end.resync, ack: end.ack, seq: end.seq, rates: end.rates }
  }

  clear(): void {
    this.entries = []
    this.overflow = false
    this.chars = 0
  }
}

/** Characters of ids and generations a digest may average per entry, over `max` entries (an id is at most 256). */
export const CHARS_PER_ENTRY = 128
