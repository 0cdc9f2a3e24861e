/**
 * A fixed workload for a durable node over a `MemFs`, and the oracle that
 * says what a restart may find.
 *
 * The oracle keeps, per key, every state the node's memory went through
 * (absent, a value, a tombstone), and which of them was last reported
 * durable (in `write` mode: the call returned; in `batch` mode: a
 * `flush()` begun after it resolved). A restart may find any state from
 * the last durable one on (a change accepted later may or may not have
 * reached the disk), never an earlier one (a durable write lost) nor one
 * the node never held (invented data).
 */
import { base, replicaOf } from '../../lib/index.ts'
import type { Rec } from '../../lib/core/types.ts'
import { RefusedError } from '../../lib/core/replica.ts'
import { openDurable, type Durable } from '../../lib/store/durable.ts'
import type { Gossip } from '../../lib/stream/gossip.ts'
import { FakeTimers } from './fake-timers.ts'
import type { MemFs } from './fault-fs.ts'

export const DIR = '/data'
export const START_MS = 1_700_000_000_000

const encode = (r: Rec | undefined): string => (r === undefined ? 'absent' : JSON.stringify([r.value, r.deleted === true]))

export class Oracle {
  private states = new Map<string, string[]>()
  private durableAt = new Map<string, number>()
  /**
   * States of changes under way (the call has not returned): a crash in the
   * middle of a call may leave either outcome, so a restart may find them.
   */
  readonly inflight = new Map<string, string>()

  /** Note `key`'s state in `g` after an accepted change (nothing if unchanged). */
  note(g: Gossip, key: string): void {
    const s = this.states.get(key) ?? ['absent']
    const now = encode(g.record(key))
    if (s[s.length - 1] !== now) s.push(now)
    this.states.set(key, s)
  }

  keys(): string[] {
    return [...this.states.keys()]
  }

  /** A point to pass to `durable` later: every state noted so far. */
  mark(): Map<string, number> {
    return new Map([...this.states].map(([k, s]) => [k, s.length - 1]))
  }

  /** Everything noted up to `mark` was reported durable. */
  durable(mark: Map<string, number>): void {
    for (const [k, i] of mark) if ((this.durableAt.get(k) ?? 0) < i) this.durableAt.set(k, i)
  }

  /** Durable states noted (a measure of the work checked). */
  get durableCount(): number {
    let n = 0
    for (const i of this.durableAt.values()) n += i
    return n
  }

  /** Which state of each key was last reported durable, so far, and the states under way. */
  durablePoint(): Map<string, number> & { inflight?: Map<string, string> } {
    return Object.assign(new Map(this.durableAt), { inflight: new Map(this.inflight) })
  }

  /**
   * Problems with what a restart found in `g`: `lost` durable states, and
   * states never held. `durableAt` (default: now) is a `durablePoint()` taken
   * earlier, for a restart from a copy of the disk taken then.
   */
  check(g: Gossip, durableAt: Map<string, number> & { inflight?: Map<string, string> } = this.durableAt): { lost: string[]; invented: string[] } {
    const lost: string[] = []
    const invented: string[] = []
    const inflight = durableAt.inflight ?? new Map<string, string>()
    for (const k of inflight.keys()) if (!this.states.has(k)) this.states.set(k, ['absent'])
    for (const [k, s] of this.states) {
      const got = encode(g.record(k))
      const from = durableAt.get(k) ?? 0
      if (s.indexOf(got, from) !== -1 || inflight.get(k) === got) continue
      if (s.indexOf(got) !== -1) lost.push(`${k}: found ${got}, but ${s[from]} (state ${from}) was durable`)
      else invented.push(`${k}: found ${got}, never held (${s.join(' > ')})`)
    }
    for (const r of g.records()) if (!this.states.has(r.key)) invented.push(`${r.key}: found ${encode(r)}, never held`)
    return { lost, invented }
  }
}

export interface RunResult {
  oracle: Oracle
  durable: Durable | null
  timers: FakeTimers
  /** Codes of every error a caller saw: thrown by a write, rejected by flush, or sent with 'degraded'. */
  seen: Set<string>
  /** Changes refused, and those whose refusal left state changed (must be none). */
  refused: number
  changedByRefusal: string[]
  /** Whether the store was degraded at the end, after its probes had time to run. */
  degradedAtEnd: boolean
  /** Durable changes missing (or states never held) after the restart in the middle of the workload. */
  restartProblems: string[]
}

/** The codes along an error's `cause` chain. */
export function codesOf(err: unknown): string[] {
  const out: string[] = []
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e !== undefined && e !== null && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string') out.push(e.code)
  }
  return out
}

export const storeConfig = (now: () => number) => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, now, tombstoneGrace: 1000 })

/** Open the node on `fs` as the workload does (also used for restarts). */
export function openOn(fs: MemFs, durability: 'write' | 'batch', timers: FakeTimers, now: () => number): Durable {
  return openDurable('A', storeConfig(now), {
    dir: DIR,
    fs,
    timers,
    durability,
    batchMs: 5,
    minCompactBytes: 1500,
    compactRatio: 2,
    snapshotEvery: 4,
    snapshotMs: 50,
    retryMs: 20,
    maxRetryMs: 80,
  })
}

