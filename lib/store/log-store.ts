import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'eventemitter3'
import type { Journal } from '../core/replica.ts'
import type { Rec } from '../core/types.ts'
import type { Limits } from '../protocol/validate.ts'
import { DEFAULT_LIMITS } from '../protocol/validate.ts'
import type { Gossip } from '../stream/gossip.ts'
import { realTimers, type Timers } from '../transport/timers.ts'
import { LogReplacedError, StoreClosedError, StoreDegradedError } from './errors.ts'
import { errorCode, realFs, type StoreFs } from './fs.ts'
import { LEASE_SPAN, LOG_VERSION, LineEncoder, clockJson, dropJson, leaseJson } from './log-format.ts'
import { LogFile } from './log-file.ts'
import { readHeader, readLog } from './log-reader.ts'
import type { Recovered } from './log-replay.ts'
import { logPaths, rewriteLog, type LogPaths } from './rewrite.ts'

/**
 * When a change is on disk:
 * - `write`: before `set` returns (write + fdatasync per change);
 * - `batch`: within `batchMs` (one write + fdatasync per batch), the default;
 *   until then it is only accepted: `await store.durable()` (or `flush()`)
 *   says when it is on disk;
 * - `none`: handed to the OS within `batchMs`; synced only by `flush()`,
 *   compaction and `close()`.
 */
export type Durability = 'write' | 'batch' | 'none'

export interface StoreOptions {
  /** Folder of the log (created if missing). */
  dir: string
  durability?: Durability
  /** Longest wait before a batch is written, ms. Default 10. */
  batchMs?: number
  /** Rewrite the log once it is this many times the live state. Default 4. */
  compactRatio?: number
  /** Never compact a log smaller than this, bytes. Default 256 KiB. */
  minCompactBytes?: number
  /** Also consider compacting whenever history emits 'compaction'. Default false. */
  compactOnHistory?: boolean
  /** Write a clock snapshot after this many appended lines. Default 10,000. */
  snapshotEvery?: number
  /** ... or when this many ms have passed since the last one and something changed. Default 1000. */
  snapshotMs?: number
  /**
   * Open a damaged log by keeping its valid prefix (reported in
   * `recovered.dropped` and the warnings) instead of refusing it. When
   * anything is dropped the node continues under a new generation.
   */
  repair?: boolean
  /** After a disk failure, first wait before probing the disk again, ms (doubles up to `maxRetryMs`). Default 1000. */
  retryMs?: number
  /** Longest wait between probes, ms. Default 30,000. */
  maxRetryMs?: number
  timers?: Timers
  /** The file system; default the real one (tests inject faults here). */
  fs?: StoreFs
  /** Wall clock, ms, to bound the versions read back (`openDurable` passes the gossip's). Default Date.now. */
  now?: () => number
  /** A version read back may be at most this far ahead of `now()`, ms. Default 300,000. */
  maxClockOffset?: number
  /** Limits on keys, ids and values read back. Default `DEFAULT_LIMITS`. */
  limits?: Partial<Limits>
}

const LOG = 'log.ndjson'
/** Pending characters that make a batch go out before its timer. */
const MAX_PENDING = 1 << 20
/** Bytes a line adds to its payload: `["<crc>",` and `]\n`. */
const FRAMING = 14

export interface StoreStats {
  /** Bytes in the log file. */
  bytes: number
  /** Lines appended since the log was last rewritten. */
  appended: number
  compactions: number
  /** fdatasync calls made on the log. */
  syncs: number
  /** Disk failures seen (each one makes or keeps the store degraded). */
  failures: number
  /** Times the store left degraded mode. */
  recoveries: number
}

/** Whether the store takes writes, for status displays. */
export interface StoreStatus {
  degraded: boolean
  /** The latest disk failure while degraded, else null. */
  error: string | null
  code: string | null
  /** `timers.now()` when the store became degraded, else null. */
  since: number | null
}

