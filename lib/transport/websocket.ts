/**
 * Accepting peers over WebSocket (browsers, or any client of the standard
 * API), on the `ws` package: each WebSocket becomes a byte stream for
 * `network.attach`, with the same hello, cluster, limits and budgets as a
 * TCP link (see websocket-stream.ts for frames and backpressure).
 *
 * Before a WebSocket is accepted, the HTTP upgrade is checked, and refused
 * with an HTTP status (the network emits `'refused'` with the reason):
 * - a request target that cannot be parsed (400), or a path no listener
 *   of the server takes (404; see upgrade-routes.ts);
 * - the client must offer the `simple-scuttle` subprotocol (400);
 * - with `token`, it must also offer `simple-scuttle-token.<base64url of
 *   the token>` (401): browsers cannot set headers on a WebSocket, and a
 *   subprotocol, unlike a URL query, stays out of access logs and history;
 *   the listener never echoes it;
 * - with `origins`, a browser's `Origin` must be in the list (403); a
 *   request without `Origin` (not from a browser) passes, since any other
 *   client can claim any origin: the token is what authenticates;
 * - past `maxConnections` with no slot to reclaim, or `maxConnectionsPerHost` (503).
 *
 * On a server of its own (`port`), every accepted socket holds a pending
 * slot of the network (`maxPending`) from its accept until its upgrade is
 * taken or it closes; past the bound it is closed at once. Its TLS
 * handshake (`wss://`), request headers and whole request must each come
 * within `helloTimeout`, headers of at most `MAX_HEADER_BYTES`. A refused
 * upgrade costs a digest at most, and is reported once: a `'refused'`
 * event (which the command-line node prints at most once per reason
 * every 10 s). On a server given (`server`), the HTTP phase is that
 * server's, under its own limits; the bounds start at the upgrade.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { checkPort } from './host-port.ts'
import { AcceptedSockets } from './accepted.ts'
import type { Network } from './network.ts'
import { underlying } from './pending.ts'
import { addRoute, rejectUpgrade } from './upgrade-routes.ts'
import { ListenError } from './tcp.ts'
import { SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX } from './websocket-client.ts'
import type { Timers } from './timers.ts'
import { CLOSE_GRACE_MS, WebSocketStream, defaultMaxPayload, asDuplex, type FramePort } from './websocket-stream.ts'

export interface WebSocketListenOptions {
  /** Port of a server of its own, an integer from 0 to 65535 (0 picks a free one). Give `port` or `server`. */
  port?: number
  /** With `port`: default '127.0.0.1'. */
  host?: string
  /** With `port`: serve `wss://` with this certificate and key (PEM), e.g. a node's cluster certificate. */
  tls?: { cert: string | Buffer | (string | Buffer)[]; key: string | Buffer | (string | Buffer)[] }
  /**
   * An HTTP or HTTPS server to take upgrades from (an https server gives
   * `wss://`). Its own limits (`headersTimeout`, `requestTimeout`,
   * `maxHeaderSize`, `maxConnections`) bound its sockets until they ask
   * for an upgrade: `maxPending` does not count them.
   */
  server?: http.Server | https.Server
  /**
   * Only upgrades to this path. Others go to the server's other WebSocket
   * listeners; one no listener takes is answered 404 and closed (unless
   * the server has an upgrade handler of its own: then it is that
   * handler's). Default: any path.
   */
  path?: string
  /** Shared secret clients must offer (see above). Default: none. */
  token?: string | undefined
  /** Browser origins allowed, e.g. ['https://app.example.org']. Default: any. */
  origins?: string[]
  /** Largest frame accepted, bytes; a larger one closes the link (1009). Default the network's `maxLineLength` (1 MiB) + 64 KiB, as a dialler's. */
  maxPayload?: number
  /** Bytes a socket may hold unsent before the node stops writing to it. Default 1 MiB. */
  highWaterMark?: number
}

