/**
 * Member records as the table holds them: metadata kept as its canonical
 * JSON text, never as the object graph a peer's line parsed into.
 *
 * - A held record's metadata text is `JSON.stringify` of the validated
 *   object (`readRecord` checks it once, at the boundary). Memory is then
 *   proportional to the text received: a peer cannot make 4,096 characters
 *   cost hundreds of kilobytes of objects, for every member it invents.
 * - `meta` is still an own enumerable property, typed as an object: reading
 *   it parses the text afresh (nothing is cached on the record), so
 *   spreads, `JSON.stringify`, signatures and comparisons see the object
 *   they always saw, deep-equal to the one read.
 * - `recordJson` writes a record without parsing: the held text in place
 *   of `JSON.stringify(meta)`, byte for byte the same line.
 */
import type { JsonValue } from '../core/types.ts'
import type { Member, MemberRecord } from './types.ts'

/** A record's fields other than its metadata. */
export type RecordFields = Omit<MemberRecord, 'meta'>

type Meta = NonNullable<MemberRecord['meta']>

/** Where a held record keeps its metadata text: not enumerable, so no copy or serialisation sees it. */
const TEXT = Symbol('member meta text')

interface Held extends MemberRecord {
  readonly [TEXT]?: string
}

/** One getter for every held record (their objects share a shape). */
function parseMeta(this: Held): Meta {
  return JSON.parse(this[TEXT]!) as Meta
}

/**
 * A held record of `fields` and `text`, the canonical JSON of its metadata
 * (or none). Its fields are in the wire order: id, gen, v, addr, st, meta, sig.
 */
export function heldRecord(fields: RecordFields, text: string | undefined): MemberRecord {
  const r = { id: fields.id, gen: fields.gen, v: fields.v, addr: fields.addr, st: fields.st } as { -readonly [K in keyof MemberRecord]: MemberRecord[K] }
  if (text !== undefined) {
    // A long JSON.stringify result can be a rope of pieces; reading a character makes it one flat string (a few hundred bytes less).
    text.charCodeAt(0)
    Object.defineProperty(r, TEXT, { value: text })
    Object.defineProperty(r, 'meta', { get: parseMeta, enumerable: true })
  }
  if (fields.sig !== undefined) r.sig = fields.sig
  return r
}

/** The canonical JSON text of a record's metadata, without parsing a held record's. */
export function metaText(r: MemberRecord): string | undefined {
  const held = (r as Held)[TEXT]
  if (held !== undefined) return held
  return r.meta === undefined ? undefined : JSON.stringify(r.meta)
}

/** `r` as the table holds it: `r` itself when it is held already. */
export function hold(r: MemberRecord): MemberRecord {
  if ((r as Held)[TEXT] !== undefined || r.meta === undefined) return r
  return heldRecord(r, JSON.stringify(r.meta))
}

/** Whether `r` keeps its metadata as text (or has none): it holds no object graph of it. */
export function isHeld(r: MemberRecord): boolean {
  return (r as Held)[TEXT] !== undefined || !Object.prototype.hasOwnProperty.call(r, 'meta')
}

/** A record as JSON, as a line carries it: `JSON.stringify(r)`, without parsing a held record's metadata. */
export function recordJson(r: MemberRecord): string {
  const text = (r as Held)[TEXT]
  if (text === undefined) return JSON.stringify(r)
  const head = JSON.stringify({ id: r.id, gen: r.gen, v: r.v, addr: r.addr, st: r.st })
  return `${head.slice(0, -1)},"meta":${text}${r.sig === undefined ? '' : `,"sig":${JSON.stringify(r.sig)}`}}`
}

/**
 * The application's view of a member: its `metadata` parsed from the
 * record's text when first read, then kept on this snapshot (not in the
 * table). `fields` in `Member`'s order up to `since`.
 */
export function memberOf(fields: Omit<Member, 'metadata' | 'self'>, r: MemberRecord, self: boolean): Member {
  const m = { ...fields } as { -readonly [K in keyof Member]: Member[K] }
  Object.defineProperty(m, 'metadata', {
    get(): { readonly [key: string]: JsonValue } {
      const metadata = r.meta ?? {}
      Object.defineProperty(m, 'metadata', { value: metadata, enumerable: true, writable: true, configurable: true })
      return metadata
    },
    enumerable: true,
    configurable: true,
  })
  m.self = self
  return m
}