export interface StoreEvents {
  /** A disk failure: writes are refused from now on, reads and gossip go on. */
  degraded: [error: Error]
  /** A probe rewrote the log from memory: writes are taken again. */
  recovered: []
}

interface Waiter {
  seq: number
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * An append-only log of one node's changes, its clocks and its version
 * leases, written ahead of state through the gossip's journal.
 *
 * Invariants:
 * - A change enters state only after its line was accepted: written and
 *   synced (`write`, and any write that raises the lease), or queued
 *   (`batch`, `none`). A failure refuses it: state stays as it was.
 * - A change is reported durable (`durable()`, `flush()`) only once an
 *   fdatasync that covers it completed; nothing reported durable is lost.
 * - After any disk failure the store is degraded: every write is refused
 *   at once until a probe rewrites the whole log from memory (which makes
 *   every change accepted so far durable). Nothing here throws out of a
 *   timer or an event.
 * - Nothing is written to a file that is no longer the one at the path.
 * - At any moment (crash included) the file is a loadable log: appends add
 *   checksummed lines, a torn tail after the last synced offset is cut on
 *   open, and rewrites replace the file atomically.
 */
export class LogStore extends EventEmitter<StoreEvents> {
  readonly dir: string
  readonly file: string
  readonly durability: Durability
  /** What was loaded from the folder; null for a fresh one. */
  readonly recovered: Recovered | null
  readonly id: string
  readonly generation: string
  readonly stats: StoreStats = { bytes: 0, appended: 0, compactions: 0, syncs: 0, failures: 0, recoveries: 0 }
  /** Pass to `gossip.attachJournal` (`attach` does). */
  readonly journal: Journal
  private readonly fs: StoreFs
  private readonly paths: LogPaths
  private readonly timers: Timers
  private readonly opts: Required<Omit<StoreOptions, 'dir' | 'durability' | 'timers' | 'fs' | 'now' | 'limits' | 'maxClockOffset' | 'repair'>>
  private readonly homeDev: number
  private log: LogFile | null
  /** Payloads accepted and not yet written, and their length (UTF-16 units plus framing). */
  private pending: string[] = []
  private pendingBytes = 0
  private readonly encoder = new LineEncoder()
  private batchTimer: unknown = null
  private retryTimer: unknown = null
  private retryDelay: number
  private lease: number
  private gossip: Gossip | null = null
  private closed = false
  private failure: Error | null = null
  private failedAt = 0
  /** Changes accepted, and how many of them are known to be on disk. */
  private seq = 0
  private syncedSeq = 0
  private waiters: Waiter[] = []
  private linesSinceSnapshot = 0
  private lastSnapshotAt = 0
  /** Record lines written and their bytes: the average estimates the live state's size. */
  private recLines: number
  private recBytes: number

