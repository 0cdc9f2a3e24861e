import type { SourceState } from '../core/replica.ts'
import { MAX_COLLECTED } from '../core/tombstones.ts'
import { sourceKey, type Rec } from '../core/types.ts'
import type { Message } from '../protocol/messages.ts'
import { DEFAULT_LIMITS, decode, readUpdate, type Limits, type UpdateSlot } from '../protocol/validate.ts'
import { AHEAD_OF_CLOCK, OVER_DEPTH, OVER_LIMIT, type Damage } from './errors.ts'
import { LEASE_SPAN, type Header } from './log-format.ts'

/**
 * Replaying log lines into a recovery state, in time linear in the lines'
 * length. Everything read from disk is validated as peer input is
 * (`readUpdate`, digest rules for clock entries, at most `maxSources`
 * sources besides the node's own), plus: every number is a safe integer, and no version, clock or lease is
 * beyond `maxVersion` (the local clock plus the allowed offset at load): a
 * value from the future is damage, not data. The log holds what this node
 * accepted, under whatever limits it had then: lengths of keys and ids are
 * not held against `limits` (nor value sizes), and values are walked to
 * `limits.maxValueDepth` or `REPLAY_DEPTH` levels, whichever is more (a
 * bound for the stack; a value deeper is reported as an intact log the
 * limit is too low for, not as damage).
 */

/** Fewest levels of nesting a value read back from a log may have. */
export const REPLAY_DEPTH = 1000

let lastLimits: Limits | undefined
let lastOwn: Limits = DEFAULT_LIMITS

/** `limits` as a log is read with: no bound on key and id lengths, values walked to at least `REPLAY_DEPTH` levels. */
function ownLogLimits(limits: Limits): Limits {
  if (limits !== lastLimits) {
    lastOwn = { ...limits, maxKeyLength: Infinity, maxIdLength: Infinity, maxValueDepth: Math.max(limits.maxValueDepth, REPLAY_DEPTH) }
    lastLimits = limits
  }
  return lastOwn
}

/** What is loaded from a log. */
export interface Recovered {
  header: Header
  records: Map<string, Rec>
  sources: SourceState[]
  /** Versions at or below this may already have been used by this node. */
  version: number
  /** Problems that did not stop recovery (a torn tail cut). */
  warnings: string[]
  /** Format of the file read (1 or 2). */
  format: number
  lines: number
  bytes: number
  /** Length of the valid prefix: where a torn tail (or, in repair, the damage) is cut. */
  goodBytes: number
  /** Bytes known to have been fsynced (from the markers and the sidecar). */
  synced: number
  /** The unsynced tail cut (torn by a crash), or null. */
  cut: Dropped | null
  /** What repair mode dropped (damage before the synced offset), or null. */
  dropped: Dropped | null
  /** Record lines in the valid prefix and their bytes (to estimate the live state's size). */
  recordLines: number
  recordBytes: number
  /**
   * Collected tombstones remembered by key (from the drop lines, oldest
   * first, at most `MAX_COLLECTED`: a key written again is no longer one)
   * and the floor below which others were forgotten: the last clock
   * snapshot's, raised by those dropped past the bound. `saved`: a clock
   * snapshot carried a floor (a log written before floors were saved has
   * none, and its gc floors must stand in).
   */
  forgotten: { floor: number; tombstones: Map<string, Rec>; saved: boolean }
  /** When each held tombstone was applied (ms), by key, where its line says (`at`). */
  appliedAt: Map<string, number>
}

/** A part of a log left out of recovery. */
export interface Dropped extends Damage {
  /** Lines dropped (a last line without its newline included). */
  lines: number
  bytes: number
  /** Intact record lines among them (damaged lines are not counted). */
  records: number
}

export interface ReplayBounds {
  limits: Limits
  /** Largest version, clock or gc floor accepted, µs (Infinity: no bound). */
  maxVersion: number
  /** The local clock, µs, for messages about `maxVersion`. */
  now: number
}

export const NO_BOUNDS: ReplayBounds = { limits: DEFAULT_LIMITS, maxVersion: Infinity, now: 0 }

/** An empty recovery state, filled by `replayLine`. */
export function emptyRecovery(): Recovered {
  return {
    header: { store: 0, id: '', gen: '' },
    records: new Map(),
    sources: [],
    version: 0,
    warnings: [],
    format: 0,
    lines: 0,
    bytes: 0,
    goodBytes: 0,
    synced: 0,
    cut: null,
    dropped: null,
    recordLines: 0,
    recordBytes: 0,
    forgotten: { floor: 0, tombstones: new Map(), saved: false },
    appliedAt: new Map(),
  }
}

