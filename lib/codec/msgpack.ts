/**
 * A strict MessagePack reader for untrusted bytes: exactly the JSON data
 * model and nothing else. Accepted: nil, booleans, integers (64-bit ones
 * only within the safe range), finite floats, UTF-8 strings, arrays, and
 * maps whose keys are strings. Refused, with a reason: NaN and the
 * infinities, bin, every extension (no
 * dates, records, typed arrays, regular expressions or code generation from
 * peer data), non-string map keys, nesting past `maxDepth`, a length
 * running past the end of the input.
 *
 * Invariants: never throws out of `readAll`; a declared length is checked
 * against the bytes left before anything is allocated for it, so memory is
 * bounded by the input's size: a container's elements are budgeted by the
 * bytes left less those its enclosing containers still need (an element
 * takes a byte at least, a map entry two), so nested containers together
 * never claim more slots than there are bytes; each byte is read once; a map key
 * `__proto__` becomes an own data property, as with JSON.parse, so the same
 * object arrives whichever codec carried it.
 */
import type { Buffer } from 'buffer'
import { MAX_DEPTH } from './json-depth.ts'

/** Deepest nesting read (a message's own object counts as one level): the one limit of peer input (json-depth.ts). */
export { MAX_DEPTH }

/** Slots of the map-key cache (a power of two). */
const KEY_CACHE = 512

class Refused {
  constructor(readonly reason: string) {}
}

/** A float JSON can carry: NaN and the infinities are not (no line could hold them). */
function finite(x: number): number {
  if (x - x !== 0) throw new Refused('a number that is not finite is not a JSON value')
  return x
}

export class MsgpackReader {
  private buf: Buffer = null as unknown as Buffer
  private view: DataView = null as unknown as DataView
  private pos = 0
  private end = 0
  /** Bytes the enclosing containers still need after the value being read (one an element, two a map entry). */
  private owed = 0
  /**
   * Recent short ASCII map keys by a hash of their bytes; a slot is
   * replaced on a miss. Strings only, compared with the input byte by byte:
   * never a view of an input buffer, which would keep a whole frame alive
   * and change when its owner reuses it.
   */
  private readonly keys: (string | undefined)[] = new Array(KEY_CACHE)

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
      this.owed = 0
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
        return finite(v.getFloat32(this.pos - 4))
      case 0xcb:
        this.need(8)
        this.pos += 8
        return finite(v.getFloat64(this.pos - 8))
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
    const start = this.pos
    this.pos += n
    return n <= 16 ? this.short(start, n) : this.buf.toString('utf8', start, start + n)
  }

  /** A short string: ASCII without a decoder call (one fromCharCode per length), else UTF-8. */
  private short(at: number, n: number): string {
    const b = this.buf
    let or = 0
    for (let i = at; i < at + n; i++) or |= b[i]
    if (or >= 0x80) return b.toString('utf8', at, at + n)
    const c = String.fromCharCode
    switch (n) {
      case 0:
        return ''
      case 1:
        return c(b[at])
      case 2:
        return c(b[at], b[at + 1])
      case 3:
        return c(b[at], b[at + 1], b[at + 2])
      case 4:
        return c(b[at], b[at + 1], b[at + 2], b[at + 3])
      case 5:
        return c(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4])
      case 6:
        return c(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5])
      case 7:
        return c(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6])
      case 8:
        return c(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7])
      default:
        return c(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7]) + this.short(at + 8, n - 8)
    }
  }

  /**
   * A map key: the keys of messages repeat (`key`, `value`, `version`...),
   * so short ASCII keys come from a small cache, checked byte by byte.
   */
  private key(depth: number): unknown {
    const b = this.buf
    const t = b[this.pos]
    if (t === undefined || t < 0xa0 || t > 0xaf || this.end - this.pos < 1 + (t & 0x1f)) return this.value(depth)
    const n = t & 0x1f
    const at = this.pos + 1
    let h = n
    for (let i = at; i < at + n; i++) h = (h * 31 + b[i]) | 0
    const slot = h & (KEY_CACHE - 1)
    const hit = this.keys[slot]
    if (hit !== undefined && hit.length === n) {
      let same = true
      for (let i = 0; i < n; i++) {
        if (hit.charCodeAt(i) !== b[at + i]) {
          same = false
          break
        }
      }
      if (same) {
        this.pos = at + n
        return hit
      }
    }
    this.pos = at
    const text = this.short(at, n)
    this.pos = at + n
    // An ASCII key (one UTF-16 unit per byte) is cached.
    if (text.length === n) this.keys[slot] = text
    return text
  }

  private array(n: number, depth: number): unknown[] {
    // Every element takes at least one byte, after what the enclosing containers still need: a longer claim is a lie, refused before allocating.
    const left = this.end - this.pos - this.owed
    // A reason without the numbers: reasons are counted by their text (gossip.stats.invalidByReason), so a peer must not be able to make new ones.
    if (n > left) throw new Refused('truncated value: an array claims more elements than the bytes left')
    if (depth >= this.maxDepth) throw new Refused('nested too deeply')
    const outer = this.owed
    const a = new Array(n)
    for (let i = 0; i < n; i++) {
      this.owed = outer + (n - 1 - i)
      a[i] = this.value(depth + 1)
    }
    this.owed = outer
    return a
  }

  private map(n: number, depth: number): Record<string, unknown> {
    const left = this.end - this.pos - this.owed
    if (2 * n > left) throw new Refused('truncated value: a map claims more entries than the bytes left')
    if (depth >= this.maxDepth) throw new Refused('nested too deeply')
    const outer = this.owed
    const o: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      this.owed = outer + 2 * (n - 1 - i) + 1
      const k = this.key(depth + 1)
      if (typeof k !== 'string') throw new Refused('map key is not a string')
      this.owed = outer + 2 * (n - 1 - i)
      const v = this.value(depth + 1)
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true })
      else o[k] = v
    }
    this.owed = outer
    return o
  }
}
