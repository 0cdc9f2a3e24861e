import type { JsonValue, Rec } from '../core/types.ts'
import { MAX_RATE, type Message, type RateClaim } from './messages.ts'

/**
 * Validation of untrusted input: the one place where peer objects become
 * typed messages. Nothing a peer sends reaches state without passing here, and
 * nothing here throws: a bad object yields a reason string.
 */

export interface Limits {
  /** Longest key accepted, in UTF-16 code units. */
  readonly maxKeyLength: number
  /** Longest `source_id` or `gen` accepted. */
  readonly maxIdLength: number
  /** Deepest nesting accepted inside a value. */
  readonly maxValueDepth: number
  /**
   * Largest value a record may hold, in bytes of its larger encoding (JSON
   * in UTF-8, or MessagePack: core/value-size.ts): one that some peer's
   * line or frame could not carry is refused at `set`, and a peer's record
   * holding one is refused for good (core/admission.ts). Records restored
   * from the node's own log are not measured.
   */
  readonly maxValueBytes: number
  /** Most sources a peer's digests may make this node track. */
  readonly maxSources: number
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxKeyLength: 4096,
  maxIdLength: 256,
  maxValueDepth: 64,
  // The default line and frame length (1 MiB) less room for the key, ids, versions and a signature.
  maxValueBytes: 1024 * 1024 - 64 * 1024,
  maxSources: 65536,
})

/**
 * `given` over the defaults, every bound a positive safe integer; throws a
 * RangeError naming `where` (such as `config.limits`) and the bound. A
 * partial object keeps the defaults of the bounds it leaves out: none is
 * ever left undefined, which would switch its check off. Keys that are no
 * bound are left out (`normalizeConfig` warns of them).
 */
export function limitsOf(given: unknown, where: string, show: (v: unknown) => string = (v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))): Limits {
  if (given === undefined || given === null) return DEFAULT_LIMITS
  if (typeof given !== 'object' || Array.isArray(given)) throw new TypeError(`${where} must be an object of bounds such as { maxValueBytes: 65536 }, got ${Array.isArray(given) ? 'an array' : typeof given}`)
  const g = given as Record<string, unknown>
  const limits = { ...DEFAULT_LIMITS } as Record<keyof Limits, unknown>
  for (const k of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) if (Object.prototype.hasOwnProperty.call(g, k)) limits[k] = g[k]
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(`${where}.${k} must be a positive integer, got ${show(v)}`)
    }
  }
  return Object.freeze(limits) as Limits
}

/** Why `value` cannot be carried losslessly as JSON, or null when it can. */
export function jsonProblem(value: unknown, maxDepth: number): string | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null
    case 'number':
      return Number.isFinite(value) ? null : `number ${value} is not representable in JSON`
    case 'object':
      return value === null ? null : nestedProblem(value, maxDepth, 1)
    default:
      return `${typeof value} is not a JSON value`
  }
}

function nestedProblem(value: object, maxDepth: number, depth: number): string | null {
  if (depth > maxDepth) return `value is nested deeper than ${maxDepth} levels (or is cyclic)`
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = itemProblem(value[i], maxDepth, depth)
      if (p !== null) return p
    }
    return null
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    return `${proto?.constructor?.name ?? 'object'} instance is not a plain JSON object`
  }
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue
    const p = itemProblem((value as Record<string, unknown>)[k], maxDepth, depth)
    if (p !== null) return p
  }
  return null
}

function itemProblem(v: unknown, maxDepth: number, depth: number): string | null {
  if (typeof v === 'object' && v !== null) return nestedProblem(v, maxDepth, depth + 1)
  if (v === undefined) return 'undefined is not a JSON value'
  return jsonProblem(v, maxDepth)
}

/**
 * Why `v` is not a usable id (a `source_id`, `gen`, node id or generation),
 * or null: a non-empty string of at most `maxLength` characters, without
 * NUL (the separator of source keys). The one definition every layer uses.
 */
