import type { Duplex } from 'readable-stream'

/** A Duplex's readable state as readable-stream keeps it: the destinations it pipes to. */
type Piping = { _readableState?: { pipes?: unknown[] } }

/**
 * The pipes of a stream that is one peer's session (`createStream()`,
 * `createWireStream()`): what the session believes its peer holds is that
 * one peer's, so a second peer on it would never be sent what it lacks.
 *
 * Invariants:
 * - The stream has at most one source and one destination at a time; a
 *   second (a different object, while the first is piped) is refused by a
 *   throw out of `pipe()`, and a refused source is unpiped again before the
 *   throw, so nothing flows through it.
 * - Piping the same destination again while it is piped changes nothing.
 * - A pipe taken down (`unpipe`, as a node moving a neighbour onto a stream
 *   of its own does) frees its place.
 */
export class OnePeer {
  /** The source piped in, until it is unpiped. */
  private source: object | null = null

  constructor(
    private readonly stream: Duplex,
    /** The call that made the stream, for the error: `createStream` or `createWireStream`. */
    private readonly call: string,
  ) {
    stream.on('pipe', (src: object) => this.piped(src))
    stream.on('unpipe', (src: object) => {
      if (src === this.source) this.source = null
    })
  }

  /** Before piping the stream to `dest`: true if it is piped there already; throws for a second destination. */
  destination(dest: object): boolean {
    const pipes = (this.stream as unknown as Piping)._readableState?.pipes ?? []
    if (pipes.includes(dest)) return true
    if (pipes.length > 0) throw this.refused('piped to another destination')
    return false
  }

  private piped(src: object): void {
    if (this.source === null || this.source === src) {
      this.source = src
      return
    }
    ;(src as { unpipe(d: unknown): unknown }).unpipe(this.stream)
    throw this.refused('piped into from another source')
  }

  private refused(what: string): Error {
    return new Error(
      `${this.call}(): this stream is one peer's session and is already ${what}; ` +
        `call gossip.${this.call}() for each peer (or pipe the Gossip itself, which takes several peers)`,
    )
  }
}
