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
 * - A node piped straight to another node (`a.pipe(b).pipe(a)`, the seed's
 *   wiring, repeated for each neighbour) is a peer of its own, never a
 *   reconnect: in-memory nodes do not die without ending. While another
 *   peer is live, the new pair is moved onto a stream of its own
 *   (`extraStream`, as `createStream()` gives), in whichever order its two
 *   pipes are made, so every neighbour has its own session.
 * - The node's own `end()` and `destroy()` are untouched.
 */
export class PeerPipes {
  /** The current peer's source: the latest piped in, until it ends. */
  private source: Source | null = null
  /** Destinations, each with the number of sources piped in before it. */
  private dests: Array<{ dest: Destination; after: number }> = []
  private count = 0
  private repiping = false

  /** Neighbour nodes moved onto a stream of their own, by the neighbour. */
  private readonly extra = new Map<object, Duplex>()

  constructor(
    private readonly node: Duplex,
    /** Close the node's session with its peer; the next read or write starts a new one. */
    private readonly closeSession: () => void,
    /** Whether a source is another node (a Gossip or one of its peer streams), not a decoder of a connection. */
    private readonly isNode: (src: object) => boolean,
    /** A stream of the node for one more peer (`createStream()`). */
    private readonly extraStream: () => Duplex,
  ) {
    node.on('pipe', (src: Source) => this.piped(src))
  }

  /** The stream that stands for the node towards `dest`, when `dest` is a neighbour moved onto one (pipe to it instead). */
  routeTo(dest: object): Duplex | undefined {
    return this.extra.get(dest)
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
    if (this.extra.has(src)) return
    if (this.source !== null && src !== this.source && this.isNode(src)) return this.addNeighbour(src)
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

  /** `src`, a node, is one more neighbour while another peer is live: its pipes go through a stream of their own. */
  private addNeighbour(src: Source): void {
    const own = this.extraStream()
    this.extra.set(src, own)
    this.repiping = true
    try {
      src.unpipe(this.node)
    } finally {
      this.repiping = false
    }
    src.pipe(own)
    const end = () => this.extra.get(src) === own && this.extra.delete(src)
    src.once('end', end)
    src.once('close', end)
    // Piped to it already (`b.pipe(c).pipe(b)`): that output goes through its stream now.
    const i = this.dests.findIndex((d) => d.dest === (src as object))
    if (i === -1) return
    this.node.unpipe(this.dests[i].dest as never)
    this.dests.splice(i, 1)
    own.pipe(src as unknown as Destination)
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
