/**
 * Writing messages as MessagePack values into wire v2 frames, straight
 * into one growing buffer per flush: records with their chain link are
 * written field by field (no object built for the link), other messages
 * through the generic path, values of the JSON data model only.
 *
 * Invariants: the output is standard MessagePack that the strict reader
 * (msgpack.ts) reads back to exactly what JSON.parse(JSON.stringify(msg))
 * gives; a message with a string UTF-8 cannot carry (a lone surrogate) is
 * written as a MessagePack string of its JSON text instead; integers are
 * written in their smallest form up to 32 bits, other numbers as float64
 * (exact for every safe integer); -0 is written as 0, as JSON does.
 */
import { Buffer } from 'buffer'
import type { Rec } from '../core/types.ts'

/** Thrown inside a write when a string cannot be carried as UTF-8; the message then goes as JSON text. */
class IllFormed {}
const ILL = new IllFormed()

const wellFormed: (s: string) => boolean =
  (String.prototype as { isWellFormed?: () => boolean }).isWellFormed !== undefined
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

/** UTF-8 into a Uint8Array where the Buffer has no `write` (the browser build's small Buffer). */
const utf8 = typeof TextEncoder === 'function' ? new TextEncoder() : null

export class MsgpackWriter {
  buf: Buffer
  /** A view of `buf` for multi-byte numbers (plain typed-array access, so any Buffer will do). */
  private view: DataView
  pos = 0

