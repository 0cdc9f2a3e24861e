import type { JsonValue } from './types.ts'

/**
 * Values in state are immutable: a local write stores a frozen copy of what
 * the caller passed (the caller's object stays its own), and a remote one is
 * frozen where it is (it came off the wire, or from a peer's state over an
 * object stream). So no reader can change a record behind its version, which
 * would make peers that read it later see other content under that version.
 */

/** A deep, frozen copy of a JSON value (primitives as they are). */
export function frozenCopy(v: JsonValue): JsonValue {
  if (typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) {
    const out = new Array<JsonValue>(v.length)
    for (let i = 0; i < v.length; i++) out[i] = frozenCopy(v[i])
    return Object.freeze(out) as JsonValue
  }
  const out: { [key: string]: JsonValue } = {}
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue
    // A key named "__proto__" must stay an own data property: assignment would set the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: frozenCopy(v[k]), enumerable: true, writable: true, configurable: true })
    else out[k] = frozenCopy(v[k])
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