  /**
   * Open (or create) the log in `opts.dir` for node `id` and recover what is
   * there. A fresh folder, or a log that repair had to cut, gets a new
   * generation, so that a node which lost data never reuses the versions of
   * its earlier life. Throws `LogCorruptError` for a damaged log (unless
   * `repair`), and the file system's error when the folder cannot be used.
   */
  constructor(id: string, opts: StoreOptions) {
    super()
    this.fs = opts.fs ?? realFs
    this.dir = opts.dir
    this.paths = logPaths(opts.dir, LOG)
    this.file = this.paths.file
    this.durability = opts.durability ?? 'batch'
    this.timers = opts.timers ?? realTimers
    this.opts = {
      batchMs: opts.batchMs ?? 10,
      compactRatio: opts.compactRatio ?? 4,
      minCompactBytes: opts.minCompactBytes ?? 256 * 1024,
      compactOnHistory: opts.compactOnHistory ?? false,
      snapshotEvery: opts.snapshotEvery ?? 10_000,
      snapshotMs: opts.snapshotMs ?? 1000,
      retryMs: opts.retryMs ?? 1000,
      maxRetryMs: opts.maxRetryMs ?? 30_000,
    }
    this.retryDelay = this.opts.retryMs
    this.id = id
    const fs = this.fs
    fs.mkdir(this.dir)
    this.homeDev = fs.stat(this.dir).dev
    removeIfPresent(fs, this.paths.tmp) // an unfinished rewrite
    const nowMs = (opts.now ?? Date.now)()
    const offsetMs = opts.maxClockOffset ?? 300_000
    const r = exists(fs, this.file)
      ? readLog(this.file, {
          fs,
          repair: opts.repair,
          sidecar: this.paths.sidecar,
          bounds: { limits: { ...DEFAULT_LIMITS, ...opts.limits }, now: nowMs * 1000, maxVersion: (nowMs + offsetMs) * 1000 },
        })
      : null
    if (r !== null && r.header.id !== '' && r.header.id !== id) {
      throw new Error(`${this.file} belongs to node ${JSON.stringify(r.header.id)}, not ${JSON.stringify(id)}`)
    }
    const lostData = r === null || r.header.id === '' || r.dropped !== null
    this.generation = lostData ? newId() : r.header.gen
    this.recovered = r
    this.lease = r?.version ?? 0
    this.recLines = r?.recordLines ?? 0
    this.recBytes = r?.recordBytes ?? 0
    if (r === null || lostData || r.format !== LOG_VERSION) {
      this.log = rewriteLog(fs, this.paths, {
        header: { store: LOG_VERSION, id, gen: this.generation, file: newId() },
        records: r?.records.values() ?? [],
        sources: r?.sources ?? [],
        version: r?.version ?? 0,
        lease: this.lease,
      })
      if (r !== null && r.format === 1) r.warnings.push(`${this.file}: converted from format 1 to format ${LOG_VERSION}`)
      if (r !== null && lostData) r.warnings.push(`${this.file}: repaired; the node continues under a new generation (${this.generation})`)
    } else {
      this.log = this.openLog(r)
    }
    this.stats.bytes = this.log.size
    this.journal = { append: (rec) => this.onAppend(rec), remove: (rec) => this.onRemove(rec) }
  }

  private openLog(r: Recovered): LogFile {
    return LogFile.open(this.fs, this.file, this.paths.sidecar, r.header.file!, r.goodBytes)
  }

  /**
   * Load what was recovered into `gossip` (before it has streams) and
   * journal every change from now on. The gossip must use this store's id
   * and generation.
   */
  attach(gossip: Gossip): void {
    if (this.gossip !== null) throw new Error('store already attached')
    if (gossip.id !== this.id || gossip.config.generation !== this.generation) {
      throw new Error(`attach: the gossip must have id ${JSON.stringify(this.id)} and config.generation ${JSON.stringify(this.generation)}`)
    }
    this.gossip = gossip
    const r = this.recovered
    if (r !== null) gossip.restore({ records: r.records.values(), sources: r.sources, version: r.version })
    gossip.attachJournal(this.journal)
    if (this.opts.compactOnHistory) {
      gossip.history.on('compaction', () => {
        if (this.failure === null && !this.closed && this.compactionDue()) this.tryRewrite(false)
      })
    }
  }

  /** The last disk failure while degraded (writes are refused), else null. */
  get degraded(): Error | null {
    return this.failure
  }

  status(): StoreStatus {
    const f = this.failure
    return { degraded: f !== null, error: f?.message ?? null, code: f === null ? null : (errorCode(f) ?? f.name), since: f === null ? null : this.failedAt }
  }

  // ---- the journal: called before a change enters state; a throw refuses it ----

  private onAppend(rec: Rec): void {
    this.writable()
    if (this.compactionDue()) this.rewrite(false)
    const payload = JSON.stringify(rec)
    // A local version above the lease is reserved on disk before the write
    // can reach any peer, so a restart never reuses a version a peer may hold.
    const own = rec.source_id === this.id && rec.gen === this.generation
    const lease = own && rec.version > this.lease ? rec.version + LEASE_SPAN : this.lease
    const from = this.reserve(payload.length, lease !== this.lease)
    if (lease !== this.lease) this.pending.push(leaseJson(lease))
    this.pending.push(payload)
    this.accept(from, lease !== this.lease)
    this.lease = lease
    this.recLines++
    this.recBytes += payload.length + FRAMING
  }

