import { InvalidCuts } from './invalid-cuts.ts'
import { EventEmitter } from 'eventemitter3'
import type { Duplex } from 'node:stream'
import { shown, warnUnknownKeys } from '../config.ts'
import type { Pacing } from '../core/answer-pacing.ts'
import type { RandomFn } from '../core/types.ts'
import type { Gossip } from '../stream/gossip.ts'
import type { WireStream } from '../stream/wire-stream.ts'
import type { Member } from '../membership/types.ts'
import { Connection, type Direction, type PeerInfo, type SideChannel } from './connection.ts'
import { splitHostPort } from './host-port.ts'
import { PendingSockets } from './pending.ts'
import { RateLog, withRepeats } from './rate-log.ts'
import { Scheduler } from './scheduler.ts'
import { HostBudget } from './host-budget.ts'
import { betterLink, redundantLink } from './duplicate-links.ts'
import { escapeUnsafe } from './safe-text.ts'
import { checkBackoff, realTimers, type BackoffOptions, type Timers } from './timers.ts'

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
  /** Longest line (or wire 2 frame) accepted from a peer, bytes. Default 1 MiB. */
  maxLineLength?: number
  /**
   * The highest wire format offered in the hello: 1 (default), ndjson
   * always; 2, frames of MessagePack values with peers that offer 2 as
   * well, ndjson with the others. WebSocket links always use 1, and so
   * do links opened after `join` (membership lines share the stream;
   * `join` warns once that 2 then has no effect).
   */
  wire?: 1 | 2
  /**
   * Most inbound connections at once (in their hello or past it); more are
   * refused, unless one of them can give its slot back: the oldest inbound
   * connection open for twice `helloTimeout` without one whole message is
   * closed for the newcomer (evicted). A plain TCP connection counts from
   * its accept; a TLS or WebSocket one from the end of its handshake
   * (before, `maxPending` bounds it). The node's own outbound links are not
   * counted. Default 256.
   */
  maxConnections?: number
  /**
   * Most of those from one host (by address, without the port), so one
   * host cannot hold every slot and keep honest peers out. Default
   * `maxConnections` (no bound of its own): peers behind one address (NAT,
   * one machine) are common enough that the bound is the operator's.
   */
  maxConnectionsPerHost?: number
  /**
   * Most accepted sockets at once still in their TLS handshake or
   * WebSocket upgrade (on listeners made by `listen` and
   * `listenWebSocket({port})`), counted from the accept; more are closed at
   * once. Each is bounded by `helloTimeout`. Default 64.
   */
  maxPending?: number
  /**
   * A connection that sends no whole message (line or frame) for this long
   * after its hello is closed, unless a long one is still arriving at 1 KiB/s
   * or more (`MIN_PROGRESS_RATE`), ms. Default 60,000.
   */
  idleTimeout?: number
  /** A peer that leaves its output buffer full (does not read) for this long is disconnected, ms. Default 30,000. */
  stallTimeout?: number
  /** Invalid objects (malformed, or forged signatures) a peer may send in one minute before it is disconnected. Default 100. */
  invalidBudget?: number
  timers?: Timers
  /** Default: the gossip's config.random. */
  random?: RandomFn
}

export interface NetworkEvents {
  /** A peer finished its hello: gossip flows. */
  connect: [peer: PeerInfo]
  /** A connection ended (after a hello, or before one: then `peer.id` is ''). */
  disconnect: [peer: PeerInfo, reason: string]
  /** A link was refused: by this node (in the hello: wrong cluster, ourselves, clock skew, timeout, garbage; in a TLS handshake or WebSocket upgrade) or by the peer this node dials (TLS; a WebSocket listener's 401 or 403, seen with the `ws` class). */
  refused: [address: string, reason: string]
  /** A peer sent something invalid; it was dropped. */
  invalid: [peer: PeerInfo, reason: string]
  /** A line of diagnostics, for logs (repeated lines about one peer are counted, not repeated). */
  log: [line: string]
  /** Membership (after `join`): a member (one life of a node) is new to this node. */
  join: [member: Member, reason: string]
  /** Membership: a member held dead is alive again (its heartbeats resumed). */
  up: [member: Member, reason: string]
  /** Membership: the failure detector declared a member dead. */
  down: [member: Member, reason: string]
  /** Membership: a member left (its own record says so), was replaced by a new generation, or was collected after the grace period. */
  leave: [member: Member, reason: string]
}

