/**
 * What a valid peer object is, written from PROTOCOL.md ("Messages" and
 * "Refused"), independently of lib/protocol/validate.ts (which this file
 * must never import): an oracle for the fuzz tests, so that a validation
 * check loosened (or tightened) in the library shows up as a disagreement.
 *
 * Where PROTOCOL.md leaves something open, the choice made here is noted
 * with "(choice)".
 */

export interface SpecLimits {
  /** Longest key, in UTF-16 code units (choice: PROTOCOL.md says "at most"). */
  readonly maxKeyLength: number
  /** Longest `source_id` or `gen`. */
  readonly maxIdLength: number
  /** Deepest nesting of arrays and objects inside a value (a scalar is depth 0). */
  readonly maxValueDepth: number
}

/** The defaults PROTOCOL.md names. */
export const SPEC_LIMITS: SpecLimits = { maxKeyLength: 4096, maxIdLength: 256, maxValueDepth: 64 }

/** Longest `sig` string (choice: PROTOCOL.md gives no bound; the library refuses longer ones, 1024). */
export const MAX_SIG_LENGTH = 1024

export type SpecMessage =
  | { type: 'digest'; source_id: string; version: number; gc: number; gen?: string; upto?: number; fp?: string }
  | { type: 'done'; reply: boolean; more: boolean; final: boolean; resync: boolean; stream: boolean; ack?: number; seq?: number }
  | {
      type: 'update'
      rec: { key: string; value: unknown; source_id: string; version: number; gen?: string; deleted?: true; sig?: string }
      prev?: number
      rprev?: number
    }

const MAX_SAFE = 2 ** 53 - 1

/** A whole number from 0 to 2^53 - 1. */
const count = (v: unknown): v is number => typeof v === 'number' && Math.floor(v) === v && v >= 0 && v <= MAX_SAFE

/** An id (`source_id`, `gen`): a non-empty string without NUL, at most `maxIdLength`. */
function id(v: unknown, limits: SpecLimits): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= limits.maxIdLength && !v.includes('\0')
}

/**
 * A JSON value: null, a boolean, a finite number, a string, an array of
 * JSON values, or a plain object (choice: no class instances; a null
 * prototype is plain) whose own enumerable values are JSON values;
 * arrays and objects nested at most `maxDepth` deep.
 */
function jsonValue(v: unknown, maxDepth: number, level = 0): boolean {
  if (v === null) return true
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return true
    case 'number':
      return v - v === 0 // finite
    case 'object': {
      if (level + 1 > maxDepth) return false
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!jsonValue(v[i], maxDepth, level + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== null && proto !== Object.prototype) return false
      return Object.keys(v).every((k) => jsonValue((v as Record<string, unknown>)[k], maxDepth, level + 1))
    }
    default:
      return false
  }
}

const FLAGS = ['reply', 'more', 'final', 'resync', 'stream'] as const

/**
 * The messages `obj` stands for, or null when PROTOCOL.md says it is refused:
 * an entry, an end of digest, both (a seed-era entry with `done: true`), or
 * an update.
 */
export function specDecode(obj: unknown, limits: SpecLimits = SPEC_LIMITS): SpecMessage[] | null {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null
  const o = obj as Record<string, unknown>
  if (o.digest === true) return digest(o, limits)
  // (choice) `digest: false` is no digest: the object is read as an update.
  if (o.digest !== undefined && o.digest !== false) return null
  return update(o, limits)
}

function digest(o: Record<string, unknown>, limits: SpecLimits): SpecMessage[] | null {
  // Resets are never accepted, whatever else the object says.
  if (o.reset !== undefined) return null
  if (o.done !== undefined && typeof o.done !== 'boolean') return null
  // End-of-digest fields are checked on any digest object (choice).
  for (const f of FLAGS) if (o[f] !== undefined && typeof o[f] !== 'boolean') return null
  if (o.ack !== undefined && !count(o.ack)) return null
  if (o.seq !== undefined && !count(o.seq)) return null
  const out: SpecMessage[] = []
  if (o.source_id !== undefined) {
    if (!id(o.source_id, limits)) return null
    // `version`: a safe integer; null (JSON's -Infinity), any negative one and, on object streams, -Infinity itself mean nothing: 0.
    let version: number
    if (o.version === null || o.version === -Infinity || (Number.isSafeInteger(o.version) && (o.version as number) < 0)) version = 0
    else if (count(o.version)) version = o.version
    else return null
    if (o.gen !== undefined && !id(o.gen, limits)) return null
    if (o.gc !== undefined && !count(o.gc)) return null
    if (o.upto !== undefined && !count(o.upto)) return null
    // `fp`: 16 hex digits (choice: lower case, as the library writes them).
    if (o.fp !== undefined && !(typeof o.fp === 'string' && /^[0-9a-f]{16}$/.test(o.fp))) return null
    const e: SpecMessage & { type: 'digest' } = { type: 'digest', source_id: o.source_id, version, gc: o.gc === undefined ? 0 : (o.gc as number) }
    if (o.gen !== undefined) e.gen = o.gen as string
    if (o.upto !== undefined) e.upto = o.upto as number
    if (o.fp !== undefined) e.fp = o.fp as string
    out.push(e)
  } else if (o.done !== true) {
    return null // neither an entry nor an end
  }
  if (o.done === true) {
    const d: SpecMessage & { type: 'done' } = {
      type: 'done',
      reply: o.reply === true,
      more: o.more === true,
      final: o.final === true,
      resync: o.resync === true,
      stream: o.stream === true,
    }
    if (o.ack !== undefined) d.ack = o.ack as number
    if (o.seq !== undefined) d.seq = o.seq as number
    out.push(d)
  }
  return out
}

function update(o: Record<string, unknown>, limits: SpecLimits): SpecMessage[] | null {
  const { source_id, version } = o
  // `key`: a string, or a finite number taken as its string.
  const key = typeof o.key === 'number' && Number.isFinite(o.key) ? String(o.key) : o.key
  if (typeof key !== 'string' || key.length > limits.maxKeyLength) return null
  if (!id(source_id, limits)) return null
  if (!(count(version) && version >= 1)) return null
  if (!('value' in o) || !jsonValue(o.value, limits.maxValueDepth)) return null
  if (o.gen !== undefined && !id(o.gen, limits)) return null
  if (o.deleted !== undefined && typeof o.deleted !== 'boolean') return null
  if (o.deleted === true && o.value !== null) return null
  // Links point strictly below the record's own version.
  if (o.prev !== undefined && !(count(o.prev) && o.prev < version)) return null
  if (o.rprev !== undefined && !(count(o.rprev) && o.rprev < version)) return null
  if (o.sig !== undefined && !(typeof o.sig === 'string' && o.sig.length <= MAX_SIG_LENGTH)) return null
  // Unknown fields are not kept; `sig` travels with the record.
  const rec: SpecMessage & { type: 'update' } = {
    type: 'update',
    rec: { key, value: o.deleted === true ? null : o.value, source_id, version },
  }
  if (o.gen !== undefined) rec.rec.gen = o.gen as string
  if (o.deleted === true) rec.rec.deleted = true
  if (o.sig !== undefined) rec.rec.sig = o.sig as string
  if (o.prev !== undefined) rec.prev = o.prev as number
  if (o.rprev !== undefined) rec.rprev = o.rprev as number
  return [rec]
}