  private onRemove(rec: Rec): void {
    this.writable()
    const payload = dropJson(rec)
    this.accept(this.reserve(payload.length, false), false, payload)
  }

  private writable(): void {
    if (this.closed) throw new StoreClosedError()
    if (this.failure !== null) throw new StoreDegradedError(this.failure)
  }

  /**
   * Make room for a change of about `chars` (a batch that would grow past
   * MAX_PENDING goes out first), and queue a clock snapshot when one is
   * due. Returns where the change's lines start in `pending`. Throws when
   * the batch that had to go out failed.
   */
  private reserve(chars: number, mustSync: boolean): number {
    if (!mustSync && this.durability !== 'write' && this.pendingBytes + chars > MAX_PENDING) this.writeOut(this.durability === 'batch')
    const from = this.pending.length
    if (this.snapshotDue()) this.pending.push(this.snapshotPayload())
    return from
  }

  /**
   * Accept the change whose lines are `pending[from..]` (plus `last`):
   * written and synced now (`write` mode, or `mustSync`), else queued for
   * the batch. Throws when refused (the store is then degraded).
   */
  private accept(from: number, mustSync: boolean, last?: string): void {
    if (last !== undefined) this.pending.push(last)
    for (let i = from; i < this.pending.length; i++) this.pendingBytes += this.pending[i].length + FRAMING
    this.seq++
    if (this.durability === 'write' || mustSync) {
      try {
        this.writeOut(true)
      } catch (err) {
        this.seq--
        throw err
      }
    } else if (this.batchTimer === null) {
      this.batchTimer = this.timers.setTimeout(this.onBatchTimer, this.opts.batchMs)
    }
    this.stats.appended += this.pending.length - from
    this.linesSinceSnapshot++
  }

  private readonly onBatchTimer = (): void => {
    this.batchTimer = null
    if (this.failure !== null || this.closed) return
    try {
      this.writeOut(this.durability === 'batch')
    } catch {
      // Degraded: reported by the 'degraded' event and to the waiters.
    }
  }

  /**
   * Write the pending lines (and fdatasync them when `sync`), after checking
   * that the path still names the open file. A failure degrades the store
   * and is thrown; the partial bytes are cut (best effort).
   */
  private writeOut(sync: boolean): void {
    this.clearBatchTimer()
    const log = this.log
    if (log === null) throw new StoreDegradedError(this.failure ?? new Error('no log open'))
    if (this.pending.length === 0 && (!sync || this.syncedSeq === this.seq)) return
    const before = log.size
    const target = this.seq
    try {
      log.checkIdentity()
      if (this.pending.length > 0) {
        const enc = this.encoder
        for (const p of this.pending) enc.add(p)
        this.pending = []
        this.pendingBytes = 0
        log.append(enc.take())
      }
      if (sync) {
        log.sync()
        this.stats.syncs++
      }
    } catch (err) {
      log.rollback(before)
      this.stats.bytes = log.size
      this.degrade(err)
      throw err
    }
    this.stats.bytes = log.size
    if (!sync) return
    this.markSynced(target)
    try {
      log.mark()
      this.stats.bytes = log.size
    } catch (err) {
      // What was synced stays synced; the next write needs a healthy disk.
      log.rollback(log.synced)
      this.degrade(err)
    }
  }

  // ---- durability ----

