/**
 * The dialling side of WebSocket links, on the standard `WebSocket` API: in
 * a browser as it is, on Node with the `ws` package's client (pass its
 * class as `WebSocket`). Nothing here imports a Node module.
 */
import { shown, warnUnknownKeys } from '../config.ts'
import type { Network } from './network.ts'
import { LinkRefused, Redialer, type StreamAttempt } from './redial.ts'
import { realTimers, type Timers } from './timers.ts'
import { CLOSE_GRACE_MS, WebSocketStream, asDuplex, defaultMaxPayload, type FramePort, type WebSocketStreamOptions } from './websocket-stream.ts'

/** The subprotocol both ends agree on; the listener answers with it. */
export const SUBPROTOCOL = 'simple-scuttle'
/** A token is offered as one more subprotocol: this prefix, then the token's UTF-8 bytes in base64url. */
export const TOKEN_PROTOCOL_PREFIX = 'simple-scuttle-token.'

/**
 * An event handler property: called with an event that has (at least) the
 * fields `E` names. Typed as a method, so that its parameter is compared
 * both ways: the DOM's `(this: WebSocket, ev: MessageEvent) => any` and the
 * `ws` package's `(event: WebSocket.MessageEvent) => void` are both
 * handlers of `{ data: unknown }`, and a handler assigned here gets `E` as
 * its parameter's type.
 */
export type EventHandler<E> = { handle(ev: E): void }['handle'] | null

/**
 * The part of the standard `WebSocket` used here: the DOM's class and the
 * `ws` package's both have it.
 */
export interface StandardWebSocket {
  readonly readyState: number
  readonly bufferedAmount: number
  binaryType: string
  send(data: string): void
  close(code?: number, reason?: string): void
  /** Cut the socket without a closing handshake: the `ws` package's has it, a browser's not. */
  terminate?(): void
  onopen: EventHandler<unknown>
  onmessage: EventHandler<{ data: unknown }>
  onclose: EventHandler<{ code: number; reason: string; wasClean: boolean }>
  /**
   * An error event says why only on `ws` (its `message`); a browser's says
   * nothing. `type`, which every event has, keeps a browser's `Event`
   * related to this (TypeScript finds no relation to a type of optional
   * fields only).
   */
  onerror: EventHandler<{ type: string; message?: string }>
}

/**
 * A WebSocket class: the DOM's `WebSocket`, the `ws` package's, or any with
 * the standard constructor. A third argument, `{ maxPayload }`, is given
 * to it: the `ws` package's class takes it, a browser's ignores it.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: { maxPayload?: number }) => StandardWebSocket

/** The subprotocols a client offers: ours, and the token when there is one. */
export function offeredProtocols(token?: string): string[] {
  if (token === undefined) return [SUBPROTOCOL]
  const bytes = new TextEncoder().encode(token)
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  const b64 = btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  return [SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX + b64]
}

const OPEN = 1

/**
 * The listener's refusal of the upgrade (see `listenWebSocket`), from the
 * error a client reports, or null. Only the `ws` package's client says the
 * HTTP status ("Unexpected server response: 401"); a browser's reports a
 * refused upgrade as a close (1006), like an unreachable listener.
 */
function upgradeRefusal(message: string | undefined, token: string | undefined): LinkRefused | null {
  const status = /\bserver response: (401|403)\b/.exec(message ?? '')?.[1]
  if (status === '401') return new LinkRefused(token === undefined ? 'the listener asks for a token, and none was given (HTTP 401)' : 'the listener refused the token: wrong token (HTTP 401)')
  if (status === '403') return new LinkRefused('the listener does not allow this origin (HTTP 403)')
  return null
}

/** A `FramePort` over a standard WebSocket, and `closed()` to call once the socket closed. */
export interface StandardPort extends FramePort {
  closed(): void
}

