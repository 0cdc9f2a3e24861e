import { Buffer } from 'buffer'
import type { Duplex } from 'node:stream'
import { MAX_DEPTH } from '../codec/json-depth.ts'
import { DEFAULT_MAX_LINE_LENGTH, parseLine } from '../codec/line-reader.ts'
import { GrowBuffer } from '../codec/grow-buffer.ts'
import { HelloRefused, SAME_ID, helloProblem, makeHello, makeRefusal, negotiateWire, peerMaxLineLength, peerRefusal, type RefusalCode } from '../protocol/hello.ts'
import type { Gossip } from '../stream/gossip.ts'
import type { WireStream } from '../stream/wire-stream.ts'
import { splitHostPort } from './host-port.ts'
import type { RateLog } from './rate-log.ts'
import type { Timers } from './timers.ts'
import type { Pacing } from '../core/answer-pacing.ts'
import type { HostBudget } from './host-budget.ts'
import type { InvalidCuts } from './invalid-cuts.ts'
import { BAD_SIGNATURE } from '../core/refusals.ts'

export type Direction = 'in' | 'out'

/**
 * Another protocol carried on the same connection (cluster membership):
 * it adds fields to the hello, and when the peer's hello asks for it too,
 * its lines are split from the replica's on the way in.
 */
export interface SideChannel {
  /** Fields added to this node's hello. */
  helloFields(): Record<string, unknown>
  /** After the hellos: the link for this peer, or null when the peer does not take part. */
  open(conn: Connection, peerHello: Record<string, unknown>): SideLink | null
}

/** One connection's share of a side channel. */
export interface SideLink {
  /** Put between the socket and the replica's stream: passes the replica's bytes on, keeps its own lines. */
  readonly input: Duplex
  readonly bytesIn: number
  readonly bytesOut: number
  /** Whole lines taken in (the progress `Connection.sweep` counts). */
  readonly messagesIn: number
  /** Its output is held back for a peer that does not read (lines dropped, bytes still waiting): a stall, like the replica's full output. */
  readonly blocked: boolean
  close(): void
}

/** What a connection needs from the network that holds it (implemented by `Network`). */
export interface ConnectionHost {
  /** A protocol sharing the connection, if any (see `SideChannel`). */
  readonly sideChannel?: SideChannel | null
  readonly gossip: Gossip
  readonly cluster: string
  readonly timers: Timers
  readonly helloTimeout: number
  /** How often a peer's requests are answered at most (see `WireStreamOptions.answerPacing`). */
  readonly answerPacing: Pacing
  /** New inbound sessions served per host (host-budget.ts). */
  readonly sessions: HostBudget
  readonly idleTimeout: number
  readonly stallTimeout: number
  readonly invalidBudget: number
  /** Peers whose links were closed for invalid objects in the last minute: their hellos are refused. */
  readonly invalidCuts: InvalidCuts
  readonly maxLineLength: number | undefined
  /** The highest wire format offered in our hellos (1 or 2). */
  readonly wire: number
  readonly rateLog: RateLog
  /** Count a connection a budget closed. */
  count(kind: 'idle' | 'stalled' | 'invalid'): void
  emit(event: 'refused', address: string, reason: string): boolean
  emit(event: 'invalid', peer: PeerInfo, reason: string): boolean
}

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

