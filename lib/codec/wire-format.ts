/**
 * The two byte formats of a peer link, as output queues: wire v1 (one
 * JSON object per line) and wire v2 (frames of MessagePack values, see
 * frame-reader.ts), chosen per connection in the hello (PROTOCOL.md).
 *
 * Invariants: `put` returns the exact number of bytes the message adds to
 * the output, and `take` returns everything queued as one chunk whose
 * length is the sum of what `put` returned plus `take`'s own framing
 * (`overhead`); so a stream counts bytes exactly at both ends. A frame
 * never holds more than `FRAME_TARGET` bytes of body unless one message
 * alone is larger (it then has a frame to itself, as a long line has a
 * line to itself).
 */
import { Buffer } from 'buffer'
import { Packr } from 'msgpackr/pack'
import type { Rec } from '../core/types.ts'
import { encodePush, type WireMessage } from '../protocol/messages.ts'
import { FRAME_HEADER } from './frame-reader.ts'

export type WireVersion = 1 | 2

/** Body bytes a sender puts in one frame, at most (unless one message is larger). */
export const FRAME_TARGET = 64 * 1024

export interface WireEncoder {
  /** Queue one message; the bytes it adds. */
  put(msg: WireMessage): number
  /** Queue a record with its chain link; the bytes it adds. */
  putLinked(rec: Rec, prev: number): number
  /** Everything queued, as one chunk (null when nothing is); `overhead` is then the framing it added. */
  take(): Buffer | null
  readonly overhead: number
}

/** Wire v1: `JSON.stringify(message)` and `\n` per message. */
export class LineEncoder implements WireEncoder {
  private pending: string[] = []
  overhead = 0

  put(msg: WireMessage): number {
    return this.line(JSON.stringify(msg))
  }

  putLinked(rec: Rec, prev: number): number {
    // The record's JSON with `"prev"` added, without building another object.
    const json = JSON.stringify(rec)
    return this.line(json.slice(0, -1) + ',"prev":' + prev + '}')
  }

  take(): Buffer | null {
    if (this.pending.length === 0) return null
    const chunk = Buffer.from(this.pending.join('\n') + '\n', 'utf8')
    this.pending = []
    return chunk
  }

  private line(text: string): number {
    this.pending.push(text)
    return Buffer.byteLength(text) + 1
  }
}

/**
 * Wire v2: each message packed as a MessagePack map (msgpackr, plain maps,
 * no records or extensions), queued; `take` cuts the queue into frames.
 * A message holding a string that is not well-formed UTF-16 (a lone
 * surrogate, which UTF-8 cannot carry) goes as a MessagePack string of
 * its JSON text, so it arrives exactly as over v1.
 */
export class FrameEncoder implements WireEncoder {
  private readonly packr = new Packr({ useRecords: false, variableMapSize: true })
  private pending: Uint8Array[] = []
  private bytes = 0
  overhead = 0

  put(msg: WireMessage): number {
    const b = illFormed(msg, 0) ? this.packr.pack(JSON.stringify(msg)) : this.packr.pack(msg)
    this.pending.push(b)
    this.bytes += b.length
    return b.length
  }

  putLinked(rec: Rec, prev: number): number {
    return this.put(encodePush(rec, prev))
  }

  take(): Buffer | null {
    const pending = this.pending
    if (pending.length === 0) return null
    // Count the frames first, then copy once into one chunk.
    let frames = 1
    let body = 0
    for (const p of pending) {
      if (body > 0 && body + p.length > FRAME_TARGET) {
        frames++
        body = 0
      }
      body += p.length
    }
    const out = Buffer.allocUnsafe(this.bytes + frames * FRAME_HEADER)
    let at = 0
    let head = 0
    body = 0
    for (const p of pending) {
      if (body > 0 && body + p.length > FRAME_TARGET) {
        out.writeUInt32BE(body, head)
        body = 0
      }
      if (body === 0) {
        head = at
        at += FRAME_HEADER
      }
      out.set(p, at)
      at += p.length
      body += p.length
    }
    out.writeUInt32BE(body, head)
    this.pending = []
    this.bytes = 0
    this.overhead = frames * FRAME_HEADER
    return out
  }
}

const wellFormed: ((s: string) => boolean) | undefined = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed !== undefined ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed() : undefined
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Whether some string in `v` (a key or a value, at any depth) holds a lone surrogate. */
function illFormed(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return wellFormed !== undefined ? !wellFormed(v) : LONE.test(v)
  if (typeof v !== 'object' || v === null || depth > 200) return false
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (illFormed(v[i], depth + 1)) return true
    return false
  }
  for (const k in v) {
    if (illFormed(k, depth) || illFormed((v as Record<string, unknown>)[k], depth + 1)) return true
  }
  return false
}

export function makeEncoder(wire: WireVersion): WireEncoder {
  return wire === 2 ? new FrameEncoder() : new LineEncoder()
}