/**
 * What a network asks of its cluster membership: the side channel on its
 * connections, the member list, a graceful leave and a stop. Implemented
 * by `Membership` (membership.ts), which `join(network, options)` builds;
 * the network does not import it, so a network without membership (a
 * browser tab's) carries none of its code.
 */
export interface NetworkMembership extends SideChannel {
  members(): Member[]
  /** Tell peers this node leaves; resolves once they were sent it (bounded). */
  leave(): Promise<void>
  /** Stop rounds and timers. */
  stop(): void
}

/** Connections closed or refused by a budget, by kind. */
export interface NetworkStats {
  /** Connections refused because `maxConnections` were open, or `maxPending` handshakes were in progress. */
  overLimit: number
  /** Closed for sending no whole message for `idleTimeout` (nor bytes at `MIN_PROGRESS_RATE`). */
  idle: number
  /** Closed to give a newcomer the slot, at `maxConnections`, after twice `helloTimeout` without a whole message. */
  evicted: number
  /** Closed for not reading for `stallTimeout`. */
  stalled: number
  /** Closed for sending more than `invalidBudget` invalid objects in a minute. */
  invalid: number
}

/** Every option `NetworkOptions` names (the compiler keeps this list and the interface equal). */
const OPTIONS: Record<keyof NetworkOptions, true> = {
  cluster: true, interval: true, fanout: true, backoff: true, helloTimeout: true, maxLineLength: true, wire: true, maxConnections: true,
  maxConnectionsPerHost: true, maxPending: true, idleTimeout: true, stallTimeout: true, invalidBudget: true, timers: true, random: true,
}

/** A TypeError unless `gossip` is a Gossip and `opts` an object; a warning (`ConfigWarning`) for each key of `opts` that is no option. */
function checkArguments(gossip: Gossip, opts: NetworkOptions): void {
  const g = gossip as Partial<Gossip> | null
  if (typeof g !== 'object' || g === null || typeof g.collect !== 'function' || typeof g.config?.random !== 'function') {
    throw new TypeError(`new Network(gossip, options): the first argument must be a Gossip (new Gossip(id, config)), got ${shown(gossip)}`)
  }
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`new Network(gossip, options): options must be an object, got ${shown(opts)}`)
  warnUnknownKeys(opts, Object.keys(OPTIONS), (key) => `Network option ${key} is not an option of new Network`)
}

export type { Direction, PeerInfo }
export { Connection }

/**
 * The network side of a node: connections over any byte streams, gossip
 * rounds, and (in `tcp.ts`) listening and dialling. Create one per `Gossip`.
 * Every per-peer resource is bounded (see `NetworkOptions`), and what a
 * budget refuses is counted (`stats`) and logged without repeating itself.
 */
export class Network extends EventEmitter<NetworkEvents> {
  readonly cluster: string
  readonly helloTimeout: number
  /** A peer's requests are answered at most twice per round interval: a peer that loops them gets the node's pace. */
  readonly answerPacing: Pacing
  /**
   * New inbound sessions served per host (host-budget.ts): as many at once
   * as one host may hold links (`maxConnectionsPerHost`, at least 16), so a
   * restart of a cluster on one machine is served whole; then one per round
   * interval, so a host reconnecting in a loop is served at the node's pace.
   */
  readonly sessions: HostBudget
  readonly maxLineLength: number | undefined
  readonly wire: 1 | 2
  readonly maxConnections: number
  readonly maxConnectionsPerHost: number
  /** Accepted sockets in their TLS handshake or WebSocket upgrade (bounded by `maxPending`). */
  readonly pending: PendingSockets
  readonly idleTimeout: number
  readonly stallTimeout: number
  readonly invalidBudget: number
  readonly invalidCuts = new InvalidCuts()
  readonly timers: Timers
  readonly random: RandomFn
  readonly backoff: BackoffOptions
  readonly scheduler: Scheduler
  readonly stats: NetworkStats = { overLimit: 0, idle: 0, evicted: 0, stalled: 0, invalid: 0 }
  /** Diagnostics that count instead of repeating (one line per peer and kind every 10 s). */
  readonly rateLog: RateLog
  private readonly connections = new Set<Connection>()
  private readonly closers = new Set<() => Promise<void>>()
  private closing = false
  /** Cluster membership, once `join(network, ...)` attached it (see membership.ts). */
  membership: NetworkMembership | null = null
  private closed: Promise<void> | null = null
  private sweeper: unknown = null