  constructor(size = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(size)
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    next.set(this.buf.subarray(0, this.pos), 0)
    this.buf = next
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength)
  }

  /** Hand over what was written (`[0, pos)`) and start a fresh buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos)
    this.buf = Buffer.allocUnsafe(Math.max(16 * 1024, Math.min(this.buf.length, 1 << 20)))
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
    this.pos = 0
    return out
  }

  /** One message (any plain JSON object). */
  message(msg: object): void {
    const start = this.pos
    try {
      this.value(msg, 0)
    } catch (err) {
      if (err !== ILL) throw err
      this.pos = start
      this.string(JSON.stringify(msg))
    }
  }

  /** A record with its chain link: `{key, value, source_id, version, [gen], [deleted], [sig], prev}`. */
  linked(rec: Rec, prev: number): void {
    const start = this.pos
    try {
      const gen = rec.gen
      const sig = rec.sig
      const deleted = rec.deleted === true
      this.ensure(1)
      this.buf[this.pos++] = 0x85 + (gen !== undefined ? 1 : 0) + (deleted ? 1 : 0) + (sig !== undefined ? 1 : 0)
      this.raw(K_KEY)
      this.string(rec.key)
      this.raw(K_VALUE)
      this.value(rec.value, 1)
      this.raw(K_SOURCE)
      this.string(rec.source_id)
      this.raw(K_VERSION)
      this.number(rec.version)
      if (gen !== undefined) {
        this.raw(K_GEN)
        this.string(gen)
      }
      if (deleted) {
        this.raw(K_DELETED)
        this.ensure(1)
        this.buf[this.pos++] = 0xc3
      }
      if (sig !== undefined) {
        this.raw(K_SIG)
        this.string(sig)
      }
      this.raw(K_PREV)
      this.number(prev)
    } catch (err) {
      if (err !== ILL) throw err
      this.pos = start
      const json = JSON.stringify(rec)
      this.string(json.slice(0, -1) + ',"prev":' + prev + '}')
    }
  }

  private raw(bytes: Uint8Array): void {
    this.ensure(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  private value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        return this.string(v)
      case 'number':
        return this.number(v)
      case 'boolean':
        this.ensure(1)
        this.buf[this.pos++] = v ? 0xc3 : 0xc2
        return
      case 'object':
        if (v === null) {
          this.ensure(1)
          this.buf[this.pos++] = 0xc0
          return
        }
        if (Array.isArray(v)) return this.array(v, depth)
        return this.map(v as Record<string, unknown>, depth)
      default:
        // What JSON.stringify leaves out of an object (undefined, functions) is
        // never in a validated value; write null rather than fail.
        this.ensure(1)
        this.buf[this.pos++] = 0xc0
    }
  }

  private array(a: unknown[], depth: number): void {
    this.header(a.length, 0x90, 0xdc)
    for (let i = 0; i < a.length; i++) {
      const x = a[i]
      // As in JSON: an array slot that JSON cannot hold is null.
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') {
        this.ensure(1)
        this.buf[this.pos++] = 0xc0
      } else this.value(x, depth + 1)
    }
  }

  private map(o: Record<string, unknown>, depth: number): void {
    // Own enumerable keys whose values JSON keeps (undefined and functions are dropped, as by JSON).
    let n = 0
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue
      const x = o[k]
      if (x !== undefined && typeof x !== 'function' && typeof x !== 'symbol') n++
    }
    this.header(n, 0x80, 0xde)
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue
      const x = o[k]
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue
      this.string(k)
      this.value(x, depth + 1)
    }
  }

  /** An array or map header: fix form below 16, else 16- or 32-bit (`big16`, `big16 + 1`). */
  private header(n: number, fix: number, big16: number): void {
    this.ensure(5)
    const b = this.buf
    if (n < 16) b[this.pos++] = fix + n
    else if (n < 0x10000) {
      b[this.pos] = big16
      this.view.setUint16(this.pos + 1, n)
      this.pos += 3
    } else {
      b[this.pos] = big16 + 1
      this.view.setUint32(this.pos + 1, n)
      this.pos += 5
    }
  }

  private number(x: number): void {
    this.ensure(9)
    const b = this.buf
    if (Number.isInteger(x) && x >= -0x8000_0000 && x <= 0xffff_ffff) {
      if (x >= 0) {
        if (x < 0x80) b[this.pos++] = x
        else if (x < 0x100) {
          b[this.pos++] = 0xcc
          b[this.pos++] = x
        } else if (x < 0x10000) {
          b[this.pos] = 0xcd
          this.view.setUint16(this.pos + 1, x)
          this.pos += 3
        } else {
          b[this.pos] = 0xce
          this.view.setUint32(this.pos + 1, x)
          this.pos += 5
        }
      } else if (x >= -32) b[this.pos++] = x & 0xff
      else if (x >= -0x80) {
        b[this.pos++] = 0xd0
        b[this.pos++] = x & 0xff
      } else if (x >= -0x8000) {
        b[this.pos] = 0xd1
        this.view.setInt16(this.pos + 1, x)
        this.pos += 3
      } else {
        b[this.pos] = 0xd2
        this.view.setInt32(this.pos + 1, x)
        this.pos += 5
      }
      return
    }
    b[this.pos] = 0xcb
    this.view.setFloat64(this.pos + 1, x)
    this.pos += 9
  }

  private string(s: string): void {
    const n = s.length
    if (n < 32) {
      // Short ASCII (keys, ids, small values) byte by byte, no encoder call.
      this.ensure(1 + n)
      const b = this.buf
      const at = this.pos
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        b[at + 1 + i] = c
      }
      if (i === n) {
        b[at] = 0xa0 + n
        this.pos = at + 1 + n
        return
      }
    }
    if (!wellFormed(s)) throw ILL
    const bytes = Buffer.byteLength(s, 'utf8')
    this.ensure(5 + bytes)
    const b = this.buf
    if (bytes < 32) b[this.pos++] = 0xa0 + bytes
    else if (bytes < 0x100) {
      b[this.pos++] = 0xd9
      b[this.pos++] = bytes
    } else if (bytes < 0x10000) {
      b[this.pos] = 0xda
      this.view.setUint16(this.pos + 1, bytes)
      this.pos += 3
    } else {
      b[this.pos] = 0xdb
      this.view.setUint32(this.pos + 1, bytes)
      this.pos += 5
    }
    if (typeof b.write === 'function') b.write(s, this.pos, bytes, 'utf8')
    else utf8!.encodeInto(s, b.subarray(this.pos, this.pos + bytes))
    this.pos += bytes
  }
}

/** A field name as a fixstr. */
const fieldName = (k: string) => Uint8Array.from([0xa0 + k.length, ...Array.from(k, (c) => c.charCodeAt(0))])
const K_KEY = fieldName('key')
const K_VALUE = fieldName('value')
const K_SOURCE = fieldName('source_id')
const K_VERSION = fieldName('version')
const K_GEN = fieldName('gen')
const K_DELETED = fieldName('deleted')
const K_SIG = fieldName('sig')
const K_PREV = fieldName('prev')
