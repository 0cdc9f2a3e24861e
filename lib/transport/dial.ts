/**
 * Keeping an outbound link to a peer: dial (plain TCP, TLS, or any opener),
 * hand the socket to the network, and redial after any failure with
 * exponential backoff and jitter.
 */
import * as net from 'node:net'
import { shown, warnUnknownKeys } from '../config.ts'
import { checkPort } from './host-port.ts'
import type { LinkAttempt, Opener, Target } from './link.ts'
import type { Network } from './network.ts'
import { Redialer } from './redial.ts'
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

const DIAL_KEYS = ['host', 'port', 'connectTimeout', 'tls']

/** `opts` when it names a peer to dial: a non-empty host and a port from 1 to 65535. */
function checkTarget(opts: DialOptions): DialOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`connect: options must be { host, port }, got ${shown(opts)}`)
  warnUnknownKeys(opts, DIAL_KEYS, (key) => `connect option ${key} is not an option of connect`)
  if (opts.host === undefined) throw new TypeError('connect: host is missing: give { host, port }, the peer\'s address and TCP port')
  if (typeof opts.host !== 'string' || opts.host === '') throw new TypeError(`connect: host must be a non-empty string, got ${shown(opts.host)}`)
  const bad = hostProblem(opts.host)
  if (bad !== null) throw new TypeError(`connect: host ${JSON.stringify(opts.host)} ${bad}`)
  if (opts.port === undefined) throw new TypeError(`connect: port is missing: give { host: ${JSON.stringify(opts.host)}, port }, the peer's TCP port (1 to 65535)`)
  checkPort('connect: port', opts.port, 1)
  return opts
}

/**
 * Why `host` can name no peer (null when it may): an IP address, or a name
 * without the characters no host name holds. Such a host would fail at
 * every dial, retried for ever; it is refused at the call instead.
 */
function hostProblem(host: string): string | null {
  if (net.isIP(host) !== 0) return null
  if (/^\[.*\]$/.test(host)) return 'is in brackets: give an IPv6 address without them (host: "::1")'
  if (host.length > 253) return 'is longer than a host name may be (253 characters)'
  // Whitespace, controls, and what separates a host from the rest of an address or URL.
  if (/[\s\x00-\x1f\x7f[\]/\\@?#:%]/.test(host)) return 'is neither an IP address nor a host name'
  return null
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
 * An outbound peer over TCP or TLS that stays connected (see `Redialer`).
 * Links are opened by `open`: by default plain TCP, or TLS when `opts.tls`
 * is set.
 */
export class Dialer extends Redialer<net.Socket> {
  private readonly open: Opener

  /**
   * Throws a TypeError for a missing or empty `opts.host` or a missing
   * `opts.port`, a RangeError for a port that is no integer from 1 to
   * 65535, and a TypeError for unusable `opts.tls` (see `secureSetup` in tls.ts).
   */
  constructor(
    network: Network,
    private readonly opts: DialOptions,
    open?: Opener,
  ) {
    super(network, `${checkTarget(opts).host}:${opts.port}`, opts.connectTimeout ?? 5000, 'connect')
    this.open = open ?? (opts.tls === undefined ? openTcp : tlsOpener(network, opts.tls))
    this.start()
  }

  protected openStream(): LinkAttempt {
    return this.open({ host: this.opts.host, port: this.opts.port, address: this.address })
  }

  protected asDuplex(socket: net.Socket): net.Socket {
    return socket
  }

  protected override isGone(socket: net.Socket): boolean {
    return socket.destroyed
  }

  /**
   * A listener at its connection limit closes without a byte, and so does
   * a TLS listener met by a plain client; say which it may be.
   */
  protected override helloFailure(socket: net.Socket, err: Error): string {
    const silent = this.open === openTcp && socket.bytesRead === 0 && /^(peer ended the connection|connection closed|socket error: read ECONNRESET)$/.test(err.message)
    return silent ? `${err.message} before sending anything (the peer may be at its connection limit, maxConnections, or a TLS listener)` : err.message
  }
}

/** Keep an outbound connection to a peer (over TLS when `opts.tls` is set). */
export function connect(network: Network, opts: DialOptions): Dialer {
  return new Dialer(network, opts)
}
