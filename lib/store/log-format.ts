import type { SourceState } from '../core/replica.ts'
import type { Rec } from '../core/types.ts'
import { crc32 } from './crc32.ts'

/**
 * The log: one line per entry. In format 2 (written now) every line is
 *
 *   ["<crc>",<payload>]\n
 *
 * a JSON array of the CRC-32 of the payload's UTF-8 bytes (8 lowercase hex
 * digits) and the payload, a JSON object:
 *
 *   {"store":2,"id":"A","gen":"k3x9q1","file":"Zm9vYmFy"}   header, line 1 (`file`: new at each rewrite)
 *   {"key":...,"value":...,"source_id":...,"version":...}    a record (plus gen, deleted, sig as held; a
 *                                                            tombstone also `at`: when it was applied, ms)
 *   {"drop":"key","source_id":...,"version":...}             a tombstone collected (removed if held; remembered)
 *   {"clock":[[id, gen|null, clock, gc], ...],"version":V,"floor":F}   a clock snapshot
 *   {"lease":V}                                              local versions up to V may be in use
 *   {"synced":N}                                             every byte before offset N (this line's own
 *                                                            offset) was fsynced before this line was written
 *
 * Format 1 (read only, rewritten as format 2 on open) is the bare payloads,
 * one per line, with the header `{"store":1,...}` and no markers.
 *
 * Replaying the lines in order rebuilds the state; the last clock snapshot
 * gives the clocks, and the largest lease bounds the versions already used.
 * The drop lines are the collected tombstones the node remembers by key: a
 * rewrite writes one for each it still remembers, and `floor` (absent in
 * logs written before it existed: then the highest gc floor stands in)
 * bounds those it no longer does (see `Collected`).
 */
export const LOG_VERSION = 2

/** A lease reserves this many versions (µs of wall time) above the newest local write. */
export const LEASE_SPAN = 1_000_000

export interface Header {
  store: number
  id: string
  gen: string
  /** Identity of this file (format 2): the sidecar's claims apply only to the file that bears it. */
  file?: string
}

/** Bytes before the payload in a format 2 line: `["` + 8 hex digits + `",`. */
export const FRAME_HEAD = 12

/** A record's payload; a tombstone's with `at`, when it was applied (ms), so its grace period survives a restart. */
export function recordJson(rec: Rec, at?: number): string {
  const json = JSON.stringify(rec)
  return rec.deleted === true && at !== undefined && Number.isFinite(at) ? `${json.slice(0, -1)},"at":${Math.floor(at)}}` : json
}

export function recordLine(rec: Rec): string {
  return JSON.stringify(rec) + '\n'
}

export function dropLine(rec: Rec): string {
  return dropJson(rec) + '\n'
}

export function clockLine(sources: SourceState[], version: number, floor?: number): string {
  return clockJson(sources, version, floor) + '\n'
}

export function leaseLine(version: number): string {
  return JSON.stringify({ lease: version }) + '\n'
}

export function headerLine(h: Header): string {
  return JSON.stringify(h) + '\n'
}

export function dropJson(rec: Rec): string {
  const d: Record<string, unknown> = { drop: rec.key, source_id: rec.source_id, version: rec.version }
  if (rec.gen !== undefined) d.gen = rec.gen
  if (rec.sig !== undefined) d.sig = rec.sig
  return JSON.stringify(d)
}

/** A clock snapshot; `floor` is the collected-tombstone floor (left out: a log that does not save it). */
export function clockJson(sources: SourceState[], version: number, floor?: number): string {
  const clock = sources.map((s) => [s.id, s.gen ?? null, s.clock, s.gc])
  return JSON.stringify(floor === undefined ? { clock, version } : { clock, version, floor })
}

/** A format 2 line (with its newline) carrying `payload` (one JSON object's text). */
export function frame(payload: string): string {
  const crc = crc32(payload).toString(16)
  return '["' + (crc.length === 8 ? crc : '0'.repeat(8 - crc.length) + crc) + '",' + payload + ']\n'
}

export const leaseJson = (version: number): string => JSON.stringify({ lease: version })
export const syncedJson = (offset: number): string => JSON.stringify({ synced: offset })

const HEX = Buffer.from('0123456789abcdef', 'latin1')
/** A line's head before its checksum is known. */
const HEAD = '["00000000",'
const SEP = ']\n' + HEAD
let scratch = Buffer.allocUnsafe(1 << 16)

/**
 * Format 2 lines (with their newlines) for `payloads`, in one buffer that
 * is valid until the next call: the text is encoded once, as a whole, and
 * each line's checksum taken over its encoded bytes and written into its
 * head.
 */
export function frameLines(payloads: readonly string[]): Buffer {
  if (payloads.length === 0) return Buffer.alloc(0)
  const text = payloads.join(SEP)
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const room = text.length * 3 + FRAME_HEAD + 2
  if (scratch.length < room) scratch = Buffer.allocUnsafe(Math.max(room, scratch.length * 2))
  const buf = scratch
  buf.write(HEAD, 0, 'latin1')
  const n = buf.write(text, FRAME_HEAD, 'utf8')
  buf[FRAME_HEAD + n] = 0x5d
  buf[FRAME_HEAD + n + 1] = 0x0a
  const total = FRAME_HEAD + n + 2
  // All ASCII (bytes = UTF-16 units): lines end where the payloads' lengths say.
  const ascii = n === text.length
  let start = 0
  for (const p of payloads) {
    const body = start + FRAME_HEAD
    const end = ascii ? body + p.length : buf.indexOf(0x0a, body) - 1
    let crc = crc32(buf, body, end)
    for (let i = start + 9; i > start + 1; i--) {
      buf[i] = HEX[crc & 15]
      crc >>>= 4
    }
    start = end + 2
  }
  return buf.subarray(0, total)
}

/**
 * The payload text of the format 2 line `buf[start..end)` (without its
 * newline), or why it is not one: a broken frame or a checksum that does
 * not match. Never throws.
 */
export function unframe(buf: Buffer, start: number, end: number): { payload: string } | { problem: string } {
  if (end - start < FRAME_HEAD + 3) return { problem: 'line too short' }
  if (buf[start] !== 0x5b || buf[start + 1] !== 0x22 || buf[start + 10] !== 0x22 || buf[start + 11] !== 0x2c || buf[end - 1] !== 0x5d) {
    return { problem: 'not a checksummed line' }
  }
  let want = 0
  for (let i = start + 2; i < start + 10; i++) {
    const c = buf[i]
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1
    if (d < 0) return { problem: 'bad checksum digits' }
    want = want * 16 + d
  }
  if (crc32(buf, start + FRAME_HEAD, end - 1) !== want) return { problem: 'checksum mismatch' }
  return { payload: buf.toString('utf8', start + FRAME_HEAD, end - 1) }
}

// Replaying payloads lives in log-replay.ts; re-exported for callers that build logs line by line.