/** Throw a TypeError unless `id` can be a node's id (as `new Gossip` requires). */
export function checkNodeId(id: unknown, maxLength: number, what = 'Gossip id'): void {
  const bad = idProblem('id', id, maxLength)
  if (bad !== null) throw new TypeError(`${what} must be a non-empty string of at most ${maxLength} characters without NUL (${bad})`)
}

export function idProblem(field: string, v: unknown, maxLength: number): string | null {
  if (typeof v !== 'string') return `${field} must be a string`
  if (v.length === 0) return `${field} must not be empty`
  if (v.length > maxLength) return `${field} longer than ${maxLength}`
  if (v.indexOf('\u0000') !== -1) return `${field} must not contain NUL`
  return null
}

/**
 * Whether `reason` refuses an object only for a limit of this node's
 * (`maxKeyLength`, `maxIdLength`, `maxValueDepth`, `maxDigestEntries`):
 * an honest peer configured with larger limits sends such objects, so
 * they are refused without counting against the link.
 */
export function isLimitReason(reason: string): boolean {
  return / longer than \d+( entries.*)?$/.test(reason) || reason.startsWith('value is nested deeper than ')
}

/** A version is a positive safe integer. */
export function isVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1
}

/**
 * Decode one untrusted object into messages appended to `out` (one, or two for
 * a seed-style digest entry that also carries `done`). Returns null on success
 * or the reason the object was refused; `out` is untouched on refusal.
 *
 * `fresh`: the object was just parsed and nobody else holds it, so a valid
 * update with exactly the record's fields may become the record itself
 * (otherwise the record is always a copy).
 */
export function decode(obj: unknown, limits: Limits, out: Message[], fresh = false): string | null {
  if (typeof obj !== 'object' || obj === null) return `expected an object, got ${obj === null ? 'null' : typeof obj}`
  if (Array.isArray(obj)) return 'expected an object, got an array'
  const o = obj as Record<string, unknown>
  const digest = o.digest
  if (digest === true) return decodeDigest(o, limits, out)
  if (digest !== undefined && digest !== false) return 'digest must be true when present'
  return decodeUpdate(o, limits, out, fresh)
}

const HEX16 = /^[0-9a-f]{16}$/
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
/** A rate a peer may claim: a finite number in [0, MAX_RATE] (NaN, Infinity, negatives and huge values are refused). */
const isRate = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_RATE

/** Flow-control rates on a digest object: both or neither, each a rate; `undefined` when absent. */
function readRates(o: Record<string, unknown>): RateClaim | undefined | string {
  if (o.rho === undefined && o.tau === undefined) return undefined
  if (!isRate(o.rho) || !isRate(o.tau)) return `rho and tau must both be numbers from 0 to ${MAX_RATE}`
  return { desired: o.rho, allowed: o.tau }
}

