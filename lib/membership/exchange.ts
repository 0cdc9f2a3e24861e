/**
 * The membership exchange with one peer, as pure message handling: a
 * message in, the messages to send back out.
 *
 * One round with a peer is push-pull, like the replica's exchange:
 *
 *   A -> B  beat  {s: A's summary, hb: heartbeats that rose since A last wrote to B}
 *   B -> A  beat  {re: 1, s, hb: B's rises since it last wrote to A, minus what A just sent}
 *           and, only when the summaries differ, sums {b: B's bucket hashes}
 *   A -> B  recs  {A's records in the buckets that differ}, sums {re: 1, b: A's}
 *   B -> A  recs  {B's records in the buckets that still differ}
 *
 * In a steady cluster a round is two messages whose record digest is one
 * 16-digit summary; records move only when something changed, and then
 * only the buckets that differ (about four records each).
 *
 * Every message from a peer is validated here (`readMessage`) before it
 * touches the table, like any peer input.
 *
 * Every line sent fits the line budget (`lineBudget` of the receiver's
 * `maxLineLength`, counted in UTF-8 bytes): records and heartbeats that do
 * not fit one line go in further lines of the same answer. `sums` needs no
 * cut (256 hashes are 2.8 KB), nor does a record alone: the limits that
 * `readRecord` checks bound one (`maxRecordBytes`), and a network refuses
 * limits under which one would not fit.
 */
import { utf8Length } from '../core/values.ts'
import { recordJson } from './held-record.ts'
import { bucketCount, GEN_AHEAD, readBeats, readRecord, recordBytes } from './record.ts'
import type { MemberTable } from './table.ts'
import type { Beats, MemberLimits, MemberRecord } from './types.ts'

export type MemberMessage =
  | { mb: 'beat'; s: string; hb: Beats; re?: 1 }
  | { mb: 'sums'; b: string[]; re?: 1 }
  | { mb: 'recs'; recs: MemberRecord[] }

/** The first bytes of every membership line: how a connection tells them from the replica's. */
export const MEMBER_LINE_PREFIX = '{"mb":'

/**
 * The most bytes of a membership line this node sends, for a receiver
 * whose longest line is `maxLine` bytes: a sixteenth of it is kept as a
 * margin (983,040 of the default 1 MiB).
 */
export function lineBudget(maxLine: number): number {
  return maxLine - Math.ceil(maxLine / 16)
}

/**
 * A message as one line's JSON (no newline): `JSON.stringify(m)`, the
 * records' metadata written from the text they are held as, unparsed.
 */
export function messageJson(m: MemberMessage): string {
  if (m.mb !== 'recs') return JSON.stringify(m)
  return `{"mb":"recs","recs":[${m.recs.map(recordJson).join(',')}]}`
}

/** A `recs` line without its records, and a `beat` line without its heartbeats (with `re`). */
export const RECS_FRAME = JSON.stringify({ mb: 'recs', recs: [] }).length
const BEAT_FRAME = JSON.stringify({ mb: 'beat', s: '0123456789abcdef', hb: [], re: 1 }).length

const HEX16 = /^[0-9a-f]{16}$/
const HEX8 = /^[0-9a-f]{8}$/

/**
 * Validate an untrusted membership message; returns it (fresh where it
 * matters) or why it is refused. Heartbeats and records that are well
 * formed but lie beyond this node's clock (see `readBeats`, `GEN_AHEAD`)
 * are dropped from it alone, each reported to `ahead`: a peer whose clock
 * runs ahead of ours relays them in good faith.
 */
