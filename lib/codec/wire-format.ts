/**
 * The two byte formats of a peer link, as output queues: wire v1 (one
 * JSON object per line) and wire v2 (frames of MessagePack values, see
 * frame-reader.ts), chosen per connection in the hello (PROTOCOL.md).
 *
 * Invariants: `put` returns the exact number of bytes the message adds to
 * the output, and `take` returns everything queued as one chunk whose
 * length is the sum of what `put` returned plus `take`'s own framing
 * (`overhead`); so a stream counts bytes exactly at both ends. A frame
 * never holds more than its encoder's target of body (`FRAME_TARGET`, or
 * less: a stream gives the lower of the frame limits it and its peer read
 * with) unless one message alone is larger (it then has a frame to
 * itself, as a long line has a line to itself): a frame a peer refuses as
 * too long is one message too long for a line.
 */
import { Buffer } from 'buffer'
import type { Rec } from '../core/types.ts'
import type { WireMessage } from '../protocol/messages.ts'
import { FRAME_HEADER, writeU32 } from './frame-reader.ts'
import { MsgpackWriter } from './msgpack-writer.ts'

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
 * Wire v2: each message written as a MessagePack map (msgpack-writer.ts)
 * straight into the chunk of this turn, behind its frame's 4-byte header;
 * a frame is closed before the message that would take its body past
 * `target` (that message starts the next one).
 */
export class FrameEncoder implements WireEncoder {
  private readonly w = new MsgpackWriter()
  /** Where the open frame's header is, or -1 when no frame is open. */
  private frameAt = -1
  private frames = 0
  overhead = 0

  /** `target`: body bytes a frame holds at most, unless one message alone is larger. */
  constructor(private readonly target = FRAME_TARGET) {
    if (!(target >= 1)) throw new RangeError(`frame target must be a positive number of bytes, got ${target}`)
  }

  put(msg: WireMessage): number {
    const at = this.open()
    this.w.message(msg)
    return this.close(at)
  }

  putLinked(rec: Rec, prev: number): number {
    const at = this.open()
    this.w.linked(rec, prev)
    return this.close(at)
  }

  take(): Buffer | null {
    if (this.frameAt < 0) return null
    writeU32(this.w.buf, this.w.pos - this.frameAt - FRAME_HEADER, this.frameAt)
    this.overhead = this.frames * FRAME_HEADER
    this.frames = 0
    this.frameAt = -1
    return this.w.take()
  }

  /** Open a frame if none is; returns where the next message starts. */
  private open(): number {
    const w = this.w
    if (this.frameAt < 0) {
      w.ensure(FRAME_HEADER)
      this.frameAt = w.pos
      w.pos += FRAME_HEADER
      this.frames++
    }
    return w.pos
  }

  /** The message at `at` is written: cut the frame before it if it made the body too long; its size. */
  private close(at: number): number {
    const w = this.w
    const size = w.pos - at
    if (w.pos - this.frameAt - FRAME_HEADER > this.target && at > this.frameAt + FRAME_HEADER) {
      writeU32(w.buf, at - this.frameAt - FRAME_HEADER, this.frameAt)
      w.ensure(FRAME_HEADER)
      w.buf.copyWithin(at + FRAME_HEADER, at, w.pos)
      w.pos += FRAME_HEADER
      this.frameAt = at
      this.frames++
    }
    return size
  }
}

/** The encoder of `wire`; frames (wire 2) of at most `frameTarget` bytes of body, and never more than `FRAME_TARGET`. */
export function makeEncoder(wire: WireVersion, frameTarget = FRAME_TARGET): WireEncoder {
  return wire === 2 ? new FrameEncoder(Math.min(frameTarget, FRAME_TARGET)) : new LineEncoder()
}
