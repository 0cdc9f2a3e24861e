/**
 * Splitting untrusted bytes into wire v2 frames, and frames into objects.
 *
 * A frame is a 4-byte big-endian body length, then the body: MessagePack
 * values one after another, each a message (a map with the message's JSON
 * field names), or a string holding a message as JSON text (how a sender
 * carries what MessagePack would not carry exactly: strings that are not
 * well-formed UTF-16).
 *
 * The line reader's rules hold for frames: nothing here throws; at most
 * `maxFrameLength` bytes of an unfinished frame are held (a longer frame is
 * reported once and its bytes skipped without being held); a body that
 * cannot be read is refused with a reason from the first bad value on
 * (the values before it are delivered); how the input is cut into chunks
 * never changes what is decoded; every input byte is looked at a bounded
 * number of times. A first frame refused as too long whose header reads
 * '{"' says the peer likely speaks ndjson (wire 1): only the start of the
 * stream is looked at.
 */
import { Buffer } from 'buffer'
import { GrowBuffer } from './grow-buffer.ts'
import { MAX_DEPTH } from './json-depth.ts'
import { notObject, parseLine, SAMPLE_LENGTH, type DecoderStats } from './line-reader.ts'
import { MsgpackReader } from './msgpack.ts'

export const FRAME_HEADER = 4

export interface FrameStats extends DecoderStats {
  /** Whole frames seen (refused ones included). */
  frames: number
}

/** The first bytes of a refused frame body, in hex (for the `invalid` event's sample). */
function hexSample(buf: Uint8Array, start: number, end: number): string {
  let s = ''
  for (let i = start; i < Math.min(end, start + SAMPLE_LENGTH / 2); i++) s += (buf[i] < 16 ? '0' : '') + buf[i].toString(16)
  return s
}

/** The big-endian 32-bit unsigned integer at `at` (plain byte reads: any Uint8Array, the browser's Buffer too). */
export function readU32(b: Uint8Array, at: number): number {
  return b[at] * 0x100_0000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3])
}

export function writeU32(b: Uint8Array, value: number, at: number): void {
  b[at] = value >>> 24
  b[at + 1] = (value >>> 16) & 0xff
  b[at + 2] = (value >>> 8) & 0xff
  b[at + 3] = value & 0xff
}

export class FrameReader {
  readonly stats: FrameStats = { lines: 0, objects: 0, invalid: 0, bytes: 0, frames: 0 }
  private readonly values = new MsgpackReader()
  private readonly header = Buffer.alloc(FRAME_HEADER)
  private headerHave = 0
  /** Body length of the frame being read, or -1 while reading a header. */
  private want = -1
  /** Bytes of an over-long frame still to skip. */
  private skip = 0
  private readonly acc: GrowBuffer
  private readonly onValue = (v: unknown) => this.value(v)
  private readonly onError = (reason: string) => this.reject(`malformed frame: ${reason}`, this.sample)
  private sample = ''

  constructor(
    readonly maxFrameLength: number,
    private readonly onObject: (value: object) => void,
    private readonly onInvalid: (reason: string, sample: string) => void,
  ) {
    if (!Number.isSafeInteger(maxFrameLength) || maxFrameLength < 1) throw new RangeError('maxFrameLength must be a positive integer')
    this.acc = new GrowBuffer(maxFrameLength)
  }

  feed(buf: Buffer): void {
    this.stats.bytes += buf.length
    let pos = 0
    const len = buf.length
    while (pos < len) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - pos)
        this.skip -= n
        pos += n
        continue
      }
      if (this.want < 0) {
        if (this.headerHave === 0 && len - pos >= FRAME_HEADER) {
          this.want = readU32(buf, pos)
          pos += FRAME_HEADER
        } else {
          while (this.headerHave < FRAME_HEADER && pos < len) this.header[this.headerHave++] = buf[pos++]
          if (this.headerHave < FRAME_HEADER) return
          this.headerHave = 0
          this.want = readU32(this.header, 0)
        }
        if (this.want > this.maxFrameLength) {
          // The first header read as '{"' is the start of a JSON line: say which format the peer likely speaks.
          const hint = this.stats.frames === 0 && this.want >>> 16 === 0x7b22 ? `: the stream starts with '{"', as a JSON line does; does the peer speak ndjson (wire 1)?` : ''
          this.stats.frames++
          this.reject(`frame longer than ${this.maxFrameLength} bytes${hint}`, `a frame of ${this.want} bytes`)
          this.skip = this.want
          this.want = -1
        } else if (this.want === 0) {
          // An empty frame is whole as soon as its header is.
          this.stats.frames++
          this.want = -1
        }
        continue
      }
      const need = this.want - this.acc.length
      if (this.acc.length === 0 && len - pos >= need) {
        // The whole body is in this chunk: read it in place.
        this.body(buf, pos, pos + need)
        pos += need
      } else if (len - pos >= need) {
        this.acc.append(buf, pos, pos + need)
        pos += need
        const body = Buffer.from(this.acc.view()) // its own copy: what decodes from it may keep views
        this.acc.clear()
        this.body(body, 0, body.length)
      } else {
        // Copied, so that a short tail does not pin a large chunk in memory.
        this.acc.append(buf, pos, len)
        return
      }
    }
  }

  /** The input ended: an unfinished frame is refused. */
  end(): void {
    if (this.want >= 0 || this.headerHave > 0) {
      this.stats.frames++
      this.reject('the input ended inside a frame', '')
    }
    this.acc.clear()
    this.want = -1
    this.headerHave = 0
  }

  private body(buf: Buffer, start: number, end: number): void {
    this.stats.frames++
    this.want = -1
    this.sample = hexSample(buf, start, end)
    this.values.readAll(buf, start, end, this.onValue, this.onError)
  }

  private value(v: unknown): void {
    if (typeof v === 'string') {
      // A message as JSON text, held to the nesting limit of the frame's MessagePack values.
      const r = parseLine(v, MAX_DEPTH)
      if (r === null) return this.reject('expected an object, got a blank string', v)
      if ('reason' in r) return this.reject(r.reason, v)
      v = r.value
    }
    const got = notObject(v)
    if (got !== null) return this.reject(`expected an object, got ${got}`, this.sample)
    this.stats.lines++
    this.stats.objects++
    this.onObject(v as object)
  }

  private reject(reason: string, sample: string): void {
    if (sample.length > SAMPLE_LENGTH) sample = sample.slice(0, SAMPLE_LENGTH)
    this.stats.lines++
    this.stats.invalid++
    this.onInvalid(reason, sample)
  }
}
