/**
 * A strict MessagePack reader for untrusted bytes: exactly the JSON data
 * model and nothing else. Accepted: nil, booleans, integers (64-bit ones
 * only within the safe range), floats, UTF-8 strings, arrays, and maps whose
 * keys are strings. Refused, with a reason: bin, every extension (no
 * dates, records, typed arrays, regular expressions or code generation from
 * peer data), non-string map keys, nesting past `maxDepth`, a length
 * running past the end of the input.
 *
 * Invariants: never throws out of `readAll`; a declared length is checked
 * against the bytes left before anything is allocated for it, so memory is
 * bounded by the input's size; each byte is read once; a map key
 * `__proto__` becomes an own data property, as with JSON.parse, so the same
 * object arrives whichever codec carried it.
 */
import type { Buffer } from 'buffer'

/** Deepest nesting read (a message's own object counts as one level). */
export const MAX_DEPTH = 100

class Refused {
  constructor(readonly reason: string) {}
}

export class MsgpackReader {
  private buf: Buffer = null as unknown as Buffer
  private view: DataView = null as unknown as DataView
  private pos = 0
  private end = 0

  constructor(private readonly maxDepth = MAX_DEPTH) {}

  /**
   * Read the values in `buf[start, end)` one after another: `onValue` for
   * each whole one; at the first that cannot be read, `onError` with why
   * and the rest of the range is dropped.
   */
  readAll(buf: Buffer, start: number, end: number, onValue: (v: unknown) => void, onError: (reason: string) => void): void {
    this.buf = buf
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.pos = start
    this.end = end
    while (this.pos < end) {
      let v: unknown
      try {
        v = this.value(0)
      } catch (err) {
        onError(err instanceof Refused ? err.reason : err instanceof RangeError ? 'nested too deeply' : 'malformed')
        break
      }
      onValue(v)
    }
    this.buf = null as unknown as Buffer
    this.view = null as unknown as DataView
  }

  private need(n: number): void {
    if (n > this.end - this.pos) throw new Refused('truncated value')
  }

  private value(depth: number): unknown {
    if (this.pos >= this.end) throw new Refused('truncated value')
    const b = this.buf[this.pos++]
    if (b < 0x80) return b
    if (b >= 0xe0) return b - 0x100
    if (b >= 0xa0 && b < 0xc0) return this.str(b & 0x1f)
    if (b < 0x90) return this.map(b & 0x0f, depth)
    if (b < 0xa0) return this.array(b & 0x0f, depth)
    const v = this.view
    switch (b) {
      case 0xc0:
        return null
      case 0xc2:
        return false
      case 0xc3:
        return true
      case 0xca:
        this.need(4)
        this.pos += 4
        return v.getFloat32(this.pos - 4)
      case 0xcb:
        this.need(8)
        this.pos += 8
        return v.getFloat64(this.pos - 8)
      case 0xcc:
        this.need(1)
        return this.buf[this.pos++]
      case 0xcd:
        this.need(2)
        this.pos += 2
        return v.getUint16(this.pos - 2)
      case 0xce:
        this.need(4)
        this.pos += 4
        return v.getUint32(this.pos - 4)
      case 0xcf:
      case 0xd3: {
        this.need(8)
        const hi = b === 0xcf ? v.getUint32(this.pos) : v.getInt32(this.pos)
        const n = hi * 0x1_0000_0000 + v.getUint32(this.pos + 4)
        this.pos += 8
        if (!Number.isSafeInteger(n)) throw new Refused('64-bit integer beyond the safe range')
        return n
      }
      case 0xd0:
        this.need(1)
        this.pos += 1
        return v.getInt8(this.pos - 1)
      case 0xd1:
        this.need(2)
        this.pos += 2
        return v.getInt16(this.pos - 2)
      case 0xd2:
        this.need(4)
        this.pos += 4
        return v.getInt32(this.pos - 4)
      case 0xd9:
        this.need(1)
        return this.str(this.buf[this.pos++])
      case 0xda:
        this.need(2)
        this.pos += 2
        return this.str(v.getUint16(this.pos - 2))
      case 0xdb:
        this.need(4)
        this.pos += 4
        return this.str(v.getUint32(this.pos - 4))
      case 0xdc:
        this.need(2)
        this.pos += 2
        return this.array(v.getUint16(this.pos - 2), depth)
      case 0xdd:
        this.need(4)
        this.pos += 4
        return this.array(v.getUint32(this.pos - 4), depth)
      case 0xde:
        this.need(2)
        this.pos += 2
        return this.map(v.getUint16(this.pos - 2), depth)
      case 0xdf:
        this.need(4)
        this.pos += 4
        return this.map(v.getUint32(this.pos - 4), depth)
      default:
        // 0xc1 (never used), bin 0xc4-0xc6, ext 0xc7-0xc9 and 0xd4-0xd8.
        throw new Refused(b === 0xc1 ? 'byte 0xc1 is not MessagePack' : b <= 0xc6 ? 'binary data is not a JSON value' : 'MessagePack extensions are not accepted')
    }
  }

  private str(n: number): string {
    this.need(n)
    const buf = this.buf
    const start = this.pos
    this.pos += n
    if (n < 24) {
      // Short ASCII strings (keys, ids) without a decoder call.
      let s = ''
      for (let i = start; i < start + n; i++) {
        const c = buf[i]
        if (c >= 0x80) return buf.toString('utf8', start, start + n)
        s += String.fromCharCode(c)
      }
      return s
    }
    return buf.toString('utf8', start, start + n)
  }

  private array(n: number, depth: number): unknown[] {
    // Every element takes at least one byte: a longer claim is a lie, refused before allocating.
    this.need(n)
    if (depth >= this.maxDepth) throw new Refused('nested too deeply')
    const a = new Array(n)
    for (let i = 0; i < n; i++) a[i] = this.value(depth + 1)
    return a
  }

  private map(n: number, depth: number): Record<string, unknown> {
    this.need(2 * n)
    if (depth >= this.maxDepth) throw new Refused('nested too deeply')
    const o: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1)
      if (typeof k !== 'string') throw new Refused('map key is not a string')
      const v = this.value(depth + 1)
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true })
      else o[k] = v
    }
    return o
  }
}
