import { Buffer } from 'buffer'
import { FrameReader } from '../codec/frame-reader.ts'
import { DEFAULT_MAX_LINE_LENGTH, LineReader } from '../codec/line-reader.ts'
import { makeEncoder, type WireEncoder, type WireVersion } from '../codec/wire-format.ts'
import type { Pacing } from '../core/answer-pacing.ts'
import type { Replica } from '../core/replica.ts'
import type { SessionOptions, SessionStats } from '../core/session.ts'
import type { Rec } from '../core/types.ts'
import { Binding, type BindingOwner, type Outlet } from './binding.ts'
import { OnePeer } from './one-peer.ts'
import { PeerDuplex } from './peer-duplex.ts'

export interface WireStreamOptions {
  /**
   * Longest line (wire 1) or frame (wire 2) accepted from the peer, bytes.
   * Default 1 MiB. Frames sent hold at most this much body (or 64 KiB, or
   * `peerMaxLineLength`, whichever is least) unless one message alone is
   * larger, so that the peer refuses only what it would refuse as a line.
   */
  maxLineLength?: number
  /**
   * Longest line or frame the peer reads, bytes, when known (a `Network`
   * takes it from the peer's hello); default: `maxLineLength`.
   */
  peerMaxLineLength?: number
  /**
   * The byte format both ways: 1, ndjson (the default); 2, frames of
   * MessagePack values (PROTOCOL.md). Both ends must use the same: over a
   * `Network` the hellos choose it. A mismatch is named by the first
   * refusal at each end (the readers look at the start of the stream).
   */
  wire?: WireVersion
  /** Bytes of output the reader may fall behind before pushes wait. Default 256 KiB. */
  highWaterMark?: number
  /**
   * Answer the peer's requests at most once per `interval` ms of `now`
   * (core/answer-pacing.ts); a `Network` sets half its round interval and
   * calls `answerHeld()` every round. Default: every request is answered.
   */
  answerPacing?: Pacing
}

export interface WireStreamEvents {
  /** A peer line or object was refused; the stream carries on with the next one. */
  invalid: [reason: string, sample: unknown]
}

/**
 * One peer's byte stream, speaking ndjson (wire 1) or frames (wire 2)
 * itself: bytes in and out, the same protocol as `PeerStream` behind a
 * codec, without an object stream per hop. Messages sent in one turn of the
 * event loop leave as one chunk (in wire 2, as frames of at most 64 KiB of
 * body each, or `maxLineLength` or `peerMaxLineLength` when lower, unless
 * one message alone is larger).
 *
 * Invariants: it is one peer's session (`OnePeer`: a second source or
 * destination is refused); every object written is one line or one value of a frame;
 * input lines or frames are bounded by `maxLineLength` bytes and refused
 * ones change nothing (`invalid` event); the output buffer (pending bytes
 * plus the readable buffer, counted exactly in bytes whatever the format)
 * only grows past the highWaterMark by one response (at most `mtu`
 * updates).
 *
 * Superseded records are not sent (sound links): the last linked record
 * queued (the tail) is encoded only when something follows it or the turn
 * ends, and a record of the same source and key linked right onto it
 * (its `prev` is the tail's version) takes its place with the tail's link.
 * The merged message claims what the two did: the tail is no longer held
 * (one record per key), so nothing lies between the tail's link and the
 * new record. A key written many times in one turn leaves as one update.
 * The held record is counted (encoded) once the buffer is half full, and
 * whenever `waiting` or `stats` are read.
 */
export class WireStream extends PeerDuplex {
  private readonly bound: Binding
  private readonly peer = new OnePeer(this, 'createWireStream')
  private readonly reader: LineReader | FrameReader
  private readonly out: WireEncoder
  private pendingBytes = 0
  private scheduled = false
  private putBytes = 0
  private pushedBytes = 0
  private readonly limit: number
  /** The last linked record queued, not yet encoded (see the invariants), and its link. */
  private tail: Rec | null = null
  private tailPrev = 0
  /** Records that took the tail's place instead of going out (sound links only). */
  private merged = 0