/**
 * A `FramePort` over a standard WebSocket (text frames as strings). A peer
 * that does not answer the closing handshake within `CLOSE_GRACE_MS` (on
 * `timers`) has the socket cut, where the class can (`terminate`); a
 * browser ends the handshake on its own bound.
 */
export function standardPort(ws: StandardWebSocket, timers: Timers = realTimers): StandardPort {
  // A frame may begin inside a line, at a U+FEFF of a value: it is text like any other, not a byte order mark to drop.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  let grace: unknown = null
  return {
    sendText: (bytes) => {
      if (ws.readyState === OPEN) ws.send(decoder.decode(bytes))
    },
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) => {
      // Browsers accept only 1000 and 3000-4999 from a script.
      ws.close(code === 1000 ? 1000 : 4000, reason)
      if (ws.terminate === undefined || grace !== null) return
      grace = timers.setTimeout(() => {
        grace = null
        ws.terminate?.()
      }, CLOSE_GRACE_MS)
    },
    closed: () => {
      if (grace !== null) timers.clearTimeout(grace)
      grace = null
    },
  }
}

/**
 * Feed a standard WebSocket's frames and close into `stream` (over
 * `port`). A frame over `maxPayload` bytes ends the link: the `ws` class
 * refuses it before reading it whole (1009); a browser's reads it all,
 * then it is dropped here.
 */
export function bindStandard(ws: StandardWebSocket, stream: WebSocketStream, port: StandardPort, maxPayload: number): void {
  ws.onmessage = (ev) => {
    const d = ev.data
    const bytes = typeof d === 'string' ? new TextEncoder().encode(d) : d instanceof ArrayBuffer ? new Uint8Array(d) : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null
    if (bytes === null) return
    if (bytes.byteLength > maxPayload) stream.destroy(new Error(`websocket closed (1009 a frame of ${bytes.byteLength} bytes, over maxPayload ${maxPayload})`))
    else stream.receive(bytes)
  }
  // A close event follows an error; what the error said (the `ws` class says why, a browser nothing) goes into its reason.
  let error = ''
  ws.onerror = (ev) => void (error = ev.message ?? '')
  ws.onclose = (ev) => {
    port.closed()
    stream.socketClosed(ev.wasClean && ev.code === 1000, `websocket closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''}${error ? `: ${error}` : ''})`)
  }
}

export interface WebSocketDialOptions extends WebSocketStreamOptions {
  /** `ws://host:port/path` or `wss://...`. */
  url: string
  /** Shared secret the listener asks for (see `listenWebSocket`). */
  token?: string | undefined
  /** Largest frame accepted, bytes; a larger one closes the link (1009). Default the network's `maxLineLength` (1 MiB) + 64 KiB, as a listener's. */
  maxPayload?: number
  /** Time allowed for the WebSocket to open, ms. Default 5000. */
  connectTimeout?: number
  /** The WebSocket class. Default `globalThis.WebSocket` (browsers, Node 22); on Node 20 pass `ws`'s `WebSocket`. */
  WebSocket?: WebSocketConstructor
}

const SCHEMES: Record<string, string> = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' }

/**
 * `url` as a WebSocket class takes it (http:// and https:// as ws:// and
 * wss://, which older browsers require); a TypeError or RangeError naming
 * it when it cannot be dialled: not a URL (`ws://`, `ws://[`, a port over
 * 65535), another scheme, port 0, or a fragment.
 */
