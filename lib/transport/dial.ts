/**
 * Keeping an outbound link to a peer: dial (plain TCP, TLS, or any opener),
 * hand the socket to the network, and redial after any failure with
 * exponential backoff and jitter.
 */
import * as net from 'node:net'
import type { LinkAttempt, Opener, Target } from './link.ts'
import type { Connection, Network } from './network.ts'
import { backoffDelay } from './timers.ts'
import { tlsOpener, type TlsOptions } from './tls.ts'

export type { LinkAttempt, Opener, Target } from './link.ts'

export interface DialOptions {
  host: string
  port: number
  /** Time allowed for the connection (and its TLS handshake), ms. Default 5000. */
  connectTimeout?: number
  /** Authenticate and encrypt the link, as the listener does (see tls.ts). Default: plain TCP. */
  tls?: TlsOptions
}

/** A plain TCP connection, ready once connected. */
export function openTcp(target: Target): LinkAttempt {
  const socket = net.connect({ host: target.host, port: target.port })
  socket.setNoDelay(true)
  const ready = new Promise<net.Socket>((resolve, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message)))
    socket.once('connect', () => {
      socket.setKeepAlive(true, 10_000)
      resolve(socket)
    })
  })
  return { ready, cancel: () => socket.destroy() }
}

/**
 * An outbound peer that stays connected: it redials after any failure or
 * disconnect (authentication failures included), with exponential backoff
 * and jitter (reset by a good hello), until `stop()` or the network closes.
 * It gives up only when the peer turns out to be this node itself. Links
 * are opened by `open`: by default plain TCP, or TLS when `opts.tls` is set.
 */
export class Dialer {
  attempts = 0
  connection: Connection | null = null
  lastError = ''
  private timer: unknown = null
  private stopped = false
  private attempt: LinkAttempt | null = null
  /** The peer's id from its last hello ('' before one). */
  private peerId = ''
  private readonly open: Opener
  readonly address: string

  /** Throws a TypeError for unusable `opts.tls` (see `secureSetup` in tls.ts). */
  constructor(
    private readonly network: Network,
    private readonly opts: DialOptions,
    open?: Opener,
  ) {
    this.address = `${opts.host}:${opts.port}`
    this.open = open ?? (opts.tls === undefined ? openTcp : tlsOpener(network, opts.tls))
    network.own(async () => this.stop())
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
    if (this.peerId !== '' && network.peers.some((p) => p.id === this.peerId)) {
      // Linked to this peer another way (membership collapsed a duplicate link): look again later.
      return this.failed('duplicate connection')
    }
    const attempt = this.open({ host: this.opts.host, port: this.opts.port, address: this.address })
    this.attempt = attempt
    let settled = false
    const connectTimer = network.timers.setTimeout(() => {
      if (settled) return
      settled = true
      attempt.cancel()
      this.failed('connect timeout')
    }, this.opts.connectTimeout ?? 5000)
    attempt.ready.then(
      (socket) => {
        if (settled) return void socket.destroy()
        settled = true
        network.timers.clearTimeout(connectTimer)
        if (socket.destroyed) return this.failed('connection closed')
        this.attachSocket(socket)
      },
      (err: Error) => {
        if (settled) return
        settled = true
        network.timers.clearTimeout(connectTimer)
        this.failed(err.message)
      },
    )
  }

  private attachSocket(socket: net.Socket): void {
    this.network.attach(socket, this.address, 'out').then(
      (conn) => {
        this.connection = conn
        this.peerId = conn.id
        this.attempts = 0
        conn.whenClosed((reason) => {
          this.connection = null
          this.failed(reason)
        })
      },
      (err: Error) => {
        if (/connected to itself/.test(err.message)) {
          this.lastError = 'connected to itself'
          this.stopped = true
          return
        }
        // A TLS listener drops a plain client without a byte; say so.
        const silent = this.open === openTcp && socket.bytesRead === 0 && /^(peer ended the connection|connection closed|socket error: read ECONNRESET)$/.test(err.message)
        this.failed(silent ? `${err.message} before sending anything (a TLS listener?)` : err.message)
      },
    )
  }

  private failed(reason: string): void {
    this.attempt = null
    this.lastError = reason
    if (this.stopped || this.network.isClosing) return
    // Another link to the peer was kept instead of ours: no hurry to dial again.
    if (reason === 'duplicate connection') this.attempts = Math.max(this.attempts, 16)
    const delay = backoffDelay(this.attempts++, this.network.random, this.network.backoff)
    if (reason !== 'duplicate connection') this.network.emit('log', `${this.address}: ${reason}; retrying in ${delay} ms`)
    this.timer = this.network.timers.setTimeout(() => {
      this.timer = null
      this.dial()
    }, delay)
  }
}

/** Keep an outbound connection to a peer (over TLS when `opts.tls` is set). */
export function connect(network: Network, opts: DialOptions): Dialer {
  return new Dialer(network, opts)
}
