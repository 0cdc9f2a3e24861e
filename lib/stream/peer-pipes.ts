import type { Duplex } from 'readable-stream'

/** What the node is piped to: anything with `write`, as `pipe` takes. */
type Destination = NodeJS.WritableStream

/** What is piped into the node. */
interface Source {
  pipe(dest: Duplex, opts?: { end?: boolean }): unknown
  unpipe(dest?: Duplex): unknown
  once(event: 'end' | 'close', fn: () => void): unknown
  removeListener(event: 'end' | 'close', fn: () => void): unknown
}

/** A neighbour node's own stream here, and whether the node's output to it goes through it yet. */
interface Neighbour {
  own: Duplex
  out: boolean
  forget: () => void
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
 *   pipes are made, so every neighbour has its own session. A pipe made
 *   again changes nothing; an `unpipe` either way, or the neighbour's end,
 *   takes the pair down and destroys its stream.
 * - Listeners this node puts on its sources are taken off when a source is
 *   done with and when the node closes: a source that outlives many nodes
 *   piped from it holds none of them.
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
  private readonly extra = new Map<object, Neighbour>()
  /** How to take this node's listeners off each source it listens to. */
  private readonly listening = new Map<Source, () => void>()

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
    // The current peer's source unpiped by someone else (the user, or a node moving the pair onto a stream of its own): that peer is gone; what the node pipes to stays.
    node.on('unpipe', (src: Source) => {
      if (this.repiping || src !== this.source) return
      this.listening.get(src)?.()
      this.source = null
      this.endSession()
    })
    node.once('close', () => {
      this.dropAll()
      for (const off of this.listening.values()) off()
      this.listening.clear()
    })
  }

  /**
   * Pipe the node to `dest` through the stream of a neighbour moved onto
   * one; true if `dest` is such a neighbour (piped now, or already).
   */
  routeTo(dest: object, options?: { end?: boolean }): boolean {
    const n = this.extra.get(dest)
    if (n === undefined) return false
    if (!n.out) n.own.pipe(dest as unknown as Destination, options)
    n.out = true
    return true
  }

  /** Take down the pair with neighbour `src`, if it is one: both pipes, and its stream. True if it was. */
  drop(src: object): boolean {
    const n = this.extra.get(src)
    // While this node moves a pipe itself, the unpipe it makes is not the user's.
    if (n === undefined || this.repiping) return false
    this.extra.delete(src)
    n.forget()
    n.own.unpipe()
    ;(src as Source).unpipe(n.own)
    n.own.destroy()
    return true
  }

  /** Run `f`, whose pipes and unpipes are this node's own moves, not the user's (no neighbour is taken down by them). */
  private quietly(f: () => void): void {
    const was = this.repiping
    this.repiping = true
    try {
      f()
    } finally {
      this.repiping = was
    }
  }

  /** Take down every neighbour pair (the node unpiped from everything). */
  dropAll(): void {
    for (const src of [...this.extra.keys()]) this.drop(src)
  }

  /** Call `fn` once when `src` ends or closes; the listeners come off with `listening`'s entry. */
  private watch(src: Source, fn: () => void): () => void {
    const once = () => {
      off()
      fn()
    }
    const off = () => {
      src.removeListener('end', once)
      src.removeListener('close', once)
      if (this.listening.get(src) === off) this.listening.delete(src)
    }
    this.listening.get(src)?.()
    src.once('end', once)
    src.once('close', once)
    this.listening.set(src, off)
    return off
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
    if (this.extra.has(src)) {
      // Piped again: its input already goes through its stream.
      this.quietly(() => src.unpipe(this.node))
      return
    }
    if (this.source !== null && src !== this.source && this.isNode(src)) return this.addNeighbour(src)
    // Take the pipe over without its end: the peer's end is not the node's.
    this.quietly(() => {
      src.unpipe(this.node)
      src.pipe(this.node, { end: false })
    })
    this.count++
    // Ended, or destroyed (a failed connection's parser closes without ending).
    this.watch(src, () => this.ended(src))
    if (this.count > 1) {
      this.endSession()
      if (this.source !== null && this.source !== src) this.listening.get(this.source)?.()
      this.quietly(() => this.source?.unpipe(this.node))
      this.unpipe((d) => d.after < this.count - 1)
    }
    this.source = src
  }

  /** `src`, a node, is one more neighbour while another peer is live: its pipes go through a stream of their own. */
  private addNeighbour(src: Source): void {
    const own = this.extraStream()
    const n: Neighbour = { own, out: false, forget: () => {} }
    this.extra.set(src, n)
    this.quietly(() => src.unpipe(this.node))
    src.pipe(own, { end: false })
    n.forget = this.watch(src, () => this.drop(src))
    // Piped to it already (`b.pipe(c).pipe(b)`): that output goes through its stream now.
    const i = this.dests.findIndex((d) => d.dest === (src as object))
    if (i === -1) return
    this.quietly(() => this.node.unpipe(this.dests[i].dest as never))
    this.dests.splice(i, 1)
    this.routeTo(src)
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
      if (stale(d)) this.quietly(() => this.node.unpipe(d.dest as never))
      else keep.push(d)
    }
    this.dests = keep
  }
}
