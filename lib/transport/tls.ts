/**
 * Authenticated, encrypted links over `node:tls`, used by `listen` and
 * `connect` (tcp.ts) when they are given a `tls` option. Two modes:
 *
 * - Certificates (mutual TLS): each node holds a key and a certificate
 *   signed by the cluster CA. Both ends require the other's certificate and
 *   verify its chain against `ca`; a peer without one, or with one from
 *   another CA, is refused. Host names are not checked: the dialler's
 *   `checkServerIdentity` accepts any name (the CA check stays), so nodes
 *   can be dialled by IP address, loopback included. Membership is "holds a
 *   key certified by the cluster CA"; certificates are not tied to node ids.
 * - A cluster secret (TLS-PSK): every node knows the same secret. The key
 *   is derived from it with scrypt; the handshake is TLS 1.2 with the one
 *   suite ECDHE-PSK-CHACHA20-POLY1305 (AEAD, and forward secrecy through the
 *   ephemeral key exchange). A peer with another secret fails the handshake.
 *
 * Invariants: a socket reaches `network.attach` only after its handshake
 * succeeded (and, when dialling, after the listener sent its first bytes,
 * which under TLS 1.3 is the only sign that it accepted our certificate), so
 * no protocol line, the hello included, is exchanged with a peer that failed
 * authentication. Every failed handshake is reported once as a 'refused'
 * event `(address, reason)` (see tls-reasons.ts for the reasons); a
 * dialler's retry line says the same. Failures
 * before a TCP connection exists (refused port, unreachable host) are not
 * refusals, as with plain TCP.
 */
import { X509Certificate, constants, scryptSync } from 'node:crypto'
import type * as net from 'node:net'
import * as tls from 'node:tls'
import type { Network } from './network.ts'
import { underlying } from './pending.ts'
import type { LinkAttempt, Opener, Target } from './link.ts'
import { REASON, tlsFailure } from './tls-reasons.ts'
import { quoted } from '../protocol/hello.ts'

type Pem = string | Buffer

/** Mutual TLS with certificates of a cluster CA. */
export interface TlsCertificateOptions {
  /** This node's certificate (PEM), signed by the cluster CA; intermediates may follow it. */
  cert: Pem | Pem[]
  /** The certificate's private key (PEM). */
  key: Pem | Pem[]
  /** The cluster CA certificate(s) (PEM); peers must present a certificate that chains to one. */
  ca: Pem | Pem[]
}

/** TLS-PSK with one secret shared by every member of the cluster. */
export interface TlsSecretOptions {
  /** The cluster secret, the same on every node. Use a long random one (`openssl rand -hex 32`). */
  secret: string | Buffer
  /** PSK identity, sent in the clear during the handshake and shown in a listener's refusals. Default 'simple-scuttle'. */
  identity?: string
}

export type TlsOptions = TlsCertificateOptions | TlsSecretOptions

/** The TLS-PSK cipher suite and protocol version (see the file's comment). */
export const PSK_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305'
export const PSK_TLS_VERSION = 'TLSv1.2'
const PSK_SALT = 'simple-scuttle/tls-psk/v1'
const PSK_MAX_IDENTITY = 128

/** Checked options, ready for `tls.Server` and `tls.connect`. */
interface SecureSetup {
  readonly mode: 'certificate' | 'secret'
  /** Options of a listener's `tls.Server`; `onIdentity` hears the PSK identity each client offers. */
  serverOptions(onIdentity: (socket: tls.TLSSocket, identity: string) => void): tls.TlsOptions
  readonly clientOptions: tls.ConnectionOptions
}

/**
 * No session tickets: every link runs a full handshake, its certificate or
 * secret checked each time (a listener's one secure context could
 * otherwise resume sessions it issued).
 */
const NO_RESUMPTION = { secureOptions: constants.SSL_OP_NO_TICKET }

const setups = new WeakMap<object, SecureSetup>()

function isPem(x: unknown): boolean {
  if (Array.isArray(x)) return x.length > 0 && x.every(isPem)
  return (typeof x === 'string' && x.trim() !== '') || (Buffer.isBuffer(x) && x.length > 0)
}

const CERTIFICATE = /-----BEGIN ((?:X509 |TRUSTED )?CERTIFICATE)-----[\s\S]*?-----END \1-----/g

/**
 * Why one PEM text given as a CA cannot be trusted, or null: it holds no
 * certificate, or one that cannot be read. Node's TLS takes such a CA
 * without a word (it keeps the certificates it can read, maybe none), and
 * every peer would then be refused as "not signed by the cluster CA".
 */