function decodeDigest(o: Record<string, unknown>, limits: Limits, out: Message[]): string | null {
  if (o.reset !== undefined) return 'resets are not accepted: only a writer\'s own records can remove its records'
  if (o.relay !== undefined) return decodeRelay(o, limits, out)
  const done = o.done
  if (done !== undefined && typeof done !== 'boolean') return 'done must be a boolean'
  const hasEntry = o.source_id !== undefined
  if (!hasEntry && done !== true) return 'digest entry without source_id'
  let version = 0
  let gc = 0
  if (hasEntry) {
    const p = idProblem('source_id', o.source_id, limits.maxIdLength)
    if (p !== null) return p
    const v = o.version
    // -Infinity (in-process), null (its JSON form) and any negative number
    // (the seed's tests ask with -10) mean "nothing held".
    if (v === null || (typeof v === 'number' && v < 0 && (Number.isSafeInteger(v) || v === -Infinity))) version = 0
    else if (isCount(v)) version = v
    else return 'digest version must be a safe integer (negative, -Infinity or null: nothing held)'
    if (o.gen !== undefined) {
      const g = idProblem('gen', o.gen, limits.maxIdLength)
      if (g !== null) return g
    }
    if (o.gc !== undefined) {
      if (!isCount(o.gc)) return 'digest gc must be a non-negative safe integer'
      gc = o.gc
    }
    if (o.upto !== undefined && !isCount(o.upto)) return 'digest upto must be a non-negative safe integer'
    if (o.fp !== undefined && !(typeof o.fp === 'string' && HEX16.test(o.fp))) return 'digest fp must be 16 lower-case hex digits'
  }
  if (o.ack !== undefined && !isCount(o.ack)) return 'ack must be a non-negative safe integer'
  if (o.seq !== undefined && !isCount(o.seq)) return 'seq must be a non-negative safe integer'
  const rates = readRates(o)
  if (typeof rates === 'string') return rates
  for (const f of ['reply', 'more', 'final', 'resync', 'stream'] as const) {
    const x = o[f]
    if (x !== undefined && typeof x !== 'boolean') return `${f} must be a boolean`
  }

  if (hasEntry) {
    const d: { type: 'digest'; source_id: string; version: number; gc: number; gen?: string; upto?: number; fp?: string } = {
      type: 'digest',
      source_id: o.source_id as string,
      version,
      gc,
    }
    if (o.gen !== undefined) d.gen = o.gen as string
    if (o.upto !== undefined) d.upto = o.upto as number
    if (o.fp !== undefined) d.fp = o.fp as string
    out.push(d)
  }
  if (done === true) {
    const d: { type: 'done'; reply: boolean; more: boolean; final: boolean; resync: boolean; stream: boolean; ack?: number; seq?: number; rates?: RateClaim } = {
      type: 'done',
      reply: o.reply === true,
      more: o.more === true,
      final: o.final === true,
      resync: o.resync === true,
      stream: o.stream === true,
    }
    if (o.ack !== undefined) d.ack = o.ack as number
    if (o.seq !== undefined) d.seq = o.seq as number
    if (rates !== undefined) d.rates = rates
    out.push(d)
  }
  return null
}

function decodeRelay(o: Record<string, unknown>, limits: Limits, out: Message[]): string | null {
  if (typeof o.relay !== 'boolean') return 'relay must be a boolean'
  const p = idProblem('source_id', o.source_id, limits.maxIdLength)
  if (p !== null) return p
  if (o.gen !== undefined) {
    const g = idProblem('gen', o.gen, limits.maxIdLength)
    if (g !== null) return g
  }
  out.push(o.gen === undefined ? { type: 'relay', source_id: o.source_id as string, on: o.relay } : { type: 'relay', source_id: o.source_id as string, gen: o.gen as string, on: o.relay })
  return null
}

function decodeUpdate(o: Record<string, unknown>, limits: Limits, out: Message[], fresh: boolean): string | null {
  const slot: UpdateSlot = { rec: null as unknown as Rec, prev: undefined, rprev: undefined }
  const reason = readUpdate(o, limits, fresh, slot)
  if (reason !== null) return reason
  const m: { type: 'update'; rec: Rec; prev?: number; rprev?: number } = { type: 'update', rec: slot.rec }
  if (slot.prev !== undefined) m.prev = slot.prev
  if (slot.rprev !== undefined) m.rprev = slot.rprev
  out.push(m)
  return null
}

/**
 * Keys under this prefix belong to the library (member records are signed
 * under one): no application write and no peer's update may use them, so a
 * node's signature over a library record can never stand as an application
 * write of that node.
 */
export const RESERVED_KEY_PREFIX = '\u0000simple-scuttle/'

/** Whether `key` lies in the library's reserved namespace. */
export function reservedKey(key: string): boolean {
  return key.charCodeAt(0) === 0 && key.startsWith(RESERVED_KEY_PREFIX)
}

/** The error a local write to a reserved key throws. */
export function reservedKeyError(): RangeError {
  return new RangeError(`keys starting with ${JSON.stringify(RESERVED_KEY_PREFIX)} are reserved for the library`)
}

