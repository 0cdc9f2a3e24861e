import { EventEmitter } from 'eventemitter3'
import type { Duplex } from 'node:stream'
import { DEFAULT_MAX_LINE_LENGTH, parseLine } from '../codec/ndjson.ts'
import type { RandomFn } from '../core/types.ts'
import { helloProblem, makeHello } from '../protocol/hello.ts'
import type { Gossip } from '../stream/gossip.ts'
import type { WireStream } from '../stream/wire-stream.ts'
import { Scheduler } from './scheduler.ts'
import { realTimers, type BackoffOptions, type Timers } from './timers.ts'

export interface NetworkOptions {
  /** Nodes refuse peers of another cluster. Default 'simple-scuttle'. */
  cluster?: string
  /** Gossip round interval, ms. Default 1000. */
  interval?: number
  /** Peers contacted per round. Default 2. */
  fanout?: number
  /** Reconnect delays for outbound peers. */
  backoff?: BackoffOptions
  /** Time allowed for the peer's hello, ms. Default 5000. */
  helloTimeout?: number
  /** Longest line accepted from a peer, bytes. Default 1 MiB. */
  maxLineLength?: number
  timers?: Timers
  /** Default: the gossip's config.random. */
  random?: RandomFn
}

export type Direction = 'in' | 'out'

/** A connected peer, as reported in events and `network.peers`. */
export interface PeerInfo {
  readonly id: string
  readonly address: string
  readonly direction: Direction
  /** Bytes received and sent on this connection. */
  readonly bytesIn: number
  readonly bytesOut: number
  /** Objects refused from this peer (malformed lines and invalid messages). */
  readonly invalid: number
}

export interface NetworkEvents {
  /** A peer finished its hello: gossip flows. */
  connect: [peer: PeerInfo]
  /** A connection ended (after a hello, or before one: then `peer.id` is ''). */
  disconnect: [peer: PeerInfo, reason: string]
  /** A peer was refused during the hello (wrong cluster, ourselves, timeout, garbage). */
  refused: [address: string, reason: string]
  /** A peer sent something invalid; it was dropped. */
  invalid: [peer: PeerInfo, reason: string]
  /** A line of diagnostics, for logs. */
  log: [line: string]
}

/**
 * One byte-stream connection: the hello, then a `WireStream` of the node
 * (ndjson both ways). Whatever the peer or the socket does, nothing here
 * throws or emits 'error' outside: every failure ends in `close(reason)`.
 */
export class Connection implements PeerInfo {
  id = ''
  stream: WireStream | null = null
  invalid = 0
  private closed = false
  private helloTimer: unknown = null
  private helloBytesIn = 0
  private helloBytesOut = 0
  private readonly onClose: ((reason: string) => void)[] = []

  constructor(
    private readonly net: Network,
    readonly socket: Duplex,
    readonly address: string,
    readonly direction: Direction,
  ) {}

  get bytesIn(): number {
    return this.helloBytesIn + (this.stream?.stats.bytesIn ?? 0)
  }

  get bytesOut(): number {
    return this.helloBytesOut + (this.stream?.stats.bytesOut ?? 0)
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Run `fn` once the connection is closed (at once if it already is). */
  whenClosed(fn: (reason: string) => void): void {
    if (this.closed) fn('closed')
    else this.onClose.push(fn)
  }

  /** Start: send our hello, wait for the peer's. Resolves once gossip flows. */
  open(): Promise<Connection> {
    const { socket, net } = this
    const maxLine = net.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH
    return new Promise((resolve, reject) => {
      this.whenClosed((reason) => reject(new Error(reason)))
      socket.on('error', (err: Error) => this.close(`socket error: ${err.message}`))
      socket.on('close', () => this.close('connection closed'))
      socket.on('end', () => this.close('peer ended the connection'))
      const hello = JSON.stringify(makeHello(net.gossip.id, net.cluster)) + '\n'
      this.helloBytesOut = Buffer.byteLength(hello)
      socket.write(hello)
      this.helloTimer = net.timers.setTimeout(() => this.refuse('no hello in time'), net.helloTimeout)

      // The peer's first line is its hello; what follows it belongs to the protocol.
      let head: Buffer = Buffer.alloc(0)
      const onData = (chunk: Buffer) => {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk])
        const nl = head.indexOf(10)
        if (nl === -1) {
          if (head.length > maxLine) this.refuse('expected a hello object')
          return
        }
        socket.off('data', onData)
        net.timers.clearTimeout(this.helloTimer)
        this.helloTimer = null
        this.helloBytesIn = nl + 1
        const parsed = parseLine(head.toString('utf8', 0, nl))
        const first = parsed !== null && 'value' in parsed ? parsed.value : null
        const problem = helloProblem(first, net.cluster, net.gossip.config.limits.maxIdLength)
        if (problem !== null) return this.refuse(problem)
        const id = (first as { id: string }).id
        if (id === net.gossip.id) return this.refuse('connected to itself')
        this.id = id
        const stream = net.gossip.createWireStream({ peer: { id }, maxLineLength: maxLine })
        this.stream = stream
        stream.on('invalid', (reason: string) => this.refusedObject(reason))
        stream.on('error', (err: Error) => this.close(`stream error: ${err.message}`))
        stream.on('close', () => this.close('stream closed'))
        if (head.length > nl + 1) stream.write(head.subarray(nl + 1))
        socket.pipe(stream).pipe(socket)
        stream.gossip()
        resolve(this)
      }
      socket.on('data', onData)
      socket.resume() // a dialler may hand the socket over paused, its first bytes put back
    })
  }

  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    if (this.helloTimer !== null) this.net.timers.clearTimeout(this.helloTimer)
    this.stream?.destroy()
    this.socket.destroy()
    for (const fn of this.onClose.splice(0)) fn(reason)
  }

  private refuse(reason: string): void {
    this.net.emit('refused', this.address, reason)
    this.close(`refused: ${reason}`)
  }

  private refusedObject(reason: string): void {
    this.invalid++
    this.net.emit('invalid', this, reason)
  }
}

