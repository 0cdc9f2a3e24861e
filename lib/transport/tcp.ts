import * as net from 'node:net'
import { backoffDelay } from './timers.ts'
import type { Connection, Network } from './network.ts'
import { SecureAcceptor, refuseLink, tlsOpener, type TlsOptions } from './tls.ts'
import { REASON } from './tls-reasons.ts'

export interface ListenOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number
  /** Default '127.0.0.1'. */
  host?: string
  /** Authenticate and encrypt every link (certificates or a cluster secret, see tls.ts). Default: plain TCP. */
  tls?: TlsOptions
}

export interface Listener {
  readonly port: number
  readonly host: string
  close(): Promise<void>
}

export class ListenError extends Error {
  override name = 'ListenError'
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message)
  }
}

/** First byte of a TLS handshake record: what a TLS client sends first. */
const TLS_HANDSHAKE_RECORD = 0x16

/**
 * A plain listener refuses a peer that opens with a TLS handshake (its own
 * TLS settings differ from ours), rather than waiting for a hello that
 * cannot come.
 */
function refuseTlsOnPlain(network: Network, socket: net.Socket, address: string): void {
  socket.prependOnceListener('data', (chunk: Buffer) => {
    if (chunk[0] !== TLS_HANDSHAKE_RECORD) return
    socket.destroy()
    refuseLink(network, address, REASON.tlsOnPlain)
  })
}

/**
 * Accept peers on a TCP port, over TLS when `opts.tls` is given. Rejects
 * with a `ListenError` saying why (port busy, not permitted...), or a
 * TypeError for unusable TLS options.
 */
export function listen(network: Network, opts: ListenOptions): Promise<Listener> {
  const host = opts.host ?? '127.0.0.1'
  let secure: SecureAcceptor | null = null
  try {
    if (opts.tls !== undefined) secure = new SecureAcceptor(network, opts.tls)
  } catch (err) {
    return Promise.reject(err)
  }
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 10_000)
    const address = `${socket.remoteAddress}:${socket.remotePort}`
    if (secure !== null) return secure.accept(socket, address)
    refuseTlsOnPlain(network, socket, address)
    network.attach(socket, address, 'in').catch(() => {
      /* reported through the network's events */
    })
  })
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${opts.port} on ${host} is already in use`
          : err.code === 'EACCES'
            ? `not permitted to listen on ${host}:${opts.port}`
            : err.code === 'EADDRNOTAVAIL'
              ? `address ${host} is not available on this machine`
              : err.message
      reject(new ListenError(`cannot listen: ${why}`, err.code))
    }
    server.once('error', onError)
    server.listen(opts.port, host, () => {
      server.off('error', onError)
      // Accept errors (EMFILE, ENFILE: out of file descriptors) leave the
      // server listening; they are logged without repeating, never thrown.
      server.on('error', (err: NodeJS.ErrnoException) => network.rateLog.line(`listener ${err.code ?? ''}`, `listener error: ${err.message}`))
      const addr = server.address() as net.AddressInfo
      const close = () =>
        new Promise<void>((done) => {
          server.close(() => done())
          secure?.close()
        })
      network.own(close)
      const mode = secure === null ? '' : secure.mode === 'secret' ? ' (TLS-PSK)' : ' (mutual TLS)'
      network.emit('log', `listening on ${addr.address}:${addr.port}${mode}`)
      resolve({ port: addr.port, host: addr.address, close })
    })
  })
}

export interface DialOptions {
  host: string
  port: number
  /** Time allowed for the connection (and its TLS handshake), ms. Default 5000. */
  connectTimeout?: number
  /** Authenticate and encrypt the link, as the listener does (see tls.ts). Default: plain TCP. */
  tls?: TlsOptions
}

/** The peer a dialer keeps a link to; `address` is "host:port" as in events. */
export interface Target {
  readonly host: string
  readonly port: number
  readonly address: string
}

/** One try at opening a link. */
export interface LinkAttempt {
  /** The socket, ready for the hello; or a rejection whose message says why not. */
  readonly ready: Promise<net.Socket>
  /** Give up (timeout, stop): destroys the socket; `ready` then never settles. */
  cancel(): void
}

/** How a `Dialer` opens links: plain TCP (`openTcp`), TLS (`tlsOpener`), or any other byte stream over a socket. */
export type Opener = (target: Target) => LinkAttempt

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
    const delay = backoffDelay(this.attempts++, this.network.random, this.network.backoff)
    this.network.emit('log', `${this.address}: ${reason}; retrying in ${delay} ms`)
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
