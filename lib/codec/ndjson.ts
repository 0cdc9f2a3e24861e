import { Buffer } from 'buffer'
import { Transform } from 'readable-stream'

/**
 * Newline-delimited JSON: one JSON object per line, lines ended by `\n`.
 *
 * The decoder faces untrusted bytes. Whatever arrives, it never throws, never
 * emits 'error' and never ends its output early: a line it cannot use is
 * dropped with an 'invalid' event and decoding resumes at the next line. It
 * holds at most `maxLineLength` bytes of an unfinished line, looks at every
 * input byte a bounded number of times (linear time), and decodes UTF-8 only
 * on whole lines, so characters split across chunks are safe.
 */

export interface DecoderOptions {
  /** Longest line accepted, in bytes before its `\n` (a trailing `\r` counts). Default 1 MiB. */
  maxLineLength?: number
  /** Called for every dropped line, just before the 'invalid' event. */
  onInvalid?: (reason: string, sample: string) => void
}

export interface DecoderStats {
  /** Non-blank lines seen; always `objects + invalid`. */
  lines: number
  objects: number
  /** Lines dropped. */
  invalid: number
  /** Input bytes received. */
  bytes: number
}

export interface EncoderOptions {
  /** Called for every value refused, just before the 'invalid' event. */
  onInvalid?: (reason: string, value: unknown) => void
}

export interface EncoderStats {
  objects: number
  /** Output bytes, newlines included. */
  bytes: number
}

export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024

/** Longest sample passed with an 'invalid' event, in UTF-16 code units. */
export const SAMPLE_LENGTH = 200
const SAMPLE_BYTES = SAMPLE_LENGTH * 4
const NL = 0x0a

type Callback = (error?: Error | null) => void

/** What `value` is when it is not a non-array object, else null. */
function notObject(value: unknown): string | null {
  if (typeof value !== 'object') return typeof value
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : null
}

/**
 * One line of text (without its `\n`): null for a blank line, the object it
 * holds, or why it is refused. Never throws. An own `__proto__` key from
 * JSON.parse stays an inert data property.
 */