/**
 * One byte-stream connection: the hello, then a `WireStream` of the node in
 * the wire format both hellos agree on (ndjson, or frames when both offer
 * wire 2). Whatever the peer or the socket does, nothing here
 * throws or emits 'error' outside: every failure ends in `close(reason)`.
 *
 * Budgets (from the network's options): the hello, and then the peer's
 * first protocol bytes, must each come within `helloTimeout`; past them,
 * `sweep` closes a connection that sent no whole message for
 * `idleTimeout` (unless a long one is still arriving at `MIN_PROGRESS_RATE`)
 * or left its output full (the replica's, or the side channel's) for
 * `stallTimeout`, and a peer that
 * sends more than `invalidBudget` invalid objects in a minute is cut off.
 *
 * Each side sends its hello at once, except a listener whose node is
 * destroyed or that cut a peer of the dialler's host off for invalid
 * objects in the last minute: it holds its hello back until it has read
 * the dialler's, and if it refuses the dialler for one of those reasons
 * (which the dialler cannot see in a hello) it sends a refusal line
 * (`{"refused": reason}`) in its place, so the dialler reports why and
 * waits its longest backoff (redial.ts). Refused for anything else, it
 * sends the held hello: the dialler then refuses for itself, as ever.
 */
export class Connection implements PeerInfo {
  id = ''
  stream: WireStream | null = null
  /** The side channel's link on this connection (membership), when both hellos asked for it. */
  side: SideLink | null = null
  invalid = 0
  private closed = false
  private served = false
  private helloTimer: unknown = null
  /** Our hello, held back until the peer's has been read (see the class doc), or null. */
  private heldHello: string | null = null
  /** A line to send before the socket ends (the held hello, or a refusal line), or null. */
  private lastWords: string | null = null
  /** What the refusal that closed the connection during the hellos was, or null (closed otherwise, or not closed). */
  private refusal: RefusalCode | null = null
  private helloBytesIn = 0
  private helloBytesOut = 0
  private readonly onClose: ((reason: string) => void)[] = []
  /** When the connection was made (`timers.now()`). */
  readonly openedAt: number
  /** Idle tracking (see `sweep`): the messages counted at `seenInAt`, when the current window began, and the bytes in by then. */
  private seenMessages = 0
  private seenInAt = 0
  private windowBytes = 0
  /** Stall tracking, updated by `sweep`. */
  private stalledSince = -1
  private stalledAt = -1
  /** Invalid objects in the current one-minute window. */
  private invalidWindow = 0
  private invalidWindowAt = 0

  constructor(
    private readonly net: ConnectionHost,
    readonly socket: Duplex,
    readonly address: string,
    readonly direction: Direction,
    /** The highest wire format this link can carry (a WebSocket of text frames: 1). */
    private readonly maxWire = 2,
  ) {
    this.openedAt = net.timers.now()
    this.seenInAt = this.openedAt
  }

  get bytesIn(): number {
    return this.helloBytesIn + (this.stream?.stats.bytesIn ?? 0) + (this.side?.bytesIn ?? 0)
  }

  /** Whole messages received after the hello: the replica's objects (lines or frame values) and membership lines. */
  get messagesIn(): number {
    return (this.stream?.messagesIn ?? 0) + (this.side?.messagesIn ?? 0)
  }

