import type { JsonValue } from './types.ts'
import { jsonProblem } from '../protocol/validate.ts'
import { valueBytes } from './value-size.ts'

/**
 * Values in state are immutable: a local write stores a frozen copy of what
 * the caller passed (the caller's object stays its own), and a remote one is
 * frozen where it is (it came off the wire, or from a peer's state over an
 * object stream). So no reader can change a record behind its version, which
 * would make peers that read it later see other content under that version.
 */

/**
 * A caller's value checked and taken in one walk: a deep, frozen copy of it
 * when it is a JSON value nested at most `maxDepth` levels (what
 * `jsonProblem` accepts), else a `TypeError` with `jsonProblem`'s message.
 * The copy is the writer's own from then on: a caller that changes its
 * object afterwards (a queued write not yet applied included) changes
 * nothing here. A value longer than `maxBytes` as JSON (UTF-8) or as
 * MessagePack, whichever is larger (value-size.ts), is a `RangeError`: a
 * peer on one wire format or the other could not receive it.
 */
export function frozenJson(v: unknown, maxDepth: number, maxBytes = Infinity): JsonValue {
  // A getter of the caller's value may write (and so walk) another value: the walk in progress keeps its own count.
  const outer = units
  units = 0
  let out: JsonValue | undefined
  let taken: number
  try {
    out = takeJson(v, maxDepth, 0)
  } finally {
    taken = units
    units = outer
  }
  if (out === undefined) throw new TypeError(jsonProblem(v, maxDepth) ?? 'not a JSON value')
  // `taken` bounds the JSON's length in UTF-16 units, each at most 6 bytes (an escape), and so its MessagePack too: only a long one is measured.
  if (taken * 6 > maxBytes) {
    const size = valueBytes(out)
    if (size.bytes > maxBytes) throw new RangeError(`value is ${size.bytes} bytes as ${size.as}, over limits.maxValueBytes (${maxBytes})`)
  }
  return out
}

/** An upper bound on the JSON length of what `takeJson` has taken since it was reset. */
let units = 0

/** Bytes of `s` in UTF-8 (a lone surrogate as the 3 bytes of its replacement). */
export function utf8Length(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2 // a pair: 2 units, 4 bytes
      i++
    } else n += 2
  }
  return n
}

/** The frozen copy, or undefined at the first thing `jsonProblem` would name. */
function takeJson(v: unknown, maxDepth: number, depth: number): JsonValue | undefined {
  switch (typeof v) {
    case 'string':
      units += v.length + 3
      return v
    case 'boolean':
      units += 6
      return v
    case 'number':
      units += 25
      // -0 is 0 in JSON: the writer holds what its peers will.
      return Number.isFinite(v) ? (v === 0 ? 0 : v) : undefined
    case 'object':
      break
    default:
      return undefined
  }
  units += 5
  if (v === null) return null
  if (++depth > maxDepth) return undefined
  if (Array.isArray(v)) {
    const out = new Array<JsonValue>(v.length)
    for (let i = 0; i < v.length; i++) {
      const x = takeJson(v[i], maxDepth, depth)
      if (x === undefined) return undefined
      out[i] = x
    }
    return Object.freeze(out) as JsonValue
  }
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) return undefined
  const out: { [key: string]: JsonValue } = {}
  const keys = Object.keys(v)
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    units += k.length + 3
    const x = takeJson((v as Record<string, unknown>)[k], maxDepth, depth)
    if (x === undefined) return undefined
    // A key named "__proto__" must stay an own data property: assignment would set the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true })
    else out[k] = x
  }
  return Object.freeze(out) as JsonValue
}

/**
 * Freeze a JSON value in place, all the way down: an object frozen at its
 * top (a shallow `Object.freeze`) is still looked through, as what it
 * holds may not be.
 */
export function deepFreeze(v: JsonValue): void {
  if (typeof v !== 'object' || v === null) return
  Object.freeze(v)
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) deepFreeze(v[i])
  else for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k)) deepFreeze(v[k])
}