export function parseLine(text: string): { value: object } | { reason: string } | null {
  if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
  // The common case, a line that starts an object, skips the blank test.
  if (text.charCodeAt(0) !== 123 && text.trim() === '') return null
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
  /** The unfinished line, as copies; their total length is `held` <= maxLineLength. */
  private pieces: Buffer[] = []
  private held = 0
  /** Set while discarding the rest of an over-long line (already reported) up to its `\n`. */
  private skipping = false

  constructor(
    readonly maxLineLength: number,
    private readonly onObject: (value: object) => void,
    private readonly onInvalid: (reason: string, sample: string) => void,
  ) {
    if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 1) throw new RangeError('maxLineLength must be a positive integer')
  }

  /**
   * Feed the next bytes. How the input is cut into chunks never changes
   * what is decoded: every line is parsed on its own (`parseLine`) and its
   * length is counted in bytes, whether it arrived whole or in pieces.
   */
  feed(buf: Buffer): void {
    this.stats.bytes += buf.length
    let start = 0
    let nl = buf.indexOf(NL)
    if (nl !== -1 && (this.held > 0 || this.skipping)) {
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

  /** The input ended: a last line without its `\n` still counts. */
  end(): void {
    if (this.held > 0) this.line(this.takeHeld())
  }

  /** Keep `buf[start, end)`, the start of a line whose end has not arrived. */
  private hold(buf: Buffer, start: number, end: number): void {
    if (this.skipping) return
    if (this.held + end - start > this.maxLineLength) {
      this.tooLong(buf, start, end)
      this.skipping = true
      return
    }
    // A copy, so that a short tail does not pin a large chunk in memory.
    this.pieces.push(Buffer.from(buf.subarray(start, end)))
    this.held += end - start
  }

  /** `buf[start, end)` ends the current line (the `\n` is at `end`). */
  private endLine(buf: Buffer, start: number, end: number): void {
    if (this.skipping) {
      this.skipping = false
      return
    }
    if (this.held + end - start > this.maxLineLength) return this.tooLong(buf, start, end)
    if (this.held === 0) {
      if (end > start) this.line(buf.toString('utf8', start, end))
      return
    }
    this.pieces.push(buf.subarray(start, end))
    this.line(this.takeHeld())
  }

  /** The held pieces (and any piece pushed after them) as one string; clears them. */
  private takeHeld(): string {
    const text = Buffer.concat(this.pieces).toString('utf8')
    this.pieces = []
    this.held = 0
    return text
  }

  private tooLong(buf: Buffer, start: number, end: number): void {
    const parts: Buffer[] = []
    let n = 0
    for (let i = 0; i < this.pieces.length && n < SAMPLE_BYTES; i++) {
      parts.push(this.pieces[i])
      n += this.pieces[i].length
    }
    if (n < SAMPLE_BYTES) parts.push(buf.subarray(start, Math.min(end, start + SAMPLE_BYTES - n)))
    const sample = Buffer.concat(parts, Math.min(SAMPLE_BYTES, n + end - start)).toString('utf8')
    this.pieces = []
    this.held = 0
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

/** Bytes (or strings) in, one plain object out per line (a Transform over `LineReader`). */
export class NdjsonDecoder extends Transform {
  private readonly reader: LineReader

  constructor(options: DecoderOptions = {}) {
    super({ readableObjectMode: true })
    this.reader = new LineReader(
      options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
      (value) => this.push(value),
      (reason, sample) => {
        options.onInvalid?.(reason, sample)
        this.emit('invalid', reason, sample)
      },
    )
  }

  get maxLineLength(): number {
    return this.reader.maxLineLength
  }

  get stats(): DecoderStats {
    return { ...this.reader.stats }
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: Callback): void {
    this.reader.feed(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk)
    callback()
  }

  override _flush(callback: Callback): void {
    this.reader.end()
    callback()
  }
}

/**
 * Objects in, `JSON.stringify(object) + '\n'` bytes out. A value that is not a
 * non-array object, or whose JSON text is not an object (cycle, BigInt, a
 * throwing or non-object toJSON), is skipped with an 'invalid' event and never
 * an 'error': every line written is one the decoder accepts (length aside).
 */
export class NdjsonEncoder extends Transform {
  private readonly onInvalid: EncoderOptions['onInvalid']
  private readonly counts: EncoderStats = { objects: 0, bytes: 0 }
  constructor(options: EncoderOptions = {}) {
    super({ writableObjectMode: true })
    this.onInvalid = options.onInvalid
  }

  get stats(): EncoderStats {
    return { ...this.counts }
  }

  override _transform(value: unknown, _encoding: BufferEncoding, callback: Callback): void {
    const line = this.encode(value)
    if (line !== null) this.out(line)
    callback()
  }

  private out(text: string): void {
    const buf = Buffer.from(text, 'utf8')
    this.counts.bytes += buf.length
    this.push(buf)
  }

  private encode(value: unknown): string | null {
    const got = notObject(value)
    if (got !== null) return this.refuse(`expected an object, got ${got}`, value)
    let json: string | undefined
    try {
      json = JSON.stringify(value)
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n', 1)[0] : String(err)
      return this.refuse(`cannot encode as JSON: ${message}`, value)
    }
    if (typeof json !== 'string' || json.charCodeAt(0) !== 123) {
      return this.refuse('cannot encode as JSON: toJSON did not give an object', value)
    }
    this.counts.objects++
    return json + '\n'
  }

  private refuse(reason: string, value: unknown): null {
    this.onInvalid?.(reason, value)
    this.emit('invalid', reason, value)
    return null
  }
}

export interface NdjsonDecoder {
  on(event: 'invalid', listener: (reason: string, sample: string) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'invalid', listener: (reason: string, sample: string) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

export interface NdjsonEncoder {
  on(event: 'invalid', listener: (reason: string, value: unknown) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'invalid', listener: (reason: string, value: unknown) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

export function createDecoder(options?: DecoderOptions): NdjsonDecoder {
  return new NdjsonDecoder(options)
}

export function createEncoder(options?: EncoderOptions): NdjsonEncoder {
  return new NdjsonEncoder(options)
}