export function readMessage(obj: unknown, limits: MemberLimits, wallNow: number, ahead?: (what: 'beat' | 'record') => void): MemberMessage | string {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'membership message must be an object'
  const o = obj as Record<string, unknown>
  const re = o.re === undefined ? undefined : o.re === 1 ? 1 : null
  if (re === null) return 're must be 1 when present'
  switch (o.mb) {
    case 'beat': {
      if (typeof o.s !== 'string' || !HEX16.test(o.s)) return 'beat s must be 16 lower-case hex digits'
      const hb = readBeats(o.hb, limits, wallNow, ahead && (() => ahead('beat')))
      if (typeof hb === 'string') return hb
      return re === 1 ? { mb: 'beat', s: o.s, hb, re } : { mb: 'beat', s: o.s, hb }
    }
    case 'sums': {
      const b = o.b
      if (!Array.isArray(b) || b.length < 1 || b.length > 256 || (b.length & (b.length - 1)) !== 0) return 'sums b must be 1 to 256 hashes, a power of two'
      for (const h of b) if (typeof h !== 'string' || !HEX8.test(h)) return 'sums b must hold 8-hex-digit hashes'
      return re === 1 ? { mb: 'sums', b: b as string[], re } : { mb: 'sums', b: b as string[] }
    }
    case 'recs': {
      const recs = o.recs
      if (!Array.isArray(recs) || recs.length > limits.maxRecords) return `recs must be an array of at most ${limits.maxRecords} records`
      const out: MemberRecord[] = []
      for (const r of recs) {
        const read = readRecord(r, limits, wallNow)
        if (read === GEN_AHEAD) {
          ahead?.('record')
          continue
        }
        if (typeof read === 'string') return read
        out.push(read)
      }
      return { mb: 'recs', recs: out }
    }
    default:
      return 'unknown membership message'
  }
}

export interface LinkOptions {
  /** Most heartbeat entries one message carries. */
  readonly maxBeatEntries: number
  /** Most records one message carries. */
  readonly maxRecords: number
  /** Most bytes (UTF-8) of one line sent, its newline excluded (`lineBudget`). */
  readonly maxLineBytes: number
  /** Least time between two answers to this peer's beats, ms (a flood gets no amplification). */
  readonly minReplyGap: number
  /** Asked before the first records answer a peer's sums; false: not now (a new link of a host that reconnects in a loop). */
  readonly firstRecords?: () => boolean
}

export interface LinkStats {
  beatsIn: number
  beatsOut: number
  recordsIn: number
  recordsOut: number
  /** Bucket digests sent (an exchange found the summaries different). */
  sumsOut: number
  /** Beats not answered because the peer asked again too soon. */
  unanswered: number
}

/**
 * What this node knows of its exchange with one peer: the last heartbeat
 * sequence number written to it, and when it may answer again.
 */
export class MemberLink {
  private mark = 0
  private nextReplyAt = Number.NEGATIVE_INFINITY
  private nextSumsAt = Number.NEGATIVE_INFINITY
  /** Our bucket sums went out and their answer (`sums` with `re`) has not come back. */
  private sumsAwaited = false
  readonly stats: LinkStats = { beatsIn: 0, beatsOut: 0, recordsIn: 0, recordsOut: 0, sumsOut: 0, unanswered: 0 }
  /** Called when a peer's records are applied (outcomes by record), for reports. */
  onRecord: ((rec: MemberRecord, outcome: string) => void) | null = null

  constructor(
    readonly table: MemberTable,
    /** The peer's node id (from its hello). */
    readonly peerId: string,
    readonly opts: LinkOptions,
  ) {}

  private firstDone = false

  /** Whether records may answer this peer's sums (`LinkOptions.firstRecords`, asked until it allows once). */
  private firstAllowed(): boolean {
    if (!this.firstDone) this.firstDone = this.opts.firstRecords?.() ?? true
    return this.firstDone
  }

  /** Open a round with this peer: our beat. */
  start(): MemberMessage[] {
    return this.beat(false)
  }

  /** The record of this node, pushed at once (a leave, a new address). */
  push(rec: MemberRecord): MemberMessage[] {
    return [{ mb: 'recs', recs: [rec] }]
  }

