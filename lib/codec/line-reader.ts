/**
 * Splitting untrusted bytes into lines, and lines into objects: the one
 * framing definition of newline-delimited JSON used by the codec's
 * transforms and the wire streams.
 *
 * Whatever arrives, nothing here throws: a line that cannot be used is
 * refused with a reason and decoding resumes at the next line. At most
 * `maxLineLength` bytes of an unfinished line are held, every input byte is
 * looked at a bounded number of times (linear time), UTF-8 is decoded only
 * on whole lines (characters split across chunks are safe), and how the
 * input is cut into chunks never changes what is decoded.
 */

import { Buffer } from 'buffer'
import { GrowBuffer } from './grow-buffer.ts'
import { nestedDeeperThan } from './json-depth.ts'

export interface DecoderStats {
  /** Non-blank lines seen; always `objects + invalid`. */
  lines: number
  objects: number
  /** Lines dropped. */
  invalid: number
  /** Input bytes received. */
  bytes: number
}

export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024

/** Longest sample passed with an 'invalid' event, in UTF-16 code units. */
export const SAMPLE_LENGTH = 200
const SAMPLE_BYTES = SAMPLE_LENGTH * 4
const NL = 0x0a

/** What `value` is when it is not a non-array object, else null. */
export function notObject(value: unknown): string | null {
  if (typeof value !== 'object') return typeof value
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : null
}

/**
 * One line of text (without its `\n`): null for a blank line, the object it
 * holds, or why it is refused. Never throws. An own `__proto__` key from
 * JSON.parse stays an inert data property. Text nesting arrays and objects
 * more than `maxDepth` levels deep is refused before it is parsed
 * (json-depth.ts); the default sets no limit of its own.
 */
export function parseLine(text: string, maxDepth = Infinity): { value: object } | { reason: string } | null {
  if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
  // The common case, a line that starts an object, skips the blank test.
  if (text.charCodeAt(0) !== 123 && text.trim() === '') return null
  if (maxDepth !== Infinity && nestedDeeperThan(text, maxDepth)) return { reason: `malformed JSON: nested deeper than ${maxDepth} levels` }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { reason: err instanceof RangeError ? 'malformed JSON: too deeply nested' : 'malformed JSON' }
  }
  const got = notObject(value)
  if (got !== null) return { reason: `expected an object, got ${got}` }
  return { value: value as object }
}

/**
 * Splits bytes into lines and lines into objects, with the decoder's rules:
 * at most `maxLineLength` bytes of an unfinished line are held; an over-long
 * line is reported once and skipped to its `\n`; each byte is looked at a
 * bounded number of times; UTF-8 is decoded only on whole lines. Calls
 * `onObject` for each object and `onInvalid` for each refused line.
 */
export class LineReader {
  readonly stats: DecoderStats = { lines: 0, objects: 0, invalid: 0, bytes: 0 }
  /** The unfinished line; at most maxLineLength bytes. */
  private readonly acc: GrowBuffer
  /** Set while discarding the rest of an over-long line (already reported) up to its `\n`. */
  private skipping = false
  /** A byte arrived: the start of the stream was looked at. */
  private started = false

  constructor(
    readonly maxLineLength: number,
    private readonly onObject: (value: object) => void,
    private readonly onInvalid: (reason: string, sample: string) => void,
  ) {
    if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 1) throw new RangeError('maxLineLength must be a positive integer')
    this.acc = new GrowBuffer(maxLineLength)
  }

  /**
   * Feed the next bytes. How the input is cut into chunks never changes
   * what is decoded: every line is parsed on its own (`parseLine`) and its
   * length is counted in bytes, whether it arrived whole or in pieces.
   */
  feed(buf: Buffer): void {
    this.stats.bytes += buf.length
    if (!this.started && buf.length > 0) this.start(buf)
    let start = 0
    let nl = buf.indexOf(NL)
    if (nl !== -1 && (this.acc.length > 0 || this.skipping)) {
      // Finish the line begun in an earlier chunk first.
      this.endLine(buf, 0, nl)
      start = nl + 1
      nl = buf.indexOf(NL, start)
    }
    if (nl !== -1) {
      // The whole lines of this chunk: one UTF-8 decode, then line by line.
      // A newline byte is never part of a multi-byte character, so the
      // decoded text has its newlines exactly where the bytes do.
      const last = buf.lastIndexOf(NL)
      const text = buf.toString('utf8', start, last)
      let from = 0
      for (; nl !== -1 && nl <= last; nl = buf.indexOf(NL, start)) {
        const to = nl === last ? text.length : text.indexOf('\n', from)
        if (nl - start > this.maxLineLength) this.tooLong(buf, start, nl)
        else if (nl > start) this.line(text.slice(from, to))
        from = to + 1
        start = nl + 1
      }
    }
    if (start < buf.length) this.hold(buf, start, buf.length)
  }

  /**
   * The first bytes of the stream. A 0 byte starts no JSON text but starts
   * every frame header of wire 2 (a body under 16 MiB): that first line is
   * refused saying the peer likely speaks frames, and skipped to its `\n`.
   */
  private start(buf: Buffer): void {
    this.started = true
    if (buf[0] !== 0) return
    this.stats.lines++
    this.reject('malformed JSON: the stream starts with a 0 byte, as a frame header does; does the peer speak frames (wire 2)?', buf.toString('hex', 0, 8))
    this.skipping = true
  }

  /** The input ended: a last line without its `\n` still counts. */
  end(): void {
    if (this.acc.length > 0) this.line(this.takeHeld())
  }

  /** Keep `buf[start, end)`, the start of a line whose end has not arrived. */
  private hold(buf: Buffer, start: number, end: number): void {
    if (this.skipping) return
    if (this.acc.length + end - start > this.maxLineLength) {
      this.tooLong(buf, start, end)
      this.skipping = true
      return
    }
    // Copied, so that a short tail does not pin a large chunk in memory.
    this.acc.append(buf, start, end)
  }

  /** `buf[start, end)` ends the current line (the `\n` is at `end`). */
  private endLine(buf: Buffer, start: number, end: number): void {
    if (this.skipping) {
      this.skipping = false
      return
    }
    if (this.acc.length + end - start > this.maxLineLength) return this.tooLong(buf, start, end)
    if (this.acc.length === 0) {
      if (end > start) this.line(buf.toString('utf8', start, end))
      return
    }
    this.acc.append(buf, start, end)
    this.line(this.takeHeld())
  }

  /** The held line as one string; clears it. */
  private takeHeld(): string {
    const text = this.acc.view().toString('utf8')
    this.acc.clear()
    return text
  }

  private tooLong(buf: Buffer, start: number, end: number): void {
    const held = this.acc.view()
    const n = Math.min(held.length, SAMPLE_BYTES)
    const parts = [held.subarray(0, n)]
    if (n < SAMPLE_BYTES) parts.push(buf.subarray(start, Math.min(end, start + SAMPLE_BYTES - n)))
    const sample = Buffer.concat(parts).toString('utf8')
    this.acc.clear()
    this.stats.lines++
    this.reject(`line longer than ${this.maxLineLength} bytes`, sample)
  }

  /** One complete line of text, without its `\n`. */
  private line(text: string): void {
    const r = parseLine(text)
    if (r === null) return
    this.stats.lines++
    if ('reason' in r) return this.reject(r.reason, text)
    this.stats.objects++
    this.onObject(r.value)
  }

  private reject(reason: string, sample: string): void {
    if (sample.length > SAMPLE_LENGTH) sample = sample.slice(0, SAMPLE_LENGTH)
    this.stats.invalid++
    this.onInvalid(reason, sample)
  }
}