/** Where `readUpdate` puts a valid update (reusable: it is overwritten each time). */
export interface UpdateSlot {
  rec: Rec
  prev: number | undefined
  rprev: number | undefined
}

/**
 * Validate an object that is not a digest as an update, into `slot`.
 * Returns null, or the reason it was refused (`slot` then holds nothing new).
 */
export function readUpdate(o: Record<string, unknown>, limits: Limits, fresh: boolean, slot: UpdateSlot): string | null {
  // A finite number is taken as its string, as `set` and a JavaScript object take it (the seed's tests use numeric keys).
  const key = typeof o.key === 'number' && Number.isFinite(o.key) ? String(o.key) : o.key
  if (typeof key !== 'string') return 'update key must be a string or a finite number'
  if (key.length > limits.maxKeyLength) return `update key longer than ${limits.maxKeyLength}`
  if (reservedKey(key)) return 'update key in the reserved namespace'
  const p = idProblem('source_id', o.source_id, limits.maxIdLength)
  if (p !== null) return p
  const version = o.version
  if (!isVersion(version)) return 'update version must be a positive safe integer'
  if (!('value' in o)) return 'update without value'
  const value = o.value
  const vp = jsonProblem(value, limits.maxValueDepth)
  if (vp !== null) return vp
  const gen = o.gen
  if (gen !== undefined) {
    const g = idProblem('gen', gen, limits.maxIdLength)
    if (g !== null) return g
  }
  const deleted = o.deleted
  if (deleted !== undefined && typeof deleted !== 'boolean') return 'deleted must be a boolean'
  if (deleted === true && value !== null) return 'a tombstone carries value null'
  const prev = o.prev
  if (prev !== undefined && !(typeof prev === 'number' && Number.isSafeInteger(prev) && prev >= 0 && prev < version)) {
    return 'prev must be a safe integer below version'
  }
  const sig = o.sig
  if (sig !== undefined && (typeof sig !== 'string' || sig.length > MAX_SIG_LENGTH)) return `sig must be a string of at most ${MAX_SIG_LENGTH} characters`
  const rprev = o.rprev
  if (rprev !== undefined && !(typeof rprev === 'number' && Number.isSafeInteger(rprev) && rprev >= 0 && rprev < version)) {
    return 'rprev must be a safe integer below version'
  }
  // A fresh object with exactly the record's fields is kept as the record.
  const exact = fresh && key === o.key && prev === undefined && rprev === undefined && countKeys(o) === 4 + (gen !== undefined ? 1 : 0) + (deleted !== undefined ? 1 : 0) + (sig !== undefined ? 1 : 0)
  slot.rec =
    exact && deleted !== false
      ? (o as unknown as Rec)
      : makeRec(key, value as JsonValue, o.source_id as string, version, gen as string | undefined, deleted === true, sig as string | undefined)
  slot.prev = prev as number | undefined
  slot.rprev = rprev as number | undefined
  return null
}

/** Own enumerable keys of a plain object, counted without allocating. */
function countKeys(o: object): number {
  let n = 0
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) n++
  return n
}

/** Longest signature a record may carry, in UTF-16 code units (peers and the log refuse longer ones). */
export const MAX_SIG_LENGTH = 1024

/** A fresh record with exactly the record fields (no peer-supplied extras). */
export function makeRec(
  key: string,
  value: JsonValue,
  source_id: string,
  version: number,
  gen: string | undefined,
  deleted: boolean,
  sig?: string,
): Rec {
  const r = (
    gen === undefined
      ? deleted
        ? { key, value: null, source_id, version, deleted: true }
        : { key, value, source_id, version }
      : deleted
        ? { key, value: null, source_id, version, gen, deleted: true }
        : { key, value, source_id, version, gen }
  ) as Rec
  if (sig !== undefined) (r as { sig?: string }).sig = sig
  return r
}