  /**
   * Write and fdatasync everything accepted so far, now. Resolves once it is
   * on disk; rejects with the disk's error if that failed (the changes stay
   * in memory, accepted but not durable, until the store recovers). The
   * promise may be ignored: a rejection nobody awaits is not reported as
   * unhandled.
   */
  flush(): Promise<void> {
    if (!this.closed && this.failure === null && (this.pending.length > 0 || this.syncedSeq < this.seq)) {
      try {
        this.writeOut(true)
      } catch {
        // Degraded: the promise below rejects with the error.
      }
    }
    return this.whenSynced()
  }

  /**
   * Resolves once everything accepted so far is on disk: at once in `write`
   * mode, after the next batch in `batch` mode (in `none` mode it syncs now,
   * as `flush()`). Rejects if the batch holding those changes fails.
   */
  durable(): Promise<void> {
    return this.durability === 'none' ? this.flush() : this.whenSynced()
  }

  private whenSynced(): Promise<void> {
    let p: Promise<void>
    if (this.syncedSeq >= this.seq) p = Promise.resolve()
    else if (this.failure !== null || this.closed) p = Promise.reject(this.failure ?? new StoreClosedError())
    else p = new Promise((resolve, reject) => this.waiters.push({ seq: this.seq, resolve, reject }))
    p.catch(() => {})
    return p
  }

  private markSynced(seq: number): void {
    if (seq > this.syncedSeq) this.syncedSeq = seq
    let i = 0
    while (i < this.waiters.length && this.waiters[i].seq <= this.syncedSeq) this.waiters[i++].resolve()
    if (i > 0) this.waiters = this.waiters.slice(i)
  }

  // ---- degraded mode ----