  constructor(
    readonly gossip: Gossip,
    opts: NetworkOptions = {},
  ) {
    super()
    checkArguments(gossip, opts)
    this.cluster = opts.cluster ?? 'simple-scuttle'
    this.helloTimeout = opts.helloTimeout ?? 5000
    this.maxLineLength = opts.maxLineLength
    this.wire = opts.wire ?? 1
    if (this.wire !== 1 && this.wire !== 2) throw new RangeError(`Network option wire must be 1 or 2, got ${shown(opts.wire)}`)
    this.maxConnections = opts.maxConnections ?? 256
    this.maxConnectionsPerHost = opts.maxConnectionsPerHost ?? this.maxConnections
    const maxPending = opts.maxPending ?? 64
    this.idleTimeout = opts.idleTimeout ?? 60_000
    this.stallTimeout = opts.stallTimeout ?? 30_000
    this.invalidBudget = opts.invalidBudget ?? 100
    const positive = { maxConnections: this.maxConnections, maxConnectionsPerHost: this.maxConnectionsPerHost, maxPending, helloTimeout: this.helloTimeout, idleTimeout: this.idleTimeout, stallTimeout: this.stallTimeout, invalidBudget: this.invalidBudget, maxLineLength: this.maxLineLength ?? 1 }
    for (const [name, v] of Object.entries(positive)) {
      if (!(typeof v === 'number' && v > 0)) throw new RangeError(`Network option ${name} must be a positive number, got ${shown(v)}`)
    }
    if (typeof this.cluster !== 'string' || this.cluster === '') throw new TypeError(`Network option cluster must be a non-empty string, got ${shown(opts.cluster)}`)
    this.timers = opts.timers ?? realTimers
    this.random = opts.random ?? gossip.config.random
    this.backoff = checkBackoff(opts.backoff, 'new Network')
    this.rateLog = new RateLog((line, n) => this.emit('log', escapeUnsafe(withRepeats(line, n))), () => this.timers.now())
    this.pending = new PendingSockets(maxPending, (address) => {
      this.count('overLimit')
      this.rateLog.line('pending over limit', `refused a connection from ${address}: ${maxPending} handshakes are in progress (maxPending)`)
    })
    this.scheduler = new Scheduler(() => {
      gossip.collect()
      for (const c of this.connections) c.stream?.answerHeld()
      return this.onePerPeer()
    }, {
      interval: opts.interval,
      fanout: opts.fanout,
      random: this.random,
      timers: this.timers,
    })
    this.answerPacing = { interval: this.scheduler.interval / 2, now: () => this.timers.now() }
    this.sessions = new HostBudget(Math.max(16, this.maxConnectionsPerHost), this.scheduler.interval, () => this.timers.now())
    this.scheduler.start()
    this.armSweeper()
  }

