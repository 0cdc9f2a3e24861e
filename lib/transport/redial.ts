/**
 * An outbound link that stays up, whatever carries it: open a stream, hand
 * it to the network, and redial after any failure or disconnect
 * (authentication failures included) with exponential backoff and jitter,
 * reset by a good hello (but not after a link closed for its peer's
 * invalid objects: those closes back off further each time, so the invalid
 * budget bounds what a peer costs a minute, not a connection), until `stop()` or the network closes. It gives up
 * only when the peer has this node's id (it is this node itself, or
 * another started with the same id). A dialler whose link closed while
 * the peer's id is linked another way (both sides dialled, and the other
 * link was kept), or refused by the peer (`LinkRefused`: a wrong token; a
 * refusal line in place of the peer's hello: this node's links were cut
 * for invalid objects, or the peer is destroyed), waits the longest
 * backoff before dialling again. It dials again
 * whatever other link claims the peer's id: a claim is not proof, and the
 * peer at the address dialled is the one this dialler is for
 * (duplicate-links.ts). Type-only imports
 * from Node: the browser's WebSocket dialler is one of these too.
 */
import type { Duplex } from 'node:stream'
import { HelloRefused, SAME_ID } from '../protocol/hello.ts'
import { INVALID_BUDGET_CLOSE, type Connection } from './connection.ts'
import type { Network } from './network.ts'
import { escapeUnsafe } from './safe-text.ts'
import { backoffDelay } from './timers.ts'

/** One try at opening a stream: ready to gossip over, or a rejection saying why not. */
export interface StreamAttempt<S> {
  readonly ready: Promise<S>
  cancel(): void
}

const DUPLICATE = 'duplicate connection'
/** Failed attempts counted after a duplicate link or a refusal: the backoff's longest wait (with its defaults). */
const LONG_WAIT = 16

/**
 * A rejection of `StreamAttempt.ready` meaning the peer refused this node,
 * and will refuse it again until one side's settings change (a wrong
 * token): the network emits 'refused' with the message as the reason.
 */
export class LinkRefused extends Error {}

export abstract class Redialer<S extends { destroy(): unknown }> {
  attempts = 0
  connection: Connection | null = null
  lastError = ''
  private timer: unknown = null
  private stopped = false
  private attempt: StreamAttempt<S> | null = null
  /** The peer's id from its last hello ('' before one). */
  private peerId = ''
  /** The last link closed for too many invalid objects: the next hello does not reset the backoff. */
  private penalised = false

  /**
   * `address`: how events and log lines name the peer ("host:port" or a
   * URL); `call`: how errors name the call that made it. Throws once the
   * network's `close()` was called.
   */
  protected constructor(
    protected readonly network: Network,
    readonly address: string,
    private readonly connectTimeout: number,
    call: string,
  ) {
    network.checkOpen(call)
  }

  /** Open one stream to the peer. */
  protected abstract openStream(): StreamAttempt<S>
  /** The stream as the network takes it. */
  protected abstract asDuplex(stream: S): Duplex
  /** Whether a stream that opened is already gone. */
  protected isGone(_stream: S): boolean {
    return false
  }
  /** The highest wire format to offer on this kind of link (see `Network.attach`). */
  protected maxWire(): 1 | 2 {
    return 2
  }
  /** The reason to report when the hello on `stream` failed with `err`. */
  protected helloFailure(_stream: S, err: Error): string {
    return err.message
  }

  /** Call once the subclass is constructed. */
  protected start(): void {
    this.network.own(async () => this.stop())
    this.dial()
  }

  get connected(): boolean {
    return this.connection !== null && !this.connection.isClosed
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) this.network.timers.clearTimeout(this.timer)
    this.timer = null
    this.attempt?.cancel()
    this.connection?.close('dialer stopped')
  }

  private dial(): void {
    if (this.stopped || this.network.isClosing) return
    const { network } = this
    const attempt = this.openStream()
    this.attempt = attempt
    let settled = false
    const connectTimer = network.timers.setTimeout(() => {
      if (settled) return
      settled = true
      attempt.cancel()
      this.failed('connect timeout')
    }, this.connectTimeout)
    attempt.ready.then(
      (stream) => {
        if (settled) return void stream.destroy()
        settled = true
        network.timers.clearTimeout(connectTimer)
        if (this.isGone(stream)) return this.failed('connection closed')
        this.attach(stream)
      },
      (err: Error) => {
        if (settled) return
        settled = true
        network.timers.clearTimeout(connectTimer)
        this.failed(err.message, err instanceof LinkRefused)
      },
    )
  }

  private attach(stream: S): void {
    this.network.attach(this.asDuplex(stream), this.address, 'out', this.maxWire()).then(
      (conn) => {
        this.connection = conn
        this.peerId = conn.id
        if (!this.penalised) this.attempts = 0
        conn.whenClosed((reason) => {
          this.connection = null
          this.penalised = reason.startsWith(INVALID_BUDGET_CLOSE)
          // Closed while another link has the peer's id: most likely the peer kept the link it dialled (duplicate-links.ts).
          this.failed(this.network.peers.some((p) => p.id === conn.id) ? DUPLICATE : reason)
        })
      },
      (err: Error) => {
        // Acted on by code, never by the text: the reasons carry the peer's words (a refusal line's reason, a hello's cluster name).
        const code = err instanceof HelloRefused ? err.code : null
        if (code === 'ERR_SAME_ID') {
          this.lastError = SAME_ID
          this.stopped = true
          return
        }
        // The peer said why it refuses this node (the connection reported it as 'refused'): it will until the reason passes.
        if (code === 'ERR_PEER_REFUSED') this.attempts = Math.max(this.attempts, LONG_WAIT)
        this.failed(this.helloFailure(stream, err))
      },
    )
  }

  private failed(reason: string, refused = false): void {
    this.attempt = null
    this.lastError = reason
    if (this.stopped || this.network.isClosing) return
    if (refused) this.network.emit('refused', this.address, reason)
    if (reason === DUPLICATE || refused) this.attempts = Math.max(this.attempts, LONG_WAIT)
    const delay = backoffDelay(this.attempts++, this.network.random, this.network.backoff)
    if (reason !== DUPLICATE) this.network.emit('log', escapeUnsafe(`${this.address}: ${reason}; retrying in ${delay} ms`))
    this.timer = this.network.timers.setTimeout(() => {
      this.timer = null
      this.dial()
    }, delay)
  }
}