  get bytesOut(): number {
    return this.helloBytesOut + (this.stream?.stats.bytesOut ?? 0) + (this.side?.bytesOut ?? 0)
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
    const gossip = net.gossip
    return new Promise((resolve, reject) => {
      this.whenClosed((reason) => reject(this.refusal === null ? new Error(reason) : new HelloRefused(reason, this.refusal)))
      socket.on('error', (err: Error) => this.close(`socket error: ${err.message}`))
      socket.on('close', () => this.close('connection closed'))
      socket.on('end', () => this.close('peer ended the connection'))
      const side = net.sideChannel ?? null
      // A side channel (membership) splits lines off the byte stream: its links speak ndjson.
      const offered = side === null ? Math.min(net.wire, this.maxWire) : 1
      const base = makeHello(gossip.id, net.cluster, gossip.config.now(), offered, maxLine)
      const hello = JSON.stringify(side === null ? base : { ...base, ...side.helloFields() }) + '\n'
      const held = this.direction === 'in' && (gossip.destroyed || net.invalidCuts.hostRecent(splitHostPort(this.address).host, net.timers.now()))
      if (held) this.heldHello = hello
      else this.sendHello(hello)
      this.helloTimer = net.timers.setTimeout(() => this.refuse('no hello in time', 'ERR_HELLO'), net.helloTimeout)

      // The peer's first line is its hello; what follows it belongs to the protocol.
      // Chunks are gathered until the newline, each searched once: a hello dribbled in small pieces costs linear time, and memory about its length.
      const pieces = new GrowBuffer(maxLine)
      const onData = (chunk: Buffer) => {
        // A socket already destroyed was refused by whoever destroyed it (a plain listener meeting TLS): it is not refused twice.
        if (socket.destroyed) return
        const at = chunk.indexOf(10)
        if (at === -1) {
          pieces.append(chunk)
          if (pieces.length > maxLine) this.refuse('expected a hello object', 'ERR_HELLO')
          return
        }
        const nl = pieces.length + at
        let head = chunk
        if (pieces.length > 0) {
          pieces.append(chunk)
          head = pieces.view()
        }
        socket.off('data', onData)
        net.timers.clearTimeout(this.helloTimer)
        this.helloTimer = null
        this.helloBytesIn = nl + 1
        // The first idle window begins with the hello; its bytes are not progress.
        this.seenInAt = net.timers.now()
        this.windowBytes = this.helloBytesIn
        // A hello's fields reach reasons and logs as JSON: nesting past the limit of peer input is no hello.
        const parsed = parseLine(head.toString('utf8', 0, nl), MAX_DEPTH)
        const first = parsed !== null && 'value' in parsed ? parsed.value : null
        const refusal = this.direction === 'out' ? peerRefusal(first) : null
        if (refusal !== null) return this.refuse(refusal, 'ERR_PEER_REFUSED')
        const problem = helloProblem(first, {
          cluster: net.cluster,
          maxIdLength: gossip.config.limits.maxIdLength,
          now: gossip.config.now(),
          maxClockOffset: gossip.config.maxClockOffset,
        })
        if (problem !== null) return this.refuse(problem, 'ERR_HELLO')
        const id = (first as { id: string }).id
        if (id === gossip.id) return this.refuse(SAME_ID, 'ERR_SAME_ID')
        const cut = net.invalidCuts.recent(splitHostPort(this.address).host, id, net.timers.now())
        if (cut === 'peer') return this.refuse(`${INVALID_BUDGET_CLOSE} from this peer in the last minute`, 'ERR_INVALID_CUT', `${INVALID_BUDGET_CLOSE} from this node in the last minute`)
        if (cut === 'host') return this.refuse(`${INVALID_BUDGET_CLOSE} from this peer's host in the last minute`, 'ERR_INVALID_CUT', `${INVALID_BUDGET_CLOSE} from this host in the last minute`)
        if (gossip.destroyed) return this.refuse('the node is destroyed', 'ERR_DESTROYED', 'the peer is destroyed')
        if (this.heldHello !== null) this.sendHello(this.heldHello)
        this.id = id
        // From here on both sides speak the format the two hellos agree on.
        // A new inbound session is served from its host's budget: our first digest now, or its first answer when the budget allows.
        const served = this.serve()
        const answerPacing = served ? net.answerPacing : { ...net.answerPacing, first: () => this.serve() }
        const wire = negotiateWire(offered, first as object)
        // Frames fit the peer's reader as well as ours: its hello says how long a frame it takes (older peers do not say).
        const stream = gossip.createWireStream({ peer: { id }, maxLineLength: maxLine, peerMaxLineLength: peerMaxLineLength(first as object), wire, answerPacing })
        this.stream = stream
        stream.on('invalid', (reason: string, _obj: unknown, fault?: boolean) => this.refusedObject(reason, fault !== false))
        stream.on('error', (err: Error) => this.close(`stream error: ${err.message}`))
        stream.on('close', () => this.close('stream closed'))
        this.side = side?.open(this, first as Record<string, unknown>) ?? null
        if (this.side === null) {
          if (head.length > nl + 1) stream.write(head.subarray(nl + 1))
          socket.pipe(stream).pipe(socket)
        } else {
          if (head.length > nl + 1) this.side.input.write(head.subarray(nl + 1))
          socket.pipe(this.side.input).pipe(stream)
          stream.pipe(socket)
        }
        if (served) stream.gossip()
        // Both sides start an exchange at once: a peer that says nothing
        // after its hello is not one, and gives its slot back quickly.
        this.helloTimer = net.timers.setTimeout(() => {
          this.helloTimer = null
          if (this.stream !== null && this.bytesIn === this.helloBytesIn) {
            net.count('idle')
            this.close('silent after its hello')
          }
        }, net.helloTimeout)
        resolve(this)
      }
      socket.on('data', onData)
      socket.resume() // a dialler may hand the socket over paused, its first bytes put back
    })
  }