  /** @internal use `gossip.createWireStream()` */
  constructor(replica: Replica, opts: SessionOptions, owner: BindingOwner, wire: WireStreamOptions = {}) {
    const limit = wire.highWaterMark ?? 256 * 1024
    super({ readableHighWaterMark: limit, writableHighWaterMark: 64 * 1024 })
    this.limit = limit
    const merge = opts.lossy !== true
    const outlet: Outlet = {
      put: (msg) => {
        this.encodeTail()
        this.queued(this.out.put(msg))
      },
      putLinked: (rec, prev) => {
        const t = this.tail
        if (t !== null && merge && prev === t.version && rec.key === t.key && rec.source_id === t.source_id && rec.gen === t.gen) {
          this.tail = rec
          this.merged++
          return
        }
        this.encodeTail()
        this.tail = rec
        this.tailPrev = prev
        this.queued(0)
      },
      position: () => this.putBytes,
      consumed: () => this.pushedBytes - this.readableLength,
      full: () => {
        // Past half the limit the held record is counted (encoded), so the buffer's bound holds as before.
        if (this.tail !== null && this.pendingBytes + this.readableLength >= this.limit / 2) this.encodeTail()
        return this.pendingBytes + this.readableLength >= this.limit
      },
      soon: () => this.queued(0),
    }
    this.wire = wire.wire ?? 1
    if (this.wire !== 1 && this.wire !== 2) throw new RangeError(`wire must be 1 or 2, got ${String(wire.wire)}`)
    const maxLine = wire.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH
    // Frames of several messages fit the limit the peer reads with (unknown: this stream's own, as a cluster's nodes mostly read alike) and this stream's.
    this.out = makeEncoder(this.wire, Math.min(maxLine, wire.peerMaxLineLength ?? maxLine))
    // A byte-stream peer answers in legs, so a flood of requests gets one answer per final.
    this.bound = new Binding(this, replica, { ...opts, answerAfterFinal: opts.lossy !== true, answerPacing: wire.answerPacing }, owner, outlet)
    const Reader = this.wire === 2 ? FrameReader : LineReader
    this.reader = new Reader(
      maxLine,
      // Once destroyed (a budget closed the link), the rest of a chunk is no longer taken or reported.
      (obj) => this.destroyed || this.bound.receive(obj, true),
      (reason, sample) => this.destroyed || owner.onInvalid(reason, sample, this, true),
    )
  }

  /** The byte format of this stream (see `WireStreamOptions.wire`). */
  readonly wire: WireVersion

  /** Pipe to the peer's connection; throws if the stream is piped to another destination already (it is one peer's session). */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (this.peer.destination(destination)) return destination
    return super.pipe(destination, options)
  }

  /** Start an exchange with this peer now. */
  gossip(): void {
    this.bound.exchange()
  }

  /** Write an answer that waited for its time (`answerPacing`), if it is due and the link has room. */
  answerHeld(): void {
    this.bound.answerHeld()
  }

  /** The session's counts, bytes both ways, and `merged`: records that took a superseded one's place in the output (see the invariants). */
  get stats(): Readonly<SessionStats> & { bytesIn: number; bytesOut: number; merged: number } {
    this.encodeTail()
    return { ...this.bound.session.stats, bytesIn: this.reader.stats.bytes, bytesOut: this.putBytes, merged: this.merged }
  }

  /** Objects received whole (lines, or values of frames); malformed ones are not counted. */
  get messagesIn(): number {
    return this.reader.stats.objects
  }

  /** Bytes of output the reader has not taken yet (queued, and in the readable buffer). */
  get waiting(): number {
    this.encodeTail()
    return this.pendingBytes + this.readableLength
  }

  /** A message of `bytes` bytes was queued: flush at the end of this turn. */
  private queued(bytes: number): void {
    this.pendingBytes += bytes
    this.putBytes += bytes
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.flushNow)
    }
  }

  private readonly flushNow = () => this.flush()

  private encodeTail(): void {
    const t = this.tail
    if (t === null) return
    this.tail = null
    const bytes = this.out.putLinked(t, this.tailPrev)
    this.pendingBytes += bytes
    this.putBytes += bytes
  }

  private flush(): void {
    this.scheduled = false
    this.bound.session.flushRelays()
    this.encodeTail()
    const chunk = this.out.take()
    if (chunk === null) return
    // Framing (wire 2) is counted once known, on both sides of the ledger.
    this.putBytes += this.out.overhead
    this.pendingBytes = 0
    this.pushedBytes += chunk.length
    this.push(chunk)
  }

  protected binding(): Binding {
    return this.bound
  }

  protected override feedChunk(chunk: unknown, enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.reader.feed(typeof chunk === 'string' ? Buffer.from(chunk, enc) : (chunk as Buffer))
    this.bound.settle(callback)
  }

  protected override ending(): void {
    this.reader.end()
    this.flush()
  }
}

export interface WireStream {
  on<K extends keyof WireStreamEvents>(event: K, listener: (...args: WireStreamEvents[K]) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<K extends keyof WireStreamEvents>(event: K, listener: (...args: WireStreamEvents[K]) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