  /**
   * Gossip over `socket` (any byte Duplex: a TCP or TLS socket, a WebSocket
   * stream...). Resolves once both hellos are through; rejects if the peer
   * is refused, the connection fails first, or `maxConnections` are open.
   * `maxWire`: the highest wire format the byte stream can carry (1 for a
   * stream that must stay UTF-8 text).
   */
  attach(socket: Duplex, address: string, direction: Direction, maxWire: 1 | 2 = 2): Promise<Connection> {
    const conn = new Connection(this, socket, address, direction, maxWire)
    if (this.closing) {
      conn.close('network closed')
      return Promise.reject(new Error('network closed'))
    }
    // Only inbound links count: the node's own links (its dialers) are never crowded out by peers that hold slots.
    const refusal = direction === 'in' ? this.admit(address) : null
    if (refusal !== null) {
      conn.close(refusal)
      return Promise.reject(new Error(refusal))
    }
    this.connections.add(conn)
    let connected = false
    conn.whenClosed((reason) => {
      this.connections.delete(conn)
      if (connected) this.emit('disconnect', conn, reason)
    })
    return conn.open().then((c) => {
      if (!this.collapse(c)) throw new Error('duplicate connection')
      connected = true
      this.emit('connect', c)
      return c
    })
  }

  /**
   * Attach cluster membership (called by `join(network, options)`, which
   * builds it): once per network, before it closes.
   */
  attachMembership(m: NetworkMembership): void {
    if (this.membership !== null) throw new Error('this network already joined a cluster (join() was called before)')
    if (this.closing) throw new Error('network closed')
    this.membership = m
  }

  /** The members this node knows, itself included, sorted by id (empty before `join`). */
  members(): Member[] {
    return this.membership?.members() ?? []
  }

  /** The protocol sharing connections with the replica (membership, after `join`). */
  get sideChannel(): SideChannel | null {
    return this.membership
  }

  /**
   * With membership, two links between the same two nodes (both dialled)
   * collapse to one, the one dialled by the smaller id; but this node
   * never closes a link it dialled for one that only claims the peer's id
   * (duplicate-links.ts). Returns whether `c` is kept.
   */
  private collapse(c: Connection): boolean {
    if (c.side === null) return true
    for (const other of this.connections) {
      if (other === c || other.isClosed || other.side === null || other.id !== c.id || other.stream === null) continue
      const lose = redundantLink(this.gossip.id, other, c)
      if (lose === null) continue
      lose.close('duplicate connection')
      if (lose === c) return false
    }
    return true
  }

  /** Connected peers (hello done). */
  get peers(): PeerInfo[] {
    return [...this.connections].filter((c) => c.stream !== null && !c.isClosed)
  }

  /** Inbound connections open, in their hello or past it (what `maxConnections` bounds). */
  get inboundCount(): number {
    let n = 0
    for (const c of this.connections) if (c.direction === 'in') n++
    return n
  }

  /**
   * Whether one more inbound connection, from `address`, may be taken
   * (null) or why not (counted and logged). At `maxConnections`, the
   * oldest inbound connection open for twice `helloTimeout` without one
   * whole message is closed to make room (evicted): an honest peer sends
   * one at once, as both sides start an exchange when the hellos are
   * through and the first bytes must come within `helloTimeout` of the
   * hello. So peers that take slots and say nothing whole keep a
   * newcomer out for at most that long, whatever `idleTimeout` is.
   */
  admit(address: string): string | null {
    const full = this.inboundCount >= this.maxConnections
    const victim = full ? this.evictable() : null
    if (full && victim === null) {
      this.count('overLimit')
      this.rateLog.line('over limit', `refused a connection from ${address}: ${this.maxConnections} connections are open (maxConnections)`)
      return 'too many connections'
    }
    const host = splitHostPort(address).host
    const fromHost = this.inboundFrom(host) - (victim !== null && splitHostPort(victim.address).host === host ? 1 : 0)
    if (fromHost >= this.maxConnectionsPerHost) {
      this.count('overLimit')
      this.rateLog.line(`over host limit ${host}`, `refused a connection from ${address}: ${this.maxConnectionsPerHost} connections from that host are open (maxConnectionsPerHost)`)
      return 'too many connections from this host'
    }
    if (victim !== null) {
      this.count('evicted')
      const age = Math.round((this.timers.now() - victim.openedAt) / 1000)
      this.rateLog.line('evicted', `closed ${victim.address} for ${address}: no whole message in ${age} s, and ${this.maxConnections} connections are open (maxConnections)`)
      victim.close('evicted: no whole message, and a new peer needed the slot (maxConnections)')
    }
    return null
  }

