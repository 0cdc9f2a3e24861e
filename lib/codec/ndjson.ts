import { Buffer } from 'buffer'
import { Transform } from 'readable-stream'
import { DEFAULT_MAX_LINE_LENGTH, LineReader, notObject, type DecoderStats } from './line-reader.ts'

export { DEFAULT_MAX_LINE_LENGTH, LineReader, parseLine, SAMPLE_LENGTH, type DecoderStats } from './line-reader.ts'

/**
 * Newline-delimited JSON as object-mode Transforms: one JSON object per
 * line, lines ended by `\n`, with the line reader's rules (line-reader.ts).
 * The decoder never throws, never emits 'error' and never ends its output
 * early: a line it cannot use is dropped with an 'invalid' event.
 */

type Callback = (error?: Error | null) => void

export interface DecoderOptions {
  /** Longest line accepted, in bytes before its `\n` (a trailing `\r` counts). Default 1 MiB. */
  maxLineLength?: number
  /** Called for every dropped line, just before the 'invalid' event. */
  onInvalid?: (reason: string, sample: string) => void
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