  /**
   * Whether this session may be served (our first digest, a first answer
   * that may be the whole state, the first member records): an outbound
   * one always; an inbound one once its host's budget allowed it (then or
   * at a later call, which counts it).
   */
  serve(): boolean {
    if (!this.served) this.served = this.direction === 'out' || this.net.sessions.take(splitHostPort(this.address).host)
    return this.served
  }

  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    if (this.helloTimer !== null) this.net.timers.clearTimeout(this.helloTimer)
    this.stream?.destroy()
    this.side?.close()
    const last = this.lastWords
    if (last !== null && !this.socket.destroyed) this.part(last)
    else this.socket.destroy()
    for (const fn of this.onClose.splice(0)) fn(reason)
  }

  /**
   * Enforce the idle and stall budgets at time `now`; returns whether the
   * connection has been quiet for a third of `idleTimeout` (it deserves an
   * exchange, which makes an honest peer answer).
   *
   * Idle: a window of `idleTimeout` with no whole message in it and fewer
   * than `minProgress(idleTimeout)` bytes. Bytes alone are not progress: a
   * peer that sends one byte at a time of a line it never ends would hold
   * its slot forever for almost nothing, so a window renews only with a
   * whole message, or with bytes at `MIN_PROGRESS_RATE` at least (a long
   * line or frame on a slow link that keeps coming). Invariant: a peer
   * keeps its slot only by completing a message or sending
   * `MIN_PROGRESS_RATE` bytes a second, each window; one that does neither
   * is closed within `idleTimeout` plus one sweep of the window's start.
   */
  sweep(now: number): boolean {
    const stream = this.stream
    if (this.closed || stream === null) return false
    const net = this.net
    const messages = this.messagesIn
    const bytesIn = this.bytesIn
    if (messages !== this.seenMessages || (now - this.seenInAt >= net.idleTimeout && bytesIn - this.windowBytes >= minProgress(net.idleTimeout))) {
      this.seenMessages = messages
      this.seenInAt = now
      this.windowBytes = bytesIn
    } else if (now - this.seenInAt >= net.idleTimeout) {
      net.count('idle')
      const got = bytesIn - this.windowBytes
      this.close(`idle: no whole message for ${Math.round((now - this.seenInAt) / 1000)} s` + (got > 0 ? ` (${got} bytes of an unfinished one)` : ''))
      return false
    }
    // Stalled: output is held back (the replica's stream full, or the side
    // channel dropping lines for a full socket) and the socket passes
    // nothing of what it holds on to the peer (a slow but reading peer, such
    // as one catching up on a big state, is not cut off). What the socket
    // passed on: every byte written into it, less those it still holds.
    const waiting = stream.waiting
    const side = this.side
    const passed = this.helloBytesOut + stream.stats.bytesOut - waiting + (side?.bytesOut ?? 0) - this.socket.writableLength
    if ((waiting >= stream.readableHighWaterMark || side?.blocked === true) && passed === this.stalledAt) {
      if (this.stalledSince < 0) this.stalledSince = now
      else if (now - this.stalledSince >= net.stallTimeout) {
        net.count('stalled')
        this.close(`the peer does not read: ${waiting + this.socket.writableLength} bytes waiting for ${Math.round((now - this.stalledSince) / 1000)} s`)
        return false
      }
    } else {
      this.stalledSince = -1
      this.stalledAt = passed
    }
    return now - this.seenInAt >= net.idleTimeout / 3
  }

  /** An object from this peer was refused by a side channel: counted like any invalid object. */
  reportInvalid(reason: string): void {
    this.refusedObject(reason)
  }

  private sendHello(hello: string): void {
    this.heldHello = null
    this.helloBytesOut = Buffer.byteLength(hello)
    this.socket.write(hello)
  }

  /**
   * `code`: what the refusal is (see `RefusalCode`). `toPeer`: the reason worded for the peer, when it cannot see it in a
   * hello; sent in place of a held hello (a hello sent already says
   * everything the peer can be told).
   */
  private refuse(reason: string, code: RefusalCode, toPeer?: string): void {
    if (this.heldHello !== null) {
      this.lastWords = toPeer === undefined ? this.heldHello : JSON.stringify(makeRefusal(toPeer)) + '\n'
      this.heldHello = null
    }
    if (!this.closed) this.refusal = code
    this.net.emit('refused', this.address, reason)
    this.close(`refused: ${reason}`)
  }

  /** End the socket after `line`: destroyed once it is written, or after `helloTimeout` at the latest. */
  private part(line: string): void {
    const { socket, net } = this
    const timer = net.timers.setTimeout(() => socket.destroy(), net.helloTimeout)
    socket.once('close', () => net.timers.clearTimeout(timer))
    socket.end(line, () => socket.destroy())
  }

  /**
   * `fault`: the object itself was bad. A well-formed record this node
   * turned down for its own reasons (its clock, accept, resolve, storage),
   * which an honest peer may relay, is reported and logged but not held
   * against the link's budget. A bad signature is the exception, at a
   * tenth of an object: an honest relay under a key rotation sends some,
   * but each costs a verification, so a forger sending them without end is
   * still cut off (10 x invalidBudget a minute).
   */
  private refusedObject(reason: string, fault = true): void {
    if (this.closed) return // what was still decoded after the close
    this.invalid++
    const net = this.net
    net.emit('invalid', this, reason)
    // Keyed by host, not host:port: a peer that reconnects from new ports is still one source of lines.
    net.rateLog.line(`invalid ${splitHostPort(this.address).host}`, `${this.id} (${this.address}): invalid object: ${reason}`)
    const weight = fault ? TENTHS : reason === BAD_SIGNATURE ? 1 : 0
    if (weight === 0) return
    const now = net.timers.now()
    if (now - this.invalidWindowAt >= 60_000) {
      this.invalidWindowAt = now
      this.invalidWindow = 0
    }
    this.invalidWindow += weight
    if (this.invalidWindow > net.invalidBudget * TENTHS) {
      net.count('invalid')
      net.invalidCuts.note(splitHostPort(this.address).host, this.id, now)
      this.close(`${INVALID_BUDGET_CLOSE} (more than ${net.invalidBudget} in a minute)`)
    }
  }
}

/** The invalid budget is counted in tenths of an object: an invalid object counts ten, a bad signature one. */
const TENTHS = 10

/** How the reason a link closed for its peer's invalid objects begins. */
export const INVALID_BUDGET_CLOSE = 'too many invalid objects'

/**
 * Bytes a second that keep a connection without whole messages alive: a
 * line or frame still arriving at this rate or faster is progress (8
 * kbit/s, below any link a replica can usefully gossip over), and holding
 * a slot this way costs a peer as much.
 */
export const MIN_PROGRESS_RATE = 1024

/** Bytes that renew an idle window of `idleTimeout` ms without a whole message. */
export function minProgress(idleTimeout: number): number {
  return Math.ceil((idleTimeout / 1000) * MIN_PROGRESS_RATE)
}