export function caProblem(pem: Pem): string | null {
  const text = Buffer.isBuffer(pem) ? pem.toString('latin1') : pem
  let found = 0
  for (const m of text.matchAll(CERTIFICATE)) {
    found++
    // OpenSSL's trusted form carries trust settings after the certificate: left to OpenSSL.
    if (m[1] === 'TRUSTED CERTIFICATE') continue
    try {
      new X509Certificate(m[0].replace(/X509 CERTIFICATE/g, 'CERTIFICATE'))
    } catch (err) {
      return `holds a certificate that cannot be read (${(err as Error).message})`
    }
  }
  if (found > 0) return null
  const key = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? ': it holds a private key; give the CA\'s certificate, not a key' : ''
  return `holds no certificate (no PEM block "-----BEGIN CERTIFICATE-----")${key}`
}

/**
 * Check `options` and prepare what the handshakes need (contexts, the PSK).
 * Throws a TypeError naming the problem: a missing or empty field, both
 * modes at once, a CA without a usable certificate, a certificate or key
 * that does not load, or a key that does not match the certificate. The
 * result is cached per options object.
 */
export function secureSetup(options: TlsOptions): SecureSetup {
  if (options === null || typeof options !== 'object') throw new TypeError('tls must be {cert, key, ca} or {secret}')
  const known = setups.get(options)
  if (known !== undefined) return known
  const o = options as Partial<TlsCertificateOptions & TlsSecretOptions>
  const certFields = (['cert', 'key', 'ca'] as const).filter((f) => o[f] !== undefined)
  let setup: SecureSetup
  if (o.secret !== undefined) {
    if (certFields.length > 0) throw new TypeError('tls: give {cert, key, ca} or {secret}, not both')
    setup = secretSetup(o.secret, o.identity)
  } else {
    const missing = (['cert', 'key', 'ca'] as const).filter((f) => !isPem(o[f]))
    if (missing.length > 0) throw new TypeError(`tls: certificate mode needs cert, key and ca as PEM; missing or empty: ${missing.join(', ')}`)
    setup = certificateSetup(o as TlsCertificateOptions)
  }
  setups.set(options, setup)
  return setup
}

function certificateSetup({ cert, key, ca }: TlsCertificateOptions): SecureSetup {
  const cas = Array.isArray(ca) ? ca : [ca]
  for (let i = 0; i < cas.length; i++) {
    const problem = caProblem(cas[i])
    if (problem !== null) throw new TypeError(`tls: ${Array.isArray(ca) ? `ca[${i}]` : 'ca'} ${problem}`)
  }
  const material = { cert, key, ca, minVersion: 'TLSv1.2' as const }
  let secureContext: tls.SecureContext
  try {
    secureContext = tls.createSecureContext(material)
  } catch (err) {
    throw new TypeError(`tls: cannot load the certificate, key or CA: ${(err as Error).message}`)
  }
  return {
    mode: 'certificate',
    serverOptions: () => ({ ...material, ...NO_RESUMPTION, requestCert: true, rejectUnauthorized: true }),
    clientOptions: { secureContext, rejectUnauthorized: true, checkServerIdentity: () => undefined },
  }
}

function secretSetup(secret: string | Buffer, identity: string | undefined): SecureSetup {
  if (!((typeof secret === 'string' && secret !== '') || (Buffer.isBuffer(secret) && secret.length > 0))) {
    throw new TypeError('tls: secret must be a non-empty string or Buffer')
  }
  const id = identity ?? 'simple-scuttle'
  if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > PSK_MAX_IDENTITY) {
    throw new TypeError(`tls: identity must be a string of 1 to ${PSK_MAX_IDENTITY} bytes`)
  }
  // Stretched, so that a guessable secret costs an attacker more per guess.
  const psk = scryptSync(secret, PSK_SALT, 32, { N: 1 << 14, r: 8, p: 1 })
  const version = { ciphers: PSK_CIPHERS, minVersion: PSK_TLS_VERSION, maxVersion: PSK_TLS_VERSION } as const
  return {
    mode: 'secret',
    serverOptions: (onIdentity) => ({
      ...version,
      ...NO_RESUMPTION,
      pskCallback: (socket: tls.TLSSocket, peerIdentity: string) => {
        onIdentity(socket, peerIdentity)
        return psk
      },
    }),
    // No certificate is involved, so there is no name to check.
    clientOptions: { ...version, checkServerIdentity: () => undefined, pskCallback: () => ({ psk, identity: id }) },
  }
}

/** Report a refused link: a 'refused' event, as for a refused hello. */
export function refuseLink(network: Network, address: string, reason: string): void {
  network.emit('refused', address, reason)
}

/** A handshake in progress: whom it is with, and its timeout. */
interface Handshake {
  readonly address: string
  readonly timer: unknown
  /** The PSK identity the client offered, once it did. */
  identity: string | null
}

/**
 * The TLS side of a listener: runs the handshake of each accepted TCP
 * socket and attaches the secure socket to the network once it succeeds.
 * One (never listening) `tls.Server`, and so one secure context, serves
 * every handshake of the listener: accepted sockets are fed to it through
 * `server.emit('connection', socket)`, and each outcome is traced back to
 * its socket (`underlying`) to be reported with the peer's address. Each
 * socket holds a pending slot of the network (`maxPending`) from its
 * accept until its handshake ends, and the handshake is bounded by the
 * network's `helloTimeout`.
 */