export interface WebSocketListener {
  readonly port: number
  readonly host: string
  /** `ws://host:port/path` (or `wss://`), for clients. */
  readonly url: string
  /** Stop taking upgrades, and end the links this listener accepted (reason "listener closed"); a server given serves on. */
  close(): Promise<void>
}

/** Largest request head (request line and headers) a listener of its own reads, bytes; a larger one is answered 431. */
const MAX_HEADER_BYTES = 16 * 1024

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest()

/** Why an upgrade is refused (status and reason), or null. */
function checkUpgrade(req: http.IncomingMessage, tokenDigest: Buffer | null, origins: Set<string> | null): { status: number; reason: string } | null {
  // What the WebSocket handshake itself requires, checked before a slot is found for it (no connection is evicted for a request that fails).
  const key = req.headers['sec-websocket-key']
  const version = req.headers['sec-websocket-version']
  if (req.method !== 'GET' || typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key) || (version !== '13' && version !== '8')) {
    return { status: 400, reason: 'not a WebSocket handshake (method, Sec-WebSocket-Key or Sec-WebSocket-Version)' }
  }
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
  if (!offered.includes(SUBPROTOCOL)) return { status: 400, reason: `not a simple-scuttle client (no "${SUBPROTOCOL}" subprotocol)` }
  const origin = req.headers.origin
  if (origins !== null && origin !== undefined && !origins.has(origin)) return { status: 403, reason: `origin ${JSON.stringify(origin.slice(0, 200))} is not allowed` }
  if (tokenDigest !== null) {
    const given = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))
    if (given === undefined) return { status: 401, reason: 'no token' }
    const bytes = Buffer.from(given.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url')
    if (!timingSafeEqual(digest(bytes), tokenDigest)) return { status: 401, reason: 'wrong token' }
  }
  return null
}