export function dialUrl(url: unknown): string {
  const bad = (why: string) => new TypeError(`connectWebSocket: url ${why}, got ${shown(url)}`)
  const given = typeof url === 'string' ? /^([a-z][a-z\d+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase() : undefined
  const scheme = given === undefined ? undefined : SCHEMES[given]
  if (scheme === undefined) throw bad('must be a ws:// or wss:// URL (http:// and https:// are taken as ws:// and wss://)')
  let u: URL
  try {
    u = new URL(url as string)
  } catch {
    throw bad('cannot be parsed as a URL (give ws://host:port/path, a port from 1 to 65535)')
  }
  if (u.hostname === '') throw bad('has no host')
  if (u.port === '0') throw new RangeError(`connectWebSocket: url port must be from 1 to 65535, got ${shown(url)}`)
  if (u.hash !== '') throw bad('must have no fragment (#...)')
  u.protocol = scheme
  return u.href
}

/** One try: resolves with the stream once the socket is open; `cancel` closes it. */
export function openWebSocket(opts: WebSocketDialOptions): StreamAttempt<WebSocketStream> {
  const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (Ctor === undefined) return { ready: Promise.reject(new Error('no WebSocket class: pass one as options.WebSocket')), cancel: () => {} }
  const maxPayload = opts.maxPayload ?? defaultMaxPayload(undefined)
  let ws: StandardWebSocket
  try {
    ws = new Ctor(dialUrl(opts.url), offeredProtocols(opts.token), { maxPayload })
  } catch (err) {
    return { ready: Promise.reject(err instanceof Error ? err : new Error(String(err))), cancel: () => {} }
  }
  ws.binaryType = 'arraybuffer'
  const ready = new Promise<WebSocketStream>((resolve, reject) => {
    ws.onerror = (ev) => reject(upgradeRefusal(ev.message, opts.token) ?? new Error(ev.message ? `cannot connect: ${ev.message}` : 'cannot connect'))
    ws.onclose = (ev) => reject(new Error(`closed before it opened (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`))
    ws.onopen = () => {
      const port = standardPort(ws, opts.timers)
      const stream = new WebSocketStream(port, opts)
      bindStandard(ws, stream, port, maxPayload)
      resolve(stream)
    }
  })
  return { ready, cancel: () => ws.close() }
}

const DIAL_KEYS = ['url', 'token', 'maxPayload', 'connectTimeout', 'WebSocket', 'highWaterMark', 'maxFrame', 'pollMs', 'timers']

/** `opts` when it names a WebSocket listener to dial: an object with a url `dialUrl` takes; unknown keys are a warning. */
function checkDial(opts: WebSocketDialOptions): WebSocketDialOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`connectWebSocket: options must be { url }, got ${shown(opts)}`)
  warnUnknownKeys(opts, DIAL_KEYS, (key) => `connectWebSocket option ${key} is not an option of connectWebSocket`)
  dialUrl(opts.url)
  return opts
}

/**
 * A WebSocket peer that stays connected (see `Redialer`). After a
 * reconnection the new session starts from this node's clock, so nothing
 * the listener already holds is sent again, and nothing this node holds is
 * asked for again.
 */
export class WebSocketDialer extends Redialer<WebSocketStream> {
  constructor(
    network: Network,
    private readonly opts: WebSocketDialOptions,
  ) {
    super(network, checkDial(opts).url, opts.connectTimeout ?? 5000, 'connectWebSocket')
    if (opts.WebSocket === undefined && (globalThis as { WebSocket?: unknown }).WebSocket === undefined) {
      throw new TypeError('connectWebSocket: no WebSocket class here (Node 20 has none): pass one as options.WebSocket, for instance the ws package\'s')
    }
    this.start()
  }

  get url(): string {
    return this.opts.url
  }

  protected openStream(): StreamAttempt<WebSocketStream> {
    return openWebSocket({ ...this.opts, timers: this.opts.timers ?? this.network.timers, maxPayload: this.opts.maxPayload ?? defaultMaxPayload(this.network.maxLineLength) })
  }

  /** WebSocket links speak ndjson (wire 1). */
  protected override maxWire(): 1 {
    return 1
  }

  protected asDuplex(stream: WebSocketStream): ReturnType<typeof asDuplex> {
    return asDuplex(stream)
  }
}

/** Keep a WebSocket link to `opts.url` (a browser tab's way into a cluster). */
export function connectWebSocket(network: Network, opts: WebSocketDialOptions): WebSocketDialer {
  return new WebSocketDialer(network, opts)
}
