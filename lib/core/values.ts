import type { JsonValue } from './types.ts'
import { jsonProblem } from '../protocol/validate.ts'

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
 * nothing here.
 */
export function frozenJson(v: unknown, maxDepth: number): JsonValue {
  const out = takeJson(v, maxDepth, 0)
  if (out === undefined) throw new TypeError(jsonProblem(v, maxDepth) ?? 'not a JSON value')
  return out
}

/** The frozen copy, or undefined at the first thing `jsonProblem` would name. */
function takeJson(v: unknown, maxDepth: number, depth: number): JsonValue | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v
    case 'number':
      return Number.isFinite(v) ? v : undefined
    case 'object':
      break
    default:
      return undefined
  }
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
    const x = takeJson((v as Record<string, unknown>)[k], maxDepth, depth)
    if (x === undefined) return undefined
    // A key named "__proto__" must stay an own data property: assignment would set the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true })
    else out[k] = x
  }
  return Object.freeze(out) as JsonValue
}

/** Freeze a JSON value in place, deeply; already-frozen objects are taken as frozen through. */
export function deepFreeze(v: JsonValue): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return
  Object.freeze(v)
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) deepFreeze(v[i])
  else for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k)) deepFreeze(v[k])
}
