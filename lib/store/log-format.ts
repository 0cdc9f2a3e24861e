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
 *   {"key":...,"value":...,"source_id":...,"version":...}    a record (plus gen, deleted, sig as held)
 *   {"drop":"key","source_id":...,"version":...}             a record removed (a tombstone collected)
 *   {"clock":[[id, gen|null, clock, gc], ...],"version":V}   a clock snapshot
 *   {"lease":V}                                              local versions up to V may be in use
 *   {"synced":N}                                             every byte before offset N (this line's own
 *                                                            offset) was fsynced before this line was written
 *
 * Format 1 (read only, rewritten as format 2 on open) is the bare payloads,
 * one per line, with the header `{"store":1,...}` and no markers.
 *
 * Replaying the lines in order rebuilds the state; the last clock snapshot
 * gives the clocks, and the largest lease bounds the versions already used.
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

export function recordLine(rec: Rec): string {
  return JSON.stringify(rec) + '\n'
}

export function dropLine(rec: Rec): string {
  return dropJson(rec) + '\n'
}

export function clockLine(sources: SourceState[], version: number): string {
  return clockJson(sources, version) + '\n'
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
  return JSON.stringify(d)
}

export function clockJson(sources: SourceState[], version: number): string {
  return JSON.stringify({ clock: sources.map((s) => [s.id, s.gen ?? null, s.clock, s.gc]), version })
}

/** A format 2 line (with its newline) carrying `payload` (one JSON object's text). */
export function frame(payload: string): string {
  const crc = crc32(payload).toString(16)
  return '["' + (crc.length === 8 ? crc : '0'.repeat(8 - crc.length) + crc) + '",' + payload + ']\n'
}

export const leaseJson = (version: number): string => JSON.stringify({ lease: version })
export const syncedJson = (offset: number): string => JSON.stringify({ synced: offset })

const HEX = Buffer.from('0123456789abcdef', 'latin1')

/**
 * Frames payloads into format 2 lines in one reusable buffer: each payload
 * is encoded once, and its checksum taken over the encoded bytes.
 */
export class LineEncoder {
  private buf: Buffer = Buffer.allocUnsafe(1 << 16)
  /** Bytes framed so far. */
  length = 0

  /** Frame `payload` (one JSON object's text); returns the line's length in bytes. */
  add(payload: string): number {
    const start = this.length
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.buf.length - start < FRAME_HEAD + payload.length * 3 + 2) this.grow(FRAME_HEAD + payload.length * 3 + 2)
    const buf = this.buf
    const body = start + FRAME_HEAD
    const n = buf.write(payload, body, 'utf8')
    let crc = crc32(buf, body, body + n)
    buf[start] = 0x5b
    buf[start + 1] = 0x22
    for (let i = start + 9; i > start + 1; i--) {
      buf[i] = HEX[crc & 15]
      crc >>>= 4
    }
    buf[start + 10] = 0x22
    buf[start + 11] = 0x2c
    buf[body + n] = 0x5d
    buf[body + n + 1] = 0x0a
    this.length = body + n + 2
    return this.length - start
  }

  /** The lines framed so far (valid until the next `add`), and a fresh start. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length)
    this.length = 0
    return out
  }

  private grow(need: number): void {
    let size = this.buf.length * 2
    while (size - this.length < need) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }
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
export { emptyRecovery, replayLine, type Recovered } from './log-replay.ts'
