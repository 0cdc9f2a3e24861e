/**
 * The size of a value on the wire: the larger of its two encodings, its
 * JSON text in UTF-8 (wire 1, `JSON.stringify`) and its MessagePack (wire
 * 2, as codec/msgpack-writer.ts writes it). `limits.maxValueBytes` bounds
 * this size, so a value taken on one wire format never makes a line or
 * frame the other cannot carry: `0.5` is 3 bytes as JSON and 9 as
 * MessagePack, `"\u0001"` 8 as JSON and 2 as MessagePack.
 *
 * Invariants: exact, for every JSON value (`valueBytes` equals the
 * larger encoding's length, byte for byte); pure (no Buffer, no encoder);
 * `sizeProblem` reads no character of a value whose size bound, from
 * lengths alone, is within the limit: the common small value costs a walk
 * of its containers, not of its text.
 */
import type { JsonValue } from './types.ts'

export interface ValueBytes {
  /** Bytes of the larger encoding. */
  readonly bytes: number
  /** Which one it is (JSON on a tie). */
  readonly as: 'JSON' | 'MessagePack'
}

/** The refusal of a peer's record whose value is over the limit (no size in it: reasons are counted by their text). */
export function oversizeReason(maxBytes: number): string {
  return `value over limits.maxValueBytes (${maxBytes} bytes as JSON or as MessagePack)`
}

/** Whether `reason` is an `oversizeReason`. */
export function isOversize(reason: string): boolean {
  return reason.startsWith('value over limits.maxValueBytes (')
}

/** The larger of `v`'s JSON (UTF-8) and MessagePack sizes. */
export function valueBytes(v: JsonValue): ValueBytes {
  json = 0
  pack = 0
  illFormed = false
  walk(v)
  // A message with a string UTF-8 cannot carry goes as a MessagePack string of its JSON text.
  if (illFormed) pack = json + strHeader(json)
  return pack > json ? { bytes: pack, as: 'MessagePack' } : { bytes: json, as: 'JSON' }
}

/** The sizes of `v` when it is over `maxBytes`, else null; cheap when a bound from lengths settles it. */
export function overLimit(v: JsonValue, maxBytes: number): ValueBytes | null {
  if (maxBytes === Infinity) return null
  if (typeof v === 'string') {
    if (6 * v.length + 5 <= maxBytes) return null
  } else if (typeof v !== 'object' || v === null) return null
  else if (bound(v, maxBytes) >= 0) return null
  const size = valueBytes(v)
  return size.bytes > maxBytes ? size : null
}

/** JSON and MessagePack bytes counted by `walk`; whether a string UTF-8 cannot carry was met. */
let json = 0
let pack = 0
let illFormed = false

function walk(v: JsonValue): void {
  switch (typeof v) {
    case 'string':
      return str(v)
    case 'number':
      json += String(v).length
      pack += numberBytes(v)
      return
    case 'boolean':
      json += v ? 4 : 5
      pack += 1
      return
  }
  if (v === null) {
    json += 4
    pack += 1
    return
  }
  if (Array.isArray(v)) {
    json += v.length === 0 ? 2 : 1 + v.length
    pack += containerHeader(v.length)
    for (let i = 0; i < v.length; i++) walk(v[i])
    return
  }
  const keys = Object.keys(v)
  json += keys.length === 0 ? 2 : 1 + 2 * keys.length // braces, colons and commas
  pack += containerHeader(keys.length)
  for (let i = 0; i < keys.length; i++) {
    str(keys[i])
    walk((v as { [key: string]: JsonValue })[keys[i]])
  }
}

/** A string: its JSON with quotes and escapes; its UTF-8 bytes behind a MessagePack header. */
function str(s: string): void {
  let escaped = 2
  let utf8 = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) {
      utf8++
      // `"` and `\` and \b \t \n \f \r take two characters; the other controls six (\u00XX).
      escaped += c === 0x22 || c === 0x5c || c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : c < 0x20 ? 6 : 1
    } else if (c < 0x800) {
      utf8 += 2
      escaped += 2
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      utf8 += 4
      escaped += 4
      i++
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate: JSON escapes it (\udXXX); UTF-8 cannot carry it.
      utf8 += 3
      escaped += 6
      illFormed = true
    } else {
      utf8 += 3
      escaped += 3
    }
  }
  json += escaped
  pack += strHeader(utf8) + utf8
}

function strHeader(n: number): number {
  return n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

function containerHeader(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5
}

/** MessagePack bytes of a number: the smallest integer form up to 32 bits, else a float64. */
function numberBytes(x: number): number {
  if (Number.isInteger(x) && x >= -0x8000_0000 && x <= 0xffff_ffff) {
    if (x >= 0) return x < 0x80 ? 1 : x < 0x100 ? 2 : x < 0x10000 ? 3 : 5
    return x >= -32 ? 1 : x >= -0x80 ? 2 : x >= -0x8000 ? 3 : 5
  }
  return 9
}

/**
 * A bound on both sizes from lengths alone (a string at most 6 bytes a
 * unit as JSON, 3 as UTF-8; a number at most 25 characters or 9 bytes):
 * what is left of `budget` after `v`, negative once past it (the walk then
 * stops). Recursive: values reaching here are validated, at most
 * `maxValueDepth` deep.
 */
function bound(v: JsonValue, budget: number): number {
  if (typeof v === 'string') return budget - 6 * v.length - 5
  if (typeof v !== 'object' || v === null) return budget - 25
  budget -= 5
  if (Array.isArray(v)) {
    budget -= v.length
    for (let i = 0; i < v.length && budget >= 0; i++) budget = bound(v[i], budget)
    return budget
  }
  for (const k in v) {
    if (budget < 0) break
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue
    budget = bound(v[k], budget - 6 * k.length - 7)
  }
  return budget
}
