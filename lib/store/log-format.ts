import * as fs from 'node:fs'
import type { SourceState } from '../core/replica.ts'
import type { JsonValue, Rec } from '../core/types.ts'
import { isVersion, makeRec } from '../protocol/validate.ts'

/**
 * The append-only log: one JSON object per line.
 *
 *   {"store":1,"id":"A","gen":"k3x9q1"}        header, first line
 *   {"key":...,"value":...,"source_id":...,"version":...}   an applied record
 *   {"drop":"key","source_id":...,"version":...}            a record removed
 *   {"clock":[[id, gen|null, clock, gc], ...],"version":V}  a clock snapshot
 *   {"lease":V}                                 local versions up to V may be in use
 *
 * Replaying the lines in order rebuilds the state; the last clock snapshot
 * gives the clocks, and the largest lease bounds the versions already used.
 */
export const LOG_VERSION = 1

export interface Header {
  store: number
  id: string
  gen: string
}

export interface Recovered {
  header: Header
  records: Map<string, Rec>
  sources: SourceState[]
  /** Versions at or below this may already have been used by this node. */
  version: number
  /** Problems that did not stop recovery (a torn last line). */
  warnings: string[]
  lines: number
  bytes: number
  /** Length of the file up to the end of its last good line (a torn tail is cut here). */
  goodBytes: number
}

export class LogCorruptError extends Error {
  override name = 'LogCorruptError'
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}: line ${line} is corrupt (${reason}); the log cannot be loaded. Restore it from a backup or move it away to start empty.`)
  }
}

export function recordLine(rec: Rec): string {
  return JSON.stringify(rec) + '\n'
}

export function dropLine(rec: Rec): string {
  const d: Record<string, unknown> = { drop: rec.key, source_id: rec.source_id, version: rec.version }
  if (rec.gen !== undefined) d.gen = rec.gen
  return JSON.stringify(d) + '\n'
}

export function clockLine(sources: SourceState[], version: number): string {
  return JSON.stringify({ clock: sources.map((s) => [s.id, s.gen ?? null, s.clock, s.gc]), version }) + '\n'
}

export function leaseLine(version: number): string {
  return JSON.stringify({ lease: version }) + '\n'
}

export function headerLine(h: Header): string {
  return JSON.stringify(h) + '\n'
}

function raiseGc(r: Recovered, id: string, gen: string | undefined, version: number): void {
  const i = r.sources.findIndex((s) => s.id === id && s.gen === gen)
  if (i === -1) r.sources.push({ id, gen, clock: 0, gc: version })
  else if (r.sources[i].gc < version) r.sources[i] = { ...r.sources[i], gc: version }
}

/** Apply one parsed line to the recovery state; returns a problem or null. */
function replay(o: Record<string, unknown>, r: Recovered): string | null {
  if (typeof o.key === 'string') {
    if (typeof o.source_id !== 'string' || !isVersion(o.version) || !('value' in o)) return 'bad record'
    const rec = makeRec(o.key, o.value as JsonValue, o.source_id, o.version, typeof o.gen === 'string' ? o.gen : undefined, o.deleted === true, typeof o.sig === 'string' ? o.sig : undefined)
    r.records.set(rec.key, rec)
    if (rec.version > r.version) r.version = rec.version
    return null
  }
  if (typeof o.drop === 'string') {
    const cur = r.records.get(o.drop)
    if (cur !== undefined && cur.source_id === o.source_id && cur.version === o.version && (cur.gen ?? null) === (o.gen ?? null)) {
      r.records.delete(o.drop)
      // A tombstone dropped was collected: its source's gc floor is at least its version.
      if (cur.deleted === true) raiseGc(r, cur.source_id, cur.gen, cur.version)
    }
    return null
  }
  if (Array.isArray(o.clock)) {
    const sources: SourceState[] = []
    for (const e of o.clock) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[2] !== 'number' || typeof e[3] !== 'number') return 'bad clock entry'
      sources.push({ id: e[0], gen: typeof e[1] === 'string' ? e[1] : undefined, clock: e[2], gc: e[3] })
    }
    // A snapshot is newer than earlier lines, but never lowers a gc floor they raised.
    for (const old of r.sources) if (old.gc > 0) {
      const j = sources.findIndex((x) => x.id === old.id && x.gen === old.gen)
      if (j === -1) sources.push(old)
      else if (sources[j].gc < old.gc) sources[j] = { ...sources[j], gc: old.gc }
    }
    r.sources = sources
    if (typeof o.version === 'number' && o.version > r.version) r.version = o.version
    return null
  }
  if (typeof o.lease === 'number') {
    if (o.lease > r.version) r.version = o.lease
    return null
  }
  return 'unknown line'
}

/** An empty recovery state, filled by `replayLine`. */
export function emptyRecovery(): Recovered {
  return { header: { store: 0, id: '', gen: '' }, records: new Map(), sources: [], version: 0, warnings: [], lines: 0, bytes: 0, goodBytes: 0 }
}

/**
 * Apply line number `lineNo` (1-based) of a log. Returns null, or why the
 * line is unusable ('not JSON', 'not an object', or a content problem): the
 * caller decides whether that is a torn tail or corruption.
 */
export function replayLine(text: string, lineNo: number, r: Recovered): string | null {
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch {
    return 'not JSON'
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not an object'
  if (lineNo === 1) {
    const h = o as Partial<Header>
    if (h.store !== LOG_VERSION || typeof h.id !== 'string' || typeof h.gen !== 'string') return 'missing or unknown header'
    r.header = h as Header
    return null
  }
  return replay(o as Record<string, unknown>, r)
}

/**
 * Read a log. A last line without its newline, or one that does not parse,
 * is a write torn by a crash: ignored with a warning. Any other bad line is
 * a `LogCorruptError` naming it: never silently skipped.
 */
export function readLog(file: string): Recovered {
  const fd = fs.openSync(file, 'r')
  const r = emptyRecovery()
  try {
    const chunk = Buffer.allocUnsafe(1 << 20)
    let carry: Buffer<ArrayBufferLike> = Buffer.alloc(0)
    let lineNo = 0
    let pendingBad: { line: number; reason: string } | null = null
    /** File offset of buf[0]. */
    let base = 0
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      r.bytes += n
      const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n)
      let start = 0
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        lineNo++
        if (pendingBad !== null) throw new LogCorruptError(file, pendingBad.line, pendingBad.reason)
        const text = buf.toString('utf8', start, nl)
        start = nl + 1
        if (text.trim() !== '') {
          const problem = replayLine(text, lineNo, r)
          if (problem === 'not JSON' || problem === 'not an object') {
            pendingBad = { line: lineNo, reason: problem }
            continue
          }
          if (problem !== null) throw new LogCorruptError(file, lineNo, problem)
        }
        r.goodBytes = base + start
      }
      base += start
      carry = Buffer.from(buf.subarray(start))
    }
    // A bad line followed by more lines threw above; a bad last line, or a
    // last line without its newline, is a torn write.
    if (pendingBad !== null) r.warnings.push(`${file}: ignored a torn last line (line ${pendingBad.line}, ${pendingBad.reason})`)
    if (carry.length > 0) r.warnings.push(`${file}: ignored a torn last line (line ${lineNo + 1}, no newline)`)
    r.lines = lineNo
    if (lineNo === 0) throw new LogCorruptError(file, 1, 'empty log')
  } finally {
    fs.closeSync(fd)
  }
  return r
}
