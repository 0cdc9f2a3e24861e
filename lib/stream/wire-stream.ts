import { Buffer } from 'buffer'
import { DEFAULT_MAX_LINE_LENGTH, LineReader } from '../codec/line-reader.ts'
import type { Replica } from '../core/replica.ts'
import type { SessionOptions, SessionStats } from '../core/session.ts'
import type { Rec } from '../core/types.ts'
import type { WireMessage } from '../protocol/messages.ts'
import { Binding, type BindingOwner, type Outlet } from './binding.ts'
import { PeerDuplex } from './peer-duplex.ts'

export interface WireStreamOptions {
  /** Longest line accepted from the peer, bytes. Default 1 MiB. */
  maxLineLength?: number
  /** Bytes of output the reader may fall behind before pushes wait. Default 256 KiB. */
  highWaterMark?: number
}

export interface WireStreamEvents {
  /** A peer line or object was refused; the stream carries on with the next one. */
  invalid: [reason: string, sample: unknown]
}

/**
 * One peer's byte stream, speaking ndjson itself: bytes in and out, the same
 * protocol as `PeerStream` behind a codec, without an object stream per hop.
 * Messages sent in one turn of the event loop leave as one chunk.
 *
 * Invariants: every object written is one line; input lines are bounded by
 * `maxLineLength` bytes and refused lines change nothing (`invalid` event);
 * the output buffer (pending text plus the readable buffer, counted in
 * bytes) only grows past the highWaterMark by one response (at most `mtu`
 * updates).
 */
export class WireStream extends PeerDuplex {
  private readonly bound: Binding
  private readonly reader: LineReader
  private pending: string[] = []
  private pendingBytes = 0
  private scheduled = false
  private putBytes = 0
  private pushedBytes = 0
  private readonly limit: number

  /** @internal use `gossip.createWireStream()` */
  constructor(replica: Replica, opts: SessionOptions, owner: BindingOwner, wire: WireStreamOptions = {}) {
    const limit = wire.highWaterMark ?? 256 * 1024
    super({ readableHighWaterMark: limit, writableHighWaterMark: 64 * 1024 })
    this.limit = limit
    const outlet: Outlet = {
      put: (msg) => this.put(msg),
      putLinked: (rec, prev) => this.putLine(linkedLine(rec, prev)),
      position: () => this.putBytes,
      consumed: () => this.pushedBytes - this.readableLength,
      full: () => this.pendingBytes + this.readableLength >= this.limit,
    }
    this.bound = new Binding(this, replica, opts, owner, outlet)
    this.reader = new LineReader(
      wire.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
      (obj) => this.bound.receive(obj, true),
      (reason, sample) => owner.onInvalid(reason, sample, this),
    )
  }

  /** Start an exchange with this peer now. */
  gossip(): void {
    this.bound.exchange()
  }

  get stats(): Readonly<SessionStats> & { bytesIn: number; bytesOut: number } {
    return { ...this.bound.session.stats, bytesIn: this.reader.stats.bytes, bytesOut: this.putBytes }
  }

  /** Bytes of output the reader has not taken yet (queued, and in the readable buffer). */
  get waiting(): number {
    return this.pendingBytes + this.readableLength
  }

  private put(msg: WireMessage): void {
    this.putLine(JSON.stringify(msg))
  }

  private putLine(line: string): void {
    const bytes = Buffer.byteLength(line) + 1
    this.pending.push(line)
    this.pendingBytes += bytes
    this.putBytes += bytes
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(() => this.flush())
    }
  }

  private flush(): void {
    this.scheduled = false
    if (this.pending.length === 0) return
    const chunk = Buffer.from(this.pending.join('\n') + '\n', 'utf8')
    this.pending = []
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

/** A record's JSON line with `"prev"` added, without building another object. */
function linkedLine(rec: Rec, prev: number): string {
  const json = JSON.stringify(rec)
  return json.slice(0, -1) + ',"prev":' + prev + '}'
}

export interface WireStream {
  on<K extends keyof WireStreamEvents>(event: K, listener: (...args: WireStreamEvents[K]) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<K extends keyof WireStreamEvents>(event: K, listener: (...args: WireStreamEvents[K]) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
