/**
 * Accepting peers on a TCP port, plain or TLS (the handshake is tls.ts's):
 * each accepted socket goes to the network, which runs the hello and the
 * budgets. A plain listener refuses a TLS client at once.
 *
 * What bounds an accepted socket from its accept: on a plain listener it is
 * attached at once, so `maxConnections` counts it (in its hello) from the
 * start; on a TLS listener `maxPending` counts it during its handshake, and
 * `maxConnections` once the handshake succeeded.
 */
import * as net from 'node:net'
import { AcceptedSockets } from './accepted.ts'
import { checkPort } from './host-port.ts'
import type { Network } from './network.ts'
import { SecureAcceptor, refuseLink, type TlsOptions } from './tls.ts'
import { REASON } from './tls-reasons.ts'

export interface ListenOptions {
  /** Port to listen on, an integer from 0 to 65535; 0 (or undefined) picks a free one. */
  port: number
  /** Default '127.0.0.1'. */
  host?: string
  /** Authenticate and encrypt every link (certificates or a cluster secret, see tls.ts). Default: plain TCP. */
  tls?: TlsOptions
}

export interface Listener {
  readonly port: number
  readonly host: string
  /** Stop accepting, and end the links this listener accepted (reason "listener closed"); resolves once the port is free. */
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
 * with a `ListenError` saying why (port busy, not permitted...), a
 * RangeError for a port that is no integer from 0 to 65535, or a
 * TypeError for unusable TLS options.
 */
export function listen(network: Network, opts: ListenOptions): Promise<Listener> {
  const host = opts.host ?? '127.0.0.1'
  let secure: SecureAcceptor | null = null
  try {
    if (opts.port !== undefined) checkPort('listen: port', opts.port, 0)
    network.checkOpen('listen')
    if (opts.tls !== undefined) secure = new SecureAcceptor(network, opts.tls)
  } catch (err) {
    return Promise.reject(err)
  }
  const accepted = new AcceptedSockets()
  const server = net.createServer((socket) => {
    accepted.add(socket)
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
          accepted.closeLinks(network)
        })
      network.own(close)
      const mode = secure === null ? '' : secure.mode === 'secret' ? ' (TLS-PSK)' : ' (mutual TLS)'
      network.emit('log', `listening on ${addr.address}:${addr.port}${mode}`)
      resolve({ port: addr.port, host: addr.address, close })
    })
  })
}
