import type { JsonValue, Rec } from '../core/types.ts'

/**
 * The bytes a signature covers: the record's identity and content in a
 * fixed form, `[key, value, source_id, version, gen, deleted]` as JSON with
 * object keys sorted at every level. Two replicas that hold the same record
 * compute the same string, whatever order its fields arrived in.
 */
export function canonical(rec: Rec): string {
  return JSON.stringify([rec.key, sortKeys(rec.value), rec.source_id, rec.version, rec.gen ?? null, rec.deleted === true])
}

/** `v` with object keys sorted at every level: one form for values that differ only in key order (which no check of the protocol tells apart). */
export function sortKeys(v: JsonValue): JsonValue {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(sortKeys)
  const out: Record<string, JsonValue> = {}
  for (const k of Object.keys(v).sort()) {
    // An own "__proto__" key is data: define it, never assign through it.
    Object.defineProperty(out, k, { value: sortKeys(v[k]), enumerable: true, writable: true, configurable: true })
  }
  return out
}
