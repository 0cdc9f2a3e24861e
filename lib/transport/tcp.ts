import * as net from 'node:net'
import { backoffDelay } from './timers.ts'
import type { Connection, Network } from './network.ts'

export interface ListenOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number
  /** Default '127.0.0.1'. */
  host?: string
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

/** Accept peers on a TCP port. Rejects with a `ListenError` saying why (port busy, not permitted...). */
export function listen(network: Network, opts: ListenOptions): Promise<Listener> {
  const host = opts.host ?? '127.0.0.1'
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 10_000)
    const address = `${socket.remoteAddress}:${socket.remotePort}`
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
      server.on('error', (err) => network.emit('log', `listener error: ${err.message}`))
      const addr = server.address() as net.AddressInfo
      const close = () =>
        new Promise<void>((done) => {
          server.close(() => done())
        })
      network.own(close)
      network.emit('log', `listening on ${addr.address}:${addr.port}`)
      resolve({ port: addr.port, host: addr.address, close })
    })
  })
}

export interface DialOptions {
  host: string
  port: number
  /** Time allowed for the TCP connection, ms. Default 5000. */
  connectTimeout?: number
}

/**
 * An outbound peer that stays connected: it redials after any failure or
 * disconnect, with exponential backoff and jitter (reset by a good hello),
 * until `stop()` or the network closes. It gives up only when the peer turns
 * out to be this node itself.
 */
export class Dialer {
  attempts = 0
  connection: Connection | null = null
  lastError = ''
  private timer: unknown = null
  private stopped = false
  private socket: net.Socket | null = null
  readonly address: string

  constructor(
    private readonly network: Network,
    private readonly opts: DialOptions,
  ) {
    this.address = `${opts.host}:${opts.port}`
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
    this.socket?.destroy()
    this.connection?.close('dialer stopped')
  }

  private dial(): void {
    if (this.stopped || this.network.isClosing) return
    const { network } = this
    const socket = net.connect({ host: this.opts.host, port: this.opts.port })
    this.socket = socket
    socket.setNoDelay(true)
    let settled = false
    const connectTimer = network.timers.setTimeout(() => {
      if (settled) return
      settled = true
      socket.destroy()
      this.failed('connect timeout')
    }, this.opts.connectTimeout ?? 5000)
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (settled) return
      settled = true
      network.timers.clearTimeout(connectTimer)
      this.failed(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message)
    })
    socket.once('connect', () => {
      if (settled) return
      settled = true
      network.timers.clearTimeout(connectTimer)
      socket.setKeepAlive(true, 10_000)
      network.attach(socket, this.address, 'out').then(
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
          this.failed(err.message)
        },
      )
    })
  }

  private failed(reason: string): void {
    this.socket = null
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

/** Keep an outbound connection to a peer. */
export function connect(network: Network, opts: DialOptions): Dialer {
  return new Dialer(network, opts)
}