  /** The oldest inbound connection open for twice `helloTimeout` without a whole message, if any (see `admit`). */
  private evictable(): Connection | null {
    const since = this.timers.now() - 2 * this.helloTimeout
    // In order of arrival: the first that qualifies is the oldest.
    for (const c of this.connections) if (c.direction === 'in' && !c.isClosed && c.openedAt <= since && c.messagesIn === 0) return c
    return null
  }

  /** Inbound connections open from `host`. */
  private inboundFrom(host: string): number {
    let n = 0
    for (const c of this.connections) if (c.direction === 'in' && splitHostPort(c.address).host === host) n++
    return n
  }

  /** Accepted sockets in their TLS handshake or WebSocket upgrade (what `maxPending` bounds). */
  get pendingCount(): number {
    return this.pending.size
  }

  /** Connections open, in their hello or past it. */
  get connectionCount(): number {
    return this.connections.size
  }

  /** End every connection `which` selects (those a listener accepted, as it closes), with `reason`. */
  closeWhere(which: (c: Connection) => boolean, reason: string): void {
    for (const c of [...this.connections]) if (which(c)) c.close(reason)
  }

  /** Register something to stop on `close()` (servers, dialers); stopped at once when `close()` was called already (a listen begun before it). */
  own(closer: () => Promise<void>): () => void {
    if (this.closed !== null) {
      void closer()
      return () => false
    }
    this.closers.add(closer)
    return () => this.closers.delete(closer)
  }

  /**
   * Throws once `close()` was called: `call` (listen, connect...) would
   * open what no round serves and nothing stops (a listener keeping the
   * process alive, a dialler that never dials).
   */
  checkOpen(call: string): void {
    if (this.closed !== null) throw Object.assign(new Error(`${call}: the network is closed`), { code: 'ERR_NETWORK_CLOSED' })
  }

  get isClosing(): boolean {
    return this.closing
  }

  /** Count a connection a budget closed or refused. */
  count(kind: keyof NetworkStats): void {
    this.stats[kind]++
  }

  /**
   * Stop rounds, listeners and dialers; end every connection. With
   * membership, leave first (peers hear it at once instead of waiting for
   * their detectors). Calls after the first return the same promise.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown()
    return this.closed
  }

  private async shutdown(): Promise<void> {
    if (this.membership !== null) {
      await this.membership.leave()
      this.membership.stop()
    }
    this.closing = true
    this.scheduler.stop()
    if (this.sweeper !== null) this.timers.clearTimeout(this.sweeper)
    this.sweeper = null
    // Stop accepting and dialling first, then end the connections, which a
    // listening server waits for before it reports itself closed.
    const stopping = [...this.closers].map((c) => c())
    for (const c of [...this.connections]) c.close('network closed')
    await Promise.all(stopping)
  }

  /** Enforce the idle and stall budgets; quiet connections get an exchange (a keepalive). */
  sweep(): void {
    const now = this.timers.now()
    for (const c of [...this.connections]) if (c.sweep(now)) c.stream?.gossip()
  }

  private armSweeper(): void {
    const every = Math.max(10, Math.min(this.idleTimeout, this.stallTimeout) / 4)
    this.sweeper = this.timers.setTimeout(() => {
      this.sweeper = null
      if (this.closing) return
      this.sweep()
      this.armSweeper()
    }, every)
  }

  /** One open stream per distinct peer id, for the scheduler: a link this node dialled before one that only claims the id. */
  private onePerPeer(): WireStream[] {
    const byId = new Map<string, Connection>()
    for (const c of this.connections) {
      if (c.stream === null || c.isClosed) continue
      const had = byId.get(c.id)
      if (had === undefined || betterLink(c, had)) byId.set(c.id, c)
    }
    return [...byId.values()].map((c) => c.stream!)
  }
}
