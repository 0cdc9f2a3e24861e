import { Buffer } from 'buffer'
import { DEFAULT_MAX_LINE_LENGTH } from '../codec/line-reader.ts'
import { Duplex } from 'readable-stream'
import { realTimers, type Timers } from './timers.ts'
import type { Network } from './network.ts'

/**
 * A WebSocket as a byte Duplex, for `network.attach`: the same hello and
 * ndjson as over TCP, carried in text frames.
 *
 * Framing: each frame holds one or more whole lines. Frames are joined into
 * one byte stream on receipt, so a line cut across frames still decodes
 * (the ndjson reader works on bytes), but senders never cut inside a line
 * unless the line itself is longer than a frame (then at a character
 * boundary, so that every text frame is valid UTF-8).
 *
 * Backpressure: a write is acknowledged only once the socket's
 * `bufferedAmount` is back under `highWaterMark`; until then the stream's
 * writable side fills and the node's `WireStream` stops being read, which
 * is what `stallTimeout` watches. Where the socket can pause its input (the
 * `ws` package on Node), a full readable side pauses it.
 */

/** What the stream needs from a WebSocket: the browser's, or an adapter over the `ws` package. */
export interface FramePort {
  /** Send one text frame made of these UTF-8 bytes. */
  sendText(bytes: Uint8Array): void
  /** Bytes queued and not yet handed to the network. */
  bufferedAmount(): number
  /** Close the socket (`code` 1000 for a normal end). */
  close(code: number, reason: string): void
  /** Stop and restart reading frames, where the socket can. */
  pause?(): void
  resume?(): void
}

export interface WebSocketStreamOptions {
  /** Bytes the socket may hold unsent before writes wait. Default 1 MiB. */
  highWaterMark?: number
  /** Largest frame sent, bytes. Default 256 KiB. */
  maxFrame?: number
  /** How often a full socket is looked at again, ms (browsers have no drain event). Default 10. */
  pollMs?: number
  timers?: Timers
}

export const DEFAULT_MAX_FRAME = 256 * 1024

/**
 * The largest frame either side of a link takes by default, bytes: a whole
 * line (`maxLineLength`) or frame, whichever is larger, and 64 KiB more; a
 * larger one closes the link (1009) before it is read whole.
 */
export function defaultMaxPayload(maxLineLength: number | undefined): number {
  return Math.max(maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_FRAME) + 64 * 1024
}

/** Time a peer has to answer the closing handshake before the socket is cut, ms. */
export const CLOSE_GRACE_MS = 1000

export class WebSocketStream extends Duplex {
  private readonly port: FramePort
  private readonly hwm: number
  private readonly maxFrame: number
  private readonly pollMs: number
  private readonly timers: Timers
  private paused = false
  private poll: unknown = null
  private ended = false

  constructor(port: FramePort, opts: WebSocketStreamOptions = {}) {
    super({ allowHalfOpen: false })
    this.port = port
    this.hwm = opts.highWaterMark ?? 1024 * 1024
    this.maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME
    this.pollMs = opts.pollMs ?? 10
    this.timers = opts.timers ?? realTimers
  }

  /** A frame arrived (text as a string, or bytes). */
  receive(data: string | Uint8Array): void {
    if (this.ended || this.destroyed) return
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    if (!this.push(bytes) && this.port.pause !== undefined && !this.paused) {
      this.paused = true
      this.port.pause()
    }
  }

  /** The socket closed: `clean` for a closing handshake, else an error with its reason. */
  socketClosed(clean: boolean, reason: string): void {
    if (this.ended || this.destroyed) return
    this.ended = true
    if (clean) {
      // Whatever was pushed is read first; then the stream ends and is gone.
      this.once('end', () => this.destroy())
      this.push(null)
    } else this.destroy(new Error(reason))
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false
      this.port.resume?.()
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    try {
      for (const frame of frames(chunk, this.maxFrame)) this.port.sendText(frame)
    } catch (err) {
      return callback(err instanceof Error ? err : new Error(String(err)))
    }
    this.whenRoom(callback)
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.whenRoom(() => {
      this.ended = true
      this.port.close(1000, 'end')
      callback()
    })
  }

  override _destroy(err: Error | null, callback: (error: Error | null) => void): void {
    if (this.poll !== null) this.timers.clearTimeout(this.poll)
    this.poll = null
    if (!this.ended) {
      this.ended = true
      this.port.close(err === null ? 1000 : 1011, err === null ? 'closed' : 'error')
    }
    callback(err)
  }

  /** Call `done` once the socket holds less than the highWaterMark. */
  private whenRoom(done: () => void): void {
    if (this.port.bufferedAmount() <= this.hwm) return done()
    this.poll = this.timers.setTimeout(() => {
      this.poll = null
      if (!this.destroyed) this.whenRoom(done)
    }, this.pollMs)
  }
}

/**
 * `bytes` cut into frames of at most `max` bytes: after the last newline
 * that fits, or, for a line longer than a frame, at a character boundary
 * (never before a UTF-8 continuation byte).
 */
export function* frames(bytes: Uint8Array, max: number): Generator<Uint8Array> {
  let start = 0
  while (bytes.length - start > max) {
    let end = bytes.lastIndexOf(10, start + max - 1) + 1
    if (end <= start) {
      end = start + max
      while (end > start + 1 && (bytes[end] & 0xc0) === 0x80) end--
    }
    yield bytes.subarray(start, end)
    start = end
  }
  if (start < bytes.length) yield start === 0 ? bytes : bytes.subarray(start)
}

/** `network.attach` is typed with Node's Duplex; readable-stream's is the same at run time. */
export function asDuplex(stream: WebSocketStream): Parameters<Network['attach']>[0] {
  return stream as unknown as Parameters<Network['attach']>[0]
}