  /**
   * Take one validated message from the peer at `now` (ms, the network's
   * clock). Returns what to send back.
   */
  receive(msg: MemberMessage, now: number): MemberMessage[] {
    const t = this.table
    switch (msg.mb) {
      case 'beat': {
        this.stats.beatsIn++
        t.applyBeats(msg.hb, now, this)
        if (msg.re === 1) return []
        if (now < this.nextReplyAt) {
          this.stats.unanswered++
          return []
        }
        this.nextReplyAt = now + this.opts.minReplyGap
        const out: MemberMessage[] = this.beat(true)
        if (msg.s !== t.summary()) {
          this.stats.sumsOut++
          this.sumsAwaited = true
          out.push({ mb: 'sums', b: t.buckets(bucketCount(t.summarized)) })
        }
        return out
      }
      case 'sums': {
        // Records answer sums: at most once a gap for a peer's own sums, and an answer only to sums we sent.
        if (msg.re === 1 ? !this.sumsAwaited : now < this.nextSumsAt || !this.firstAllowed()) {
          this.stats.unanswered++
          return []
        }
        if (msg.re === 1) this.sumsAwaited = false
        else this.nextSumsAt = now + this.opts.minReplyGap
        const mine = t.buckets(msg.b.length)
        const differ = new Set<number>()
        for (let i = 0; i < mine.length; i++) if (mine[i] !== msg.b[i]) differ.add(i)
        if (differ.size === 0) return []
        const out = this.records(t.recordsIn(msg.b.length, differ))
        if (msg.re !== 1) {
          this.stats.sumsOut++
          out.push({ mb: 'sums', b: mine, re: 1 })
        }
        return out
      }
      case 'recs': {
        for (const rec of msg.recs) {
          this.stats.recordsIn++
          // A record of the peer itself, on its own link, speaks with its authority (see table.ts).
          const outcome = t.applyRecord(rec, now, rec.id === this.peerId)
          this.onRecord?.(rec, outcome)
        }
        return []
      }
    }
  }

  /**
   * Our beat: the heartbeats that rose since we last wrote to this peer.
   * Those that do not fit one line go first, in beats marked `re` (applied,
   * never answered); the beat that may be answered comes last.
   */
  private beat(reply: boolean): MemberMessage[] {
    const t = this.table
    const { beats, mark } = t.beatsSince(this.mark, this, this.opts.maxBeatEntries)
    this.mark = mark
    const s = t.summary()
    const room = this.opts.maxLineBytes - BEAT_FRAME
    const out: MemberMessage[] = []
    let from = 0
    let bytes = 0
    for (let i = 0; i < beats.length; i += 3) {
      const size = utf8Length(JSON.stringify(beats[i])) + String(beats[i + 1]).length + String(beats[i + 2]).length + 3
      if (i > from && bytes + size > room) {
        out.push({ mb: 'beat', s, hb: beats.slice(from, i), re: 1 })
        from = i
        bytes = 0
      }
      bytes += size
    }
    const hb = from === 0 ? beats : beats.slice(from)
    out.push(reply ? { mb: 'beat', s, hb, re: 1 } : { mb: 'beat', s, hb })
    this.stats.beatsOut += out.length
    return out
  }

  /** Records in `recs` lines of at most `maxRecords` records and `maxLineBytes` bytes each. */
  private records(recs: MemberRecord[]): MemberMessage[] {
    const out: MemberMessage[] = []
    const n = this.opts.maxRecords
    const room = this.opts.maxLineBytes - RECS_FRAME
    let batch: MemberRecord[] = []
    let bytes = 0
    for (const r of recs) {
      const size = recordBytes(r) + 1
      if (batch.length > 0 && (batch.length >= n || bytes + size > room)) {
        out.push({ mb: 'recs', recs: batch })
        batch = []
        bytes = 0
      }
      batch.push(r)
      bytes += size
    }
    if (batch.length > 0) out.push({ mb: 'recs', recs: batch })
    this.stats.recordsOut += recs.length
    return out
  }
}