/**
 * The network side of a node: connections over any byte streams, gossip
 * rounds, and (in `tcp.ts`) listening and dialling. Create one per `Gossip`.
 */
export class Network extends EventEmitter<NetworkEvents> {
  readonly cluster: string
  readonly helloTimeout: number
  readonly maxLineLength: number | undefined
  readonly timers: Timers
  readonly random: RandomFn
  readonly backoff: BackoffOptions
  readonly scheduler: Scheduler
  private readonly connections = new Set<Connection>()
  private readonly closers = new Set<() => Promise<void>>()
  private closing = false

  constructor(
    readonly gossip: Gossip,
    opts: NetworkOptions = {},
  ) {
    super()
    this.cluster = opts.cluster ?? 'simple-scuttle'
    this.helloTimeout = opts.helloTimeout ?? 5000
    this.maxLineLength = opts.maxLineLength
    this.timers = opts.timers ?? realTimers
    this.random = opts.random ?? gossip.config.random
    this.backoff = opts.backoff ?? {}
    this.scheduler = new Scheduler(() => {
      gossip.collect()
      return this.onePerPeer()
    }, {
      interval: opts.interval,
      fanout: opts.fanout,
      random: this.random,
      timers: this.timers,
    })
    this.scheduler.start()
  }

  /**
   * Gossip over `socket` (any byte Duplex: a TCP or TLS socket, a WebSocket
   * stream...). Resolves once both hellos are through; rejects if the peer
   * is refused or the connection fails first.
   */
  attach(socket: Duplex, address: string, direction: Direction): Promise<Connection> {
    const conn = new Connection(this, socket, address, direction)
    if (this.closing) {
      conn.close('network closed')
      return Promise.reject(new Error('network closed'))
    }
    this.connections.add(conn)
    let connected = false
    conn.whenClosed((reason) => {
      this.connections.delete(conn)
      if (connected) this.emit('disconnect', conn, reason)
    })
    return conn.open().then((c) => {
      connected = true
      this.emit('connect', c)
      return c
    })
  }

  /** Connected peers (hello done). */
  get peers(): PeerInfo[] {
    return [...this.connections].filter((c) => c.stream !== null && !c.isClosed)
  }

  /** Register something to stop on `close()` (servers, dialers). */
  own(closer: () => Promise<void>): () => void {
    this.closers.add(closer)
    return () => this.closers.delete(closer)
  }

  get isClosing(): boolean {
    return this.closing
  }

  /** Stop rounds, listeners and dialers; end every connection. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.scheduler.stop()
    // Stop accepting and dialling first, then end the connections, which a
    // listening server waits for before it reports itself closed.
    const stopping = [...this.closers].map((c) => c())
    for (const c of [...this.connections]) c.close('network closed')
    await Promise.all(stopping)
  }

  /** One open stream per distinct peer id, for the scheduler. */
  private onePerPeer(): WireStream[] {
    const byId = new Map<string, WireStream>()
    for (const c of this.connections) {
      if (c.stream !== null && !c.isClosed && !byId.has(c.id)) byId.set(c.id, c.stream)
    }
    return [...byId.values()]
  }
}