/**
 * The workload: local sets and deletes, remote updates and tombstones from
 * B, tombstone collection, batches and flushes, enough bytes for several
 * compactions; then time for the store to recover from a failure.
 * Exceptions other than refusals propagate (a test failure).
 */
export async function runWorkload(fs: MemFs, durability: 'write' | 'batch', oracle = new Oracle(), ops = 40): Promise<RunResult> {
  let nowMs = START_MS
  const now = () => nowMs
  const timers = new FakeTimers()
  const res: RunResult = { oracle, durable: null, timers, seen: new Set(), refused: 0, changedByRefusal: [], degradedAtEnd: false, restartProblems: [] }
  const pad = 'p'.repeat(60)
  /** Open the node; false (the error noted) if that failed. */
  const open = (): boolean => {
    try {
      res.durable = openOn(fs, durability, timers, now)
    } catch (err) {
      res.durable = null
      for (const c of codesOf(err)) res.seen.add(c)
      return false
    }
    res.durable.store.on('degraded', (e) => codesOf(e).forEach((c) => res.seen.add(c)))
    return true
  }
  /** Run one change; refusals are counted and must leave `key` as it was. */
  const change = (g: Gossip, key: string, next: Rec | undefined, fn: () => void): void => {
    const before = encode(g.record(key))
    oracle.inflight.set(key, encode(next))
    try {
      fn()
    } catch (err) {
      oracle.inflight.clear()
      if (!(err instanceof RefusedError)) throw err
      res.refused++
      codesOf(err).forEach((c) => res.seen.add(c))
      if (encode(g.record(key)) !== before) res.changedByRefusal.push(key)
      return
    }
    oracle.inflight.clear()
    oracle.note(g, key)
    if (durability === 'write') oracle.durable(oracle.mark())
  }
  const flush = async (d: Durable): Promise<void> => {
    const mark = oracle.mark()
    try {
      await d.store.flush()
      oracle.durable(mark)
    } catch (err) {
      codesOf(err).forEach((c) => res.seen.add(c))
    }
  }
  const step = async (d: Durable, i: number): Promise<void> => {
    const { gossip, store } = d
    const replica = replicaOf(gossip)
    nowMs += 3
    const v = nowMs * 1000 + 500
    if (i % 9 === 4 || i % 9 === 8) {
      const key = 'b' + (i % 4)
      const rec: Rec = i % 9 === 4 ? { key, value: i, source_id: 'B', version: v } : { key, value: null, source_id: 'B', version: v, deleted: true }
      change(gossip, key, rec, () => replica.applyRemote(rec, replica.sourceOf(rec)))
    } else if (i % 7 === 6) {
      const key = 'k' + (i % 6)
      change(gossip, key, { key, value: null, deleted: true, source_id: 'A', version: 0 }, () => gossip.del(key))
    } else {
      const key = 'k' + (i % 6)
      change(gossip, key, { key, value: { i, pad }, source_id: 'A', version: 0 }, () => gossip.set(key, { i, pad }))
    }
    if (i % 3 === 2) timers.advance(7)
    if (durability === 'batch' && i % 5 === 4) await flush(d)
    if (i % 13 === 12) {
      nowMs += 2000
      const tombs = gossip.records().filter((r) => r.deleted === true).map((r) => r.key)
      for (const k of tombs) oracle.inflight.set(k, 'absent')
      gossip.collect()
      oracle.inflight.clear()
      for (const k of tombs) oracle.note(gossip, k)
      if (durability === 'write' && store.degraded === null) oracle.durable(oracle.mark())
    }
  }
  if (!open()) return res
  for (let i = 0; i < ops / 2; i++) await step(res.durable!, i)
  // A restart in the middle: a clean close, then the log is read back.
  await flush(res.durable!)
  res.durable!.store.close()
  if (!open()) return res
  // What the restart found must hold every durable change; changes only
  // accepted may be gone, and the node goes on from what it found.
  const found = oracle.check(res.durable!.gossip)
  res.restartProblems.push(...found.lost, ...found.invented)
  for (const k of oracle.keys()) oracle.note(res.durable!.gossip, k)
  for (let i = ops / 2; i < ops; i++) await step(res.durable!, i)
  for (let k = 0; k < 10; k++) timers.advance(100)
  if (durability === 'batch') await flush(res.durable!)
  res.degradedAtEnd = res.durable!.store.degraded !== null
  return res
}

/** Restart from `fs` and compare with `oracle`. Throws if the log cannot be opened. */
export function restartAndCheck(
  fs: MemFs,
  durability: 'write' | 'batch',
  oracle: Oracle,
  durableAt?: Map<string, number>,
): { lost: string[]; invented: string[]; warnings: string[] } {
  const d = openOn(fs, durability, new FakeTimers(), () => START_MS + 1_000_000)
  const r = oracle.check(d.gossip, durableAt)
  d.store.close()
  return { ...r, warnings: d.warnings }
}
