/**
 * Member records: validation of what peers send, the form a signature
 * covers, and the small hashes that summarise a set of records.
 */
import type { JsonValue, Rec } from '../core/types.ts'
import { utf8Length } from '../core/values.ts'
import { idProblem, jsonProblem, RESERVED_KEY_PREFIX } from '../protocol/validate.ts'
import { heldRecord, recordJson } from './held-record.ts'
import type { Beats, MemberLimits, MemberRecord } from './types.ts'

/**
 * The key under which a member record is signed. Signatures cover a `Rec`
 * (see PROTOCOL.md, canonical bytes), so a member record is signed as the
 * record `{key: MEMBER_KEY, value: {addr, st, meta}, source_id: id,
 * version: v, gen: String(gen)}`: its own key, so that it can never be
 * taken for the node's signature over an application key it writes.
 */
export const MEMBER_KEY = `${RESERVED_KEY_PREFIX}member`

/** The record a member record's signature covers (a held record's metadata parsed afresh: deep-equal to what was read). */
export function signedForm(r: MemberRecord): Rec {
  const value: { [key: string]: JsonValue } = { addr: r.addr, st: r.st }
  if (r.meta !== undefined) value.meta = r.meta as { [key: string]: JsonValue }
  const rec: Rec = { key: MEMBER_KEY, value, source_id: r.id, version: r.v, gen: String(r.gen) }
  return r.sig === undefined ? rec : { ...rec, sig: r.sig }
}