/** A `FramePort` over a `ws` WebSocket: frames as bytes, input paused when the stream is full. */
function wsPort(ws: WebSocket, hwm: number, timers: Timers): FramePort {
  return {
    sendText: (bytes) => ws.send(bytes, { binary: false }),
    bufferedAmount: () => ws.bufferedAmount,
    // A peer that does not read, or does not answer the closing handshake within the grace, is cut off.
    close: (code, reason) => {
      if (ws.bufferedAmount > hwm || code !== 1000) return ws.terminate()
      ws.close(code, reason)
      const grace = timers.setTimeout(() => ws.terminate(), CLOSE_GRACE_MS)
      ws.once('close', () => timers.clearTimeout(grace))
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  }
}

/**
 * Accept peers over WebSocket, on a port of their own (`port`, with `tls`
 * for `wss://`) or on an existing HTTP(S) server (`server`). Rejects with
 * a `ListenError` when the port cannot be had.
 */
export function listenWebSocket(network: Network, opts: WebSocketListenOptions): Promise<WebSocketListener> {
  if ((opts.port === undefined) === (opts.server === undefined)) return Promise.reject(new TypeError('listenWebSocket: give either port or server'))
  try {
    if (opts.port !== undefined) checkPort('listenWebSocket: port', opts.port, 0)
    network.checkOpen('listenWebSocket')
  } catch (err) {
    return Promise.reject(err)
  }
  const hwm = opts.highWaterMark ?? 1024 * 1024
  const tokenDigest = opts.token === undefined ? null : digest(new TextEncoder().encode(opts.token))
  const origins = opts.origins === undefined ? null : new Set(opts.origins)
  const own = opts.server === undefined
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: opts.maxPayload ?? defaultMaxPayload(network.maxLineLength),
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  })

  const accept = (ws: WebSocket, address: string) => {
    const stream = new WebSocketStream(wsPort(ws, hwm, network.timers), { highWaterMark: hwm, timers: network.timers })
    ws.on('message', (data: Buffer) => stream.receive(data))
    ws.on('close', (code: number, reason: Buffer) => stream.socketClosed(code === 1000, `websocket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`))
    ws.on('error', (err: Error) => stream.socketClosed(false, err.message))
    accepted.add(stream)
    network.attach(asDuplex(stream), address, 'in', 1).catch(() => {
      /* reported through the network's events */
    })
  }

  /** The links accepted (ended when the listener closes). */
  const accepted = new AcceptedSockets()
  /** Sockets of a server of its own that hold a pending slot (ended when the listener closes). */
  const held = new Set<Socket>()

  const onUpgrade = (req: http.IncomingMessage, socket: NodeDuplex, head: Buffer) => {
    const address = `${req.socket.remoteAddress}:${req.socket.remotePort}`
    const problem = checkUpgrade(req, tokenDigest, origins)
    if (problem !== null) {
      network.emit('refused', address, problem.reason)
      return rejectUpgrade(socket, problem.status)
    }
    if (network.isClosing) return rejectUpgrade(socket, 503)
    if (network.admit(address) !== null) return rejectUpgrade(socket, 503)
    // From here `maxConnections` counts it (the upgrade and the attach happen in this turn).
    network.pending.release(socket)
    held.delete(underlying(socket) as Socket)
    socket.on('error', () => {})
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, address))
  }

  let server: http.Server | https.Server
  if (own) {
    const answer = (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket', Connection: 'close' })
      res.end('simple-scuttle: WebSocket only\n')
    }
    // A client that never finishes its TLS handshake or its upgrade request
    // is cut off like a peer without a hello (checked every second at most).
    const limits = {
      headersTimeout: network.helloTimeout,
      requestTimeout: network.helloTimeout,
      connectionsCheckingInterval: Math.max(10, Math.min(network.helloTimeout / 4, 1000)),
      maxHeaderSize: MAX_HEADER_BYTES,
    }
    server = opts.tls === undefined ? http.createServer(limits, answer) : https.createServer({ ...limits, handshakeTimeout: network.helloTimeout, cert: opts.tls.cert, key: opts.tls.key }, answer)
    // After the server's own listener: it has wrapped the socket, and ends its wrapper with it.
    server.on('connection', (socket: Socket) => {
      if (!network.pending.hold(socket, `${socket.remoteAddress}:${socket.remotePort}`)) return
      held.add(socket)
      socket.once('close', () => held.delete(socket))
    })
  } else server = opts.server!
  const unroute = addRoute(server, { path: opts.path, take: onUpgrade, network })

  const done = (port: number, host: string): WebSocketListener => {
    const scheme = server instanceof https.Server ? 'wss' : 'ws'
    const close = () =>
      new Promise<void>((resolve) => {
        unroute()
        wss.close()
        accepted.closeLinks(network)
        if (!own) return resolve()
        server.close(() => resolve())
        // Sockets still in their handshake or request would hold close() until they end.
        for (const socket of [...held]) socket.destroy()
      })
    network.own(close)
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${opts.path ?? '/'}`
    network.emit('log', `listening for WebSockets on ${url}`)
    return { port, host, url, close }
  }

  if (!own) {
    const addr = server.address() as AddressInfo | null
    return Promise.resolve(done(addr?.port ?? 0, addr?.address ?? 'localhost'))
  }
  const host = opts.host ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      unroute()
      const why = err.code === 'EADDRINUSE' ? `port ${opts.port} on ${host} is already in use` : err.code === 'EACCES' ? `not permitted to listen on ${host}:${opts.port}` : err.message
      reject(new ListenError(`cannot listen for WebSockets: ${why}`, err.code))
    }
    server.once('error', onError)
    server.listen(opts.port, host, () => {
      server.off('error', onError)
      server.on('error', (err: NodeJS.ErrnoException) => network.rateLog.line(`ws listener ${err.code ?? ''}`, `WebSocket listener error: ${err.message}`))
      const addr = server.address() as AddressInfo
      resolve(done(addr.port, addr.address))
    })
  })
}