  /** Enter (or stay in) degraded mode after `err`; the accepted changes not yet on disk are no longer promised. */
  private degrade(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err))
    this.stats.failures++
    this.pending = []
    this.pendingBytes = 0
    this.clearBatchTimer()
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(e)
    const entering = this.failure === null
    this.failure = e
    if (!entering) return
    this.failedAt = this.timers.now()
    this.retryDelay = this.opts.retryMs
    this.scheduleProbe()
    this.emitSafe('degraded', e)
  }

  private scheduleProbe(): void {
    if (this.closed || this.retryTimer !== null) return
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null
      this.probe()
    }, this.retryDelay)
  }

  /** Try to rewrite the log from memory; on success the store takes writes again. */
  private probe(): void {
    if (this.closed || this.failure === null) return
    if (!this.tryRewrite(true)) {
      this.retryDelay = Math.min(this.retryDelay * 2, this.opts.maxRetryMs)
      this.scheduleProbe()
    }
  }

  private emitSafe<K extends keyof StoreEvents>(event: K, ...args: StoreEvents[K]): void {
    try {
      ;(this.emit as (e: K, ...a: StoreEvents[K]) => boolean)(event, ...args)
    } catch {
      // A listener that throws must not stop the store.
    }
  }

  // ---- snapshots and rewrites ----

  private snapshotDue(): boolean {
    return this.gossip !== null && (this.linesSinceSnapshot >= this.opts.snapshotEvery || this.timers.now() - this.lastSnapshotAt >= this.opts.snapshotMs)
  }

  private snapshotPayload(): string {
    const g = this.gossip!
    this.linesSinceSnapshot = 0
    this.lastSnapshotAt = this.timers.now()
    return clockJson(g.sources(), g.version)
  }

  /** Append the current clocks now, so a restart resumes without asking for what it had. */
  snapshot(): void {
    if (this.gossip === null || this.closed || this.failure !== null) return
    try {
      this.accept(this.pending.length, false, this.snapshotPayload())
    } catch {
      // Degraded: reported by the 'degraded' event.
    }
  }

  private compactionDue(): boolean {
    const g = this.gossip
    if (g === null || this.log === null) return false
    const bytes = this.log.size + this.pendingBytes
    if (bytes < this.opts.minCompactBytes || this.recLines === 0) return false
    return bytes > this.opts.compactRatio * g.size * (this.recBytes / this.recLines)
  }

  /**
   * Rewrite the log from the live state now. Also the way out of degraded
   * mode without waiting for the next probe. Returns whether it succeeded
   * (if not, the store is degraded and `degraded` holds the error).
   */
  compact(): boolean {
    if (this.gossip === null || this.closed) return false
    return this.tryRewrite(this.failure !== null)
  }

  private tryRewrite(probe: boolean): boolean {
    try {
      this.rewrite(probe)
      return true
    } catch {
      return false
    }
  }

  /**
   * Rewrite the log from the live state (see `rewriteLog`), which covers
   * every change accepted so far. The path must still name the open file;
   * a probe may also write where the log was removed, or over a log of this
   * same node and generation, never over anything else. Throws (degraded)
   * on failure; on success a degraded store recovers.
   */
  private rewrite(probe: boolean): void {
    const g = this.gossip!
    const fs = this.fs
    try {
      const dev = fs.stat(this.dir).dev
      if (dev !== this.homeDev) throw new LogReplacedError(`${this.dir} is now on another file system (device ${dev}, was ${this.homeDev}): remount it, or restart the node`)
      this.ownsPath(probe)
      const fresh = rewriteLog(fs, this.paths, {
        header: { store: LOG_VERSION, id: this.id, gen: this.generation, file: newId() },
        records: g.records(),
        sources: g.sources(),
        version: g.version,
        lease: this.lease,
      })
      this.log?.close()
      this.log = fresh
    } catch (err) {
      this.degrade(err)
      throw err
    }
    this.pending = []
    this.pendingBytes = 0
    this.clearBatchTimer()
    this.markSynced(this.seq)
    this.stats.bytes = this.log.size
    this.stats.appended = 0
    this.stats.compactions++
    this.linesSinceSnapshot = 0
    this.lastSnapshotAt = this.timers.now()
    if (this.failure !== null) {
      this.failure = null
      this.stats.recoveries++
      this.emitSafe('recovered')
    }
  }

  /** Throws unless the path names the open log, or (`probe`) nothing, or a log of this node and generation. */
  private ownsPath(probe: boolean): void {
    if (this.log !== null) {
      try {
        this.log.checkIdentity()
        return
      } catch (err) {
        if (!probe || !(err instanceof LogReplacedError)) throw err
      }
    }
    if (!exists(this.fs, this.file)) return
    const h = readHeader(this.fs, this.file)
    if (h === null || h.id !== this.id || h.gen !== this.generation) {
      throw new LogReplacedError(`${this.file} was replaced by a file that is not this node's log; restart the node to load it, or move it away`)
    }
  }

  private clearBatchTimer(): void {
    if (this.batchTimer !== null) {
      this.timers.clearTimeout(this.batchTimer)
      this.batchTimer = null
    }
  }

  /**
   * Write a final clock snapshot, sync, and close the file (a degraded store
   * first tries once more to rewrite the log from memory). Never throws: a
   * failure is reported by the 'degraded' event (and `flush()` before
   * `close()` says whether everything reached the disk). Writes after this
   * are refused.
   */
  close(): void {
    if (this.closed) return
    // Degraded: one last probe, so that what was only accepted may still be kept.
    if (this.failure !== null && this.gossip !== null) this.tryRewrite(true)
    if (this.failure === null && this.gossip !== null && this.log !== null) {
      this.pending.push(this.snapshotPayload())
      try {
        this.writeOut(true)
      } catch {
        // Degraded: reported by the 'degraded' event.
      }
    }
    this.closed = true
    this.clearBatchTimer()
    if (this.retryTimer !== null) {
      this.timers.clearTimeout(this.retryTimer)
      this.retryTimer = null
    }
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(this.failure ?? new StoreClosedError())
    this.log?.close()
    this.log = null
  }
}

function newId(): string {
  return randomBytes(6).toString('base64url')
}

function exists(fs: StoreFs, file: string): boolean {
  try {
    fs.stat(file)
    return true
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false
    throw err
  }
}

function removeIfPresent(fs: StoreFs, file: string): void {
  try {
    fs.unlink(file)
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err
  }
}