/** A host:port the view can dial: a host without spaces, a port 1..65535. */
export function addressProblem(addr: unknown, maxLength: number): string | null {
  if (typeof addr !== 'string') return 'addr must be a string'
  if (addr.length > maxLength) return `addr longer than ${maxLength}`
  const m = /^(?:\[[^\]\s]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(addr)
  if (m === null) return 'addr must be host:port'
  const port = Number(m[1])
  if (!(port >= 1 && port <= 65535)) return 'addr port must be 1..65535'
  return null
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/**
 * The highest record version read (2^48): far above any count of honest
 * changes, and far enough below 2^53 that versions above it stay exact.
 */
export const MAX_MEMBER_V = 2 ** 48

/** Room kept below `MAX_MEMBER_V` for a node's own changes after it answers a forged record. */
export const OWN_CHANGES = 2 ** 20

/** The longest member signature read, characters. */
export const MAX_SIG_LENGTH = 1024

/** Why a record fails a signed cluster's `verify` (unsigned, or a bad or throwing check), or null (it passes, or no `verify`). */
export function signatureProblem(verify: ((r: MemberRecord) => boolean) | undefined, rec: MemberRecord): 'unsigned' | 'bad signature' | null {
  if (verify === undefined) return null
  if (rec.sig === undefined) return 'unsigned'
  try {
    return verify(rec) ? null : 'bad signature'
  } catch {
    return 'bad signature'
  }
}

/** A record's JSON without its strings' contents: field names, quotes, `left`, and 16 digits for each number. */
const RECORD_FRAME = JSON.stringify({ id: '', gen: 2 ** 53 - 1, v: 2 ** 53 - 1, addr: '', st: 'left', meta: {}, sig: '' }).length

/**
 * The most bytes (UTF-8) a record `readRecord` accepts takes as JSON: id,
 * address and signature at most 6 bytes a character (`\u0001`), metadata
 * at most 3 a character of its JSON (its limit counts that JSON, escapes
 * included; a character above U+FFFF is 2 characters and 4 bytes).
 */
export function maxRecordBytes(limits: MemberLimits): number {
  return RECORD_FRAME + 6 * (limits.maxIdLength + limits.maxAddressLength + MAX_SIG_LENGTH) + 3 * limits.maxMetaLength
}

/** Sizes of records already measured: a held record never changes, and is measured at every answer that carries it. */
const sizes = new WeakMap<MemberRecord, number>()

/** Bytes (UTF-8) of a record as JSON, as a line carries it. */
export function recordBytes(r: MemberRecord): number {
  let n = sizes.get(r)
  if (n === undefined) sizes.set(r, (n = utf8Length(recordJson(r))))
  return n
}

/**
 * Read an untrusted member record; returns the record (a fresh object with
 * only the known fields, held: its metadata as canonical JSON text, see
 * held-record.ts) or why it is refused. `wallNow` bounds the
 * generation: a life cannot begin further in the future than the clock
 * offset allowed.
 */
/**
 * Why `readRecord` refuses a well-formed record whose generation lies
 * beyond this node's clock: no fault of the peer that relays it (its clock,
 * or its source's, may run ahead of ours), so the record is dropped alone.
 */
export const GEN_AHEAD = 'member gen is ahead of this node\'s clock by more than maxClockOffset'

export function readRecord(o: unknown, limits: MemberLimits, wallNow: number): MemberRecord | string {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'member record must be an object'
  const r = o as Record<string, unknown>
  const idBad = idProblem('member id', r.id, limits.maxIdLength)
  if (idBad !== null) return idBad
  if (!isCount(r.gen)) return 'member gen must be a non-negative safe integer'
  if (r.gen > wallNow + limits.maxClockOffset) return GEN_AHEAD
  if (!isCount(r.v) || r.v < 1) return 'member v must be a positive safe integer'
  if (r.v > MAX_MEMBER_V) return `member v above ${MAX_MEMBER_V}`
  const addrBad = addressProblem(r.addr, limits.maxAddressLength)
  if (addrBad !== null) return addrBad
  if (r.st !== 'up' && r.st !== 'left') return 'member st must be "up" or "left"'
  let meta: string | undefined
  if (r.meta !== undefined) {
    if (typeof r.meta !== 'object' || r.meta === null || Array.isArray(r.meta)) return 'member meta must be an object'
    const bad = jsonProblem(r.meta, limits.maxMetaDepth)
    if (bad !== null) return `member meta: ${bad}`
    meta = JSON.stringify(r.meta)
    if (meta.length > limits.maxMetaLength) return `member meta longer than ${limits.maxMetaLength} characters`
  }
  if (r.sig !== undefined && (typeof r.sig !== 'string' || r.sig.length > MAX_SIG_LENGTH)) return 'member sig must be a string'
  return heldRecord({ id: r.id as string, gen: r.gen, v: r.v, addr: r.addr as string, st: r.st, ...(r.sig === undefined ? {} : { sig: r.sig as string }) }, meta)
}

/**
 * Read untrusted heartbeats (flat triples `id, gen, n`). A counter rises
 * at most once a millisecond of its life: `n` may not exceed the time
 * since `gen` (by `wallNow`) plus the clock offset allowed, so no forged
 * counter can run a life's counter out of numbers.
 *
 * A malformed list refuses the message. A well-formed triple beyond this
 * node's clock is no fault of the peer that sent it: the bound is this
 * node's clock, and an honest peer whose clock runs ahead (within the
 * offset the hellos allow) relays counters that were within its own bound,
 * forged there or not. Such a triple never refuses the line (the other
 * members' heartbeats in it are read) and `ahead` is called for it: a
 * counter over the bound is taken as the bound (it did rise, at least that
 * far: an arrival, so a member whose counter a peer pushed up is not held
 * dead here while its honest relays run ahead of our clock, and no held
 * counter ever exceeds the bound); a generation ahead of the clock by more
 * than the offset, a life this node cannot hold, is dropped.
 */
export function readBeats(hb: unknown, limits: MemberLimits, wallNow: number, ahead?: () => void): Beats | string {
  if (!Array.isArray(hb)) return 'hb must be an array'
  if (hb.length % 3 !== 0) return 'hb must hold triples: id, gen, n'
  if (hb.length > 3 * limits.maxBeatEntries) return `more than ${limits.maxBeatEntries} heartbeat entries`
  const latest = wallNow + limits.maxClockOffset
  // A copy only once a triple changes: the first triples are taken as they are.
  let kept: Beats | null = null
  for (let i = 0; i < hb.length; i += 3) {
    const idBad = idProblem('heartbeat id', hb[i], limits.maxIdLength)
    if (idBad !== null) return idBad
    const gen = hb[i + 1]
    const n = hb[i + 2]
    if (!isCount(gen) || !isCount(n)) return 'heartbeat gen and n must be non-negative safe integers'
    if (gen > latest || n > latest - gen) {
      ahead?.()
      kept ??= hb.slice(0, i) as Beats
      if (gen <= latest) kept.push(hb[i] as string, gen, latest - gen)
      continue
    }
    kept?.push(hb[i] as string, gen, n)
  }
  return kept ?? (hb as Beats)
}

/** 32-bit FNV-1a of a string (its UTF-16 units), with a chosen offset basis. */
export function fnv1a(s: string, basis = 0x811c9dc5): number {
  let h = basis
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The hash that places a member id in a bucket: bucket = hash & (count - 1), `count` a power of two. */
export function bucketHash(id: string): number {
  return fnv1a(id, 0x9747b28c)
}

/** The bucket of a member id among `count` buckets (a power of two). */
export function bucketOf(id: string, count: number): number {
  return bucketHash(id) & (count - 1)
}

/** Two 32-bit hashes of what identifies a record's content: a 64-bit summary term. */
export function recordHash(r: MemberRecord): [number, number] {
  const s = r.id + '\u0000' + r.gen + '\u0000' + r.v + '\u0000' + r.st
  return [fnv1a(s), fnv1a(s, 0x01234567)]
}

export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0')

/** How many buckets to digest `members` records in: about 4 per bucket, 1 to 256, a power of two. */
export function bucketCount(members: number): number {
  let b = 1
  while (b < 256 && b * 4 < members) b *= 2
  return b
}
