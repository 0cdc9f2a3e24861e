import type { Duplex } from 'readable-stream'

/** What the node is piped to: anything with `write`, as `pipe` takes. */
type Destination = NodeJS.WritableStream

/** What is piped into the node. */
interface Source {
  pipe(dest: Duplex, opts?: { end?: boolean }): unknown
  unpipe(dest?: Duplex): unknown
  once(event: 'end' | 'close', fn: () => void): unknown
}

/**
 * The pipes of a node used as the stream to one peer at a time: the seed's
 * `gossip.pipe(serializer).pipe(io).pipe(deserializer).pipe(gossip)`,
 * repeated for each connection.
 *
 * Invariants:
 * - A source piped in never ends the node. Its end (or close) is the end of that peer:
 *   the session closes and the node is unpiped from every destination, so
 *   the next connection finds the node open and nothing left over.
 * - A second source piped in is a new peer (a reconnect): the session
 *   starts afresh, earlier sources are unpiped, and so are destinations
 *   piped before the previous source, so a dead connection neither feeds the
 *   new session nor holds the node back with its backpressure.
 * - A session that ends leaves nothing for the next peer: what the node
 *   buffered for its reader and nobody read (a partial response, right
 *   only for the peer it answered) is discarded with it.
 * - The node's own `end()` and `destroy()` are untouched.
 */
export class PeerPipes {
  /** The current peer's source: the latest piped in, until it ends. */
  private source: Source | null = null
  /** Destinations, each with the number of sources piped in before it. */
  private dests: Array<{ dest: Destination; after: number }> = []
  private count = 0
  private repiping = false

  constructor(
    private readonly node: Duplex,
    /** Close the node's session with its peer; the next read or write starts a new one. */
    private readonly closeSession: () => void,
  ) {
    node.on('pipe', (src: Source) => this.piped(src))
  }

  /** The peer is gone: its session closes and what the node buffered for it is dropped (readable-stream's state). */
  private endSession(): void {
    this.closeSession()
    const st = (this.node as unknown as { _readableState?: { buffer?: { clear?(): void }; length: number } })._readableState
    if (st?.buffer?.clear === undefined) return
    st.buffer.clear()
    st.length = 0
  }

  /** The node is being piped to `dest` (call before piping). */
  destination(dest: Destination): void {
    this.dests = this.dests.filter((d) => d.dest !== dest)
    this.dests.push({ dest, after: this.count })
  }

  private piped(src: Source): void {
    if (this.repiping) return
    // Take the pipe over without its end: the peer's end is not the node's.
    this.repiping = true
    try {
      src.unpipe(this.node)
      src.pipe(this.node, { end: false })
    } finally {
      this.repiping = false
    }
    this.count++
    // Ended, or destroyed (a failed connection's parser closes without ending).
    src.once('end', () => this.ended(src))
    src.once('close', () => this.ended(src))
    if (this.count > 1) {
      this.endSession()
      this.source?.unpipe(this.node)
      this.unpipe((d) => d.after < this.count - 1)
    }
    this.source = src
  }

  private ended(src: Source): void {
    if (src !== this.source) return // superseded by a later source already, or already ended
    this.source = null
    this.endSession()
    this.unpipe(() => true)
  }

  private unpipe(stale: (d: { dest: Destination; after: number }) => boolean): void {
    const keep: typeof this.dests = []
    for (const d of this.dests) {
      if (stale(d)) this.node.unpipe(d.dest as never)
      else keep.push(d)
    }
    this.dests = keep
  }
}