export class SecureAcceptor {
  private readonly setup: SecureSetup
  private readonly server: tls.Server
  private readonly handshakes = new Map<net.Socket, Handshake>()
  private closed = false

  /** Throws a TypeError for unusable `options` (see `secureSetup`). */
  constructor(
    private readonly network: Network,
    options: TlsOptions,
  ) {
    this.setup = secureSetup(options)
    this.server = new tls.Server(
      this.setup.serverOptions((socket, id) => {
        const h = this.handshakes.get(underlying(socket) as net.Socket)
        if (h !== undefined) h.identity = id
      }),
    )
    this.server.on('secureConnection', (socket: tls.TLSSocket) => this.secured(socket))
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => this.failed(err, socket))
  }

  get mode(): 'certificate' | 'secret' {
    return this.setup.mode
  }

  /** Run the handshake of `raw`, just accepted (unless `maxPending` are in progress: then it is closed). */
  accept(raw: net.Socket, address: string): void {
    const { network } = this
    raw.on('error', () => {
      /* reported by the TLS socket */
    })
    if (this.closed || network.isClosing) return void raw.destroy()
    if (!network.pending.hold(raw, address)) return
    const timer = network.timers.setTimeout(() => {
      if (this.settle(raw) === null) return
      raw.destroy()
      refuseLink(network, address, REASON.handshakeTimeout)
    }, network.helloTimeout)
    this.handshakes.set(raw, { address, timer, identity: null })
    this.server.emit('connection', raw)
  }

  /** Abandon the handshakes in progress (the listener is closing). */
  close(): void {
    this.closed = true
    for (const raw of [...this.handshakes.keys()]) {
      this.settle(raw)
      raw.destroy()
    }
  }

  /** End the handshake of `raw`: its timer, its pending slot. Null when it had ended already. */
  private settle(raw: object): Handshake | null {
    const h = this.handshakes.get(raw as net.Socket)
    if (h === undefined) return null
    this.handshakes.delete(raw as net.Socket)
    this.network.timers.clearTimeout(h.timer)
    this.network.pending.release(raw)
    return h
  }

  private secured(socket: tls.TLSSocket): void {
    const h = this.settle(underlying(socket))
    if (h === null || this.closed || this.network.isClosing) return void socket.destroy()
    this.network.attach(socket, h.address, 'in').catch(() => {
      /* reported through the network's events */
    })
  }

  private failed(err: NodeJS.ErrnoException, socket: tls.TLSSocket): void {
    socket.destroy()
    const h = this.settle(underlying(socket))
    if (h === null || this.closed || this.network.isClosing) return
    // At run time `authorizationError` is the verification code, a string.
    let reason = tlsFailure(err, socket.authorizationError as unknown as string | null | undefined)
    if (h.identity !== null && reason === REASON.wrongSecret) reason += ` (PSK identity ${quoted(h.identity)})`
    refuseLink(this.network, h.address, reason)
  }
}

/**
 * The dialling side: each attempt opens a TLS connection and resolves with
 * the secure socket once the handshake succeeded and the listener's first
 * bytes arrived (they stay unread, for the hello). An authentication
 * failure is a 'refused' event and a rejection with the reason; a failure
 * before the TCP connection is up (refused port, unreachable host) is only
 * a rejection, as for plain TCP.
 */
export function tlsOpener(network: Network, options: TlsOptions): Opener {
  const setup = secureSetup(options)
  return (target) => openTls(network, setup, target)
}

function openTls(network: Network, setup: SecureSetup, target: Target): LinkAttempt {
  const socket = tls.connect({ ...setup.clientOptions, host: target.host, port: target.port })
  socket.setNoDelay(true)
  let tcpUp = false
  let secured = false
  let done = false
  const ready = new Promise<net.Socket>((resolve, reject) => {
    const fail = (reason: string, refused: boolean) => {
      if (done) return
      done = true
      socket.destroy()
      if (refused && !network.isClosing) network.emit('refused', target.address, reason)
      reject(new Error(reason))
    }
    const early = () => fail(secured ? REASON.closedBeforeHello : tcpUp ? REASON.brokeOff : 'connection closed', tcpUp)
    // Stays for the socket's life: an error between hand-over and attach must not go unhandled.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (tcpUp) fail(tlsFailure(err), true)
      else fail(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message, false)
    })
    socket.once('connect', () => {
      tcpUp = true
      socket.setKeepAlive(true, 10_000)
    })
    socket.once('end', early)
    socket.once('close', early)
    socket.once('secureConnect', () => {
      secured = true
      socket.once('data', (chunk: Buffer) => {
        if (done) return
        done = true
        socket.pause()
        socket.unshift(chunk)
        socket.off('end', early)
        socket.off('close', early)
        resolve(socket)
      })
    })
  })
  return {
    ready,
    cancel: () => {
      done = true
      socket.destroy()
    },
  }
}