/** What a replayed log gives `restore` of its collected tombstones (undefined: not saved, or possibly lost to a repair). */
export function savedForgotten(r: Recovered): { floor: number; tombstones: Iterable<Rec> } | undefined {
  return r.forgotten.saved && r.dropped === null ? { floor: r.forgotten.floor, tombstones: r.forgotten.tombstones.values() } : undefined
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const slot: UpdateSlot = { rec: null as unknown as Rec, prev: undefined, rprev: undefined }
const digestOut: Message[] = []

function future(what: string, v: number, b: ReplayBounds): string {
  return `${what} ${v} is ${Math.round((v - b.now) / 1e6)} s ${AHEAD_OF_CLOCK}, more than maxClockOffset allows ` +
    '(was the log written by a machine whose clock was ahead, or did this clock go back?)'
}

/** Check a header object; returns a problem or null. `format` is the version expected. */
export function headerProblem(o: Record<string, unknown>, format: number, b: ReplayBounds): string | null {
  if (o.store !== format) return `missing or unknown header (expected format ${format})`
  const d = { digest: true, source_id: o.id, gen: o.gen, version: 0 }
  digestOut.length = 0
  const p = decode(d, ownLogLimits(b.limits), digestOut)
  if (p !== null || typeof o.gen !== 'string') return `bad header: ${p ?? 'gen must be a string'}`
  if (format >= 2 && typeof o.file !== 'string') return 'bad header: file must be a string'
  return null
}

/**
 * What a replay knows about sources beyond `Recovered`: where each source
 * of `r.sources` is (so a line costs its own length, not the number of
 * sources), and every source any line named, counted against
 * `limits.maxSources` as peer input is. Keyed by `sourceKey`.
 */
interface SourceIndex {
  /** The array `at` indexes (rebuilt if `r.sources` was replaced from outside). */
  of: SourceState[]
  /** Position in `of`; the first of duplicate entries. */
  at: Map<string, number>
  /** Every source named so far, other than the log's own (header id and gen). */
  seen: Set<string>
}

const indexes = new WeakMap<Recovered, SourceIndex>()

function indexOf(r: Recovered): SourceIndex {
  let x = indexes.get(r)
  if (x === undefined) indexes.set(r, (x = { of: [], at: new Map(), seen: new Set() }))
  if (x.of !== r.sources) {
    x.of = r.sources
    x.at = new Map()
    for (let i = r.sources.length - 1; i >= 0; i--) x.at.set(sourceKey(r.sources[i].id, r.sources[i].gen), i)
  }
  return x
}

/**
 * Count source (`id`, `gen`) as named by the log; a problem once more than
 * `maxSources` were named (the node itself, the header's id and gen, not
 * counted), since the node would have refused the one beyond from a peer.
 */
function countSource(r: Recovered, x: SourceIndex, id: string, gen: string | undefined, b: ReplayBounds): string | null {
  const key = sourceKey(id, gen)
  if (x.seen.has(key) || (id === r.header.id && gen === r.header.gen)) return null
  if (x.seen.size >= b.limits.maxSources) {
    return `${OVER_LIMIT} (${b.limits.maxSources}): source ${JSON.stringify(id)}${gen === undefined ? '' : ` (gen ${JSON.stringify(gen)})`} is one more (the node refuses it from a peer)`
  }
  x.seen.add(key)
  return null
}

function raiseGc(r: Recovered, id: string, gen: string | undefined, version: number): void {
  const x = indexOf(r)
  const key = sourceKey(id, gen)
  const i = x.at.get(key)
  if (i === undefined) {
    x.at.set(key, r.sources.length)
    r.sources.push({ id, gen, clock: 0, gc: version })
  } else if (r.sources[i].gc < version) r.sources[i] = { ...r.sources[i], gc: version }
}

function replayRecord(o: Record<string, unknown>, r: Recovered, b: ReplayBounds): string | null {
  const p = readUpdate(o, ownLogLimits(b.limits), false, slot)
  if (p !== null) return p.startsWith('value is nested deeper') ? `${p}: ${OVER_DEPTH}` : p
  if (slot.prev !== undefined || slot.rprev !== undefined) return 'a stored record carries no chain link'
  const rec = slot.rec
  if (rec.version > b.maxVersion) return future('version', rec.version, b)
  const many = countSource(r, indexOf(r), rec.source_id, rec.gen, b)
  if (many !== null) return many
  r.records.set(rec.key, rec)
  r.forgotten.tombstones.delete(rec.key)
  // When a tombstone was applied: a count of ms, else (an older line, or damage to a field nothing else reads) the restart's time stands in.
  if (rec.deleted === true && typeof o.at === 'number' && Number.isFinite(o.at) && o.at >= 0) r.appliedAt.set(rec.key, Math.floor(o.at))
  else r.appliedAt.delete(rec.key)
  if (rec.version > r.version) r.version = rec.version
  return null
}

function replayDrop(o: Record<string, unknown>, r: Recovered, b: ReplayBounds): string | null {
  // Validated as the tombstone it removes.
  const t: Record<string, unknown> = { key: o.drop, value: null, source_id: o.source_id, version: o.version, deleted: true }
  if (o.gen !== undefined) t.gen = o.gen
  if (o.sig !== undefined) t.sig = o.sig
  const p = readUpdate(t, ownLogLimits(b.limits), false, slot)
  if (p !== null) return `drop: ${p}`
  const tomb = slot.rec
  const cur = r.records.get(tomb.key)
  if (cur !== undefined && cur.source_id === tomb.source_id && cur.version === tomb.version && cur.gen === tomb.gen) {
    r.records.delete(tomb.key)
    // A tombstone dropped was collected: its source's gc floor is at least its version.
    if (cur.deleted === true) raiseGc(r, cur.source_id, cur.gen, cur.version)
  }
  if (r.records.has(tomb.key)) return null
  // Remembered (a rewrite writes one line per tombstone still remembered), as `Collected` does.
  const f = r.forgotten
  f.tombstones.delete(tomb.key)
  f.tombstones.set(tomb.key, tomb)
  if (f.tombstones.size > MAX_COLLECTED) {
    const [key, oldest] = f.tombstones.entries().next().value as [string, Rec]
    f.tombstones.delete(key)
    if (oldest.version > f.floor) f.floor = oldest.version
  }
  return null
}

function replayClock(clock: unknown[], version: unknown, floor: unknown, r: Recovered, b: ReplayBounds): string | null {
  if (!isCount(version)) return 'clock version must be a non-negative safe integer'
  if (version > b.maxVersion) return future('clock version', version, b)
  if (floor !== undefined && !isCount(floor)) return 'clock floor must be a non-negative safe integer'
  if (floor !== undefined && floor > b.maxVersion) return future('clock floor', floor, b)
  const x = indexOf(r)
  const sources: SourceState[] = []
  const at = new Map<string, number>()
  for (const e of clock) {
    if (!Array.isArray(e) || e.length !== 4 || (e[1] !== null && typeof e[1] !== 'string') || typeof e[2] !== 'number') return 'bad clock entry'
    // An entry says what a digest entry says: validated by the same rules.
    const d: Record<string, unknown> = { digest: true, source_id: e[0], version: e[2], gc: e[3] }
    if (e[1] !== null) d.gen = e[1]
    digestOut.length = 0
    const p = decode(d, ownLogLimits(b.limits), digestOut)
    if (p !== null) return `clock entry: ${p}`
    if (e[2] > b.maxVersion || e[3] > b.maxVersion) return future('clock of ' + JSON.stringify(e[0]), Math.max(e[2], e[3]), b)
    const gen = e[1] ?? undefined
    const key = sourceKey(e[0], gen)
    const many = countSource(r, x, e[0], gen, b)
    if (many !== null) return `clock entry: ${many}`
    if (!at.has(key)) at.set(key, sources.length)
    sources.push({ id: e[0], gen, clock: e[2], gc: e[3] })
  }
  // A snapshot is newer than earlier lines, but never lowers a gc floor they raised.
  for (const old of r.sources) if (old.gc > 0) {
    const key = sourceKey(old.id, old.gen)
    const j = at.get(key)
    if (j === undefined) {
      at.set(key, sources.length)
      sources.push(old)
    } else if (sources[j].gc < old.gc) sources[j] = { ...sources[j], gc: old.gc }
  }
  r.sources = sources
  x.of = sources
  x.at = at
  if (version > r.version) r.version = version
  if (floor !== undefined) {
    r.forgotten.saved = true
    if (floor > r.forgotten.floor) r.forgotten.floor = floor
  }
  return null
}

/** Apply one payload object (not the header) to the recovery state; returns a problem or null. */
export function replayObject(o: Record<string, unknown>, r: Recovered, b: ReplayBounds): string | null {
  if (typeof o.key === 'string') return replayRecord(o, r, b)
  if (o.drop !== undefined) return replayDrop(o, r, b)
  if (Array.isArray(o.clock)) return replayClock(o.clock, o.version, o.floor, r, b)
  if (o.lease !== undefined) {
    if (!isCount(o.lease)) return 'lease must be a non-negative safe integer'
    if (o.lease > b.maxVersion + LEASE_SPAN) return future('lease', o.lease, b)
    if (o.lease > r.version) r.version = o.lease
    return null
  }
  return 'unknown line'
}

/** The object in `text` (one JSON object), or why not. */
export function parseObject(text: string): Record<string, unknown> | string {
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch {
    return 'not JSON'
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not an object'
  return o as Record<string, unknown>
}

/**
 * Apply line `lineNo` (1-based) of a format 1 log, or the bare payload of
 * a format 2 line (a header of either format is accepted on line 1).
 * Returns null, or why the line is unusable.
 */
export function replayLine(text: string, lineNo: number, r: Recovered, b: ReplayBounds = NO_BOUNDS): string | null {
  const o = parseObject(text)
  if (typeof o === 'string') return o
  if (lineNo === 1) {
    const p = headerProblem(o, o.store === 2 ? 2 : 1, b)
    if (p !== null) return p
    r.header = o as unknown as Header
    return null
  }
  return replayObject(o, r, b)
}
