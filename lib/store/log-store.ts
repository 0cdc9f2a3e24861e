/** The log store: the gossip's journal writes each change ahead of state, batches fsync by durability mode, compacts, and enters and leaves degraded mode. */
import { EventEmitter } from 'eventemitter3'
import type { Journal } from '../core/replica.ts'
import type { Rec } from '../core/types.ts'
import type { Gossip } from '../stream/gossip.ts'
import { DiskHealth } from './disk-health.ts'
import { StoreClosedError, StoreDegradedError } from './errors.ts'
import { realFs, type StoreFs } from './fs.ts'
import { lockFolder } from './folder-lock.ts'
import { LEASE_SPAN, LOG_VERSION, clockJson, dropJson, leaseJson, recordJson } from './log-format.ts'
import type { LogFile } from './log-file.ts'
import { savedForgotten, type Recovered } from './log-replay.ts'
import { notAFolder } from './not-a-folder.ts'
import { makeFolder, newId, openFolder } from './open-folder.ts'
import { FRAMING, PendingLines } from './pending-lines.ts'
import { guardRewrite, logPaths, rewriteLog, type LogPaths } from './rewrite.ts'
import { settings, type Durability, type Settings, type StoreEvents, type StoreOptions, type StoreStats, type StoreStatus } from './store-options.ts'
import { SyncWaiters } from './sync-waiters.ts'

export type { Durability, StoreEvents, StoreOptions, StoreStats, StoreStatus } from './store-options.ts'

const LOG = 'log.ndjson'
/** Pending characters that make a batch go out before its timer. */
const MAX_PENDING = 1 << 20
/** Clock line bytes a snapshot may take per `snapshotMs` (see `snapshotDue`). */
const SNAPSHOT_BYTES = 64 * 1024

/**
 * An append-only log of one node's changes, its clocks and its version
 * leases, written ahead of state through the gossip's journal.
 *
 * Invariants:
 * - A change enters state only after its line was accepted: written and
 *   synced (`write` mode, and any write that raises the lease), or queued
 *   (`batch`, `none`). A failure refuses it: state stays as it was.
 * - A change is reported durable (`durable()`, `flush()`) only once an
 *   fdatasync that covers it completed; nothing reported durable is lost.
 * - After any disk failure the store is degraded: every write is refused
 *   at once until a probe rewrites the whole log from memory (which makes
 *   every change accepted so far durable). Nothing here throws out of a
 *   timer or an event.
 * - Nothing is written to a file that is no longer the one at the path,
 *   and nothing is ever written again to a file whose write or sync failed.
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
  private readonly s: Settings
  private readonly fs: StoreFs
  private readonly paths: LogPaths
  private readonly homeDev: number
  private readonly health: DiskHealth
  private readonly sync = new SyncWaiters()
  private log: LogFile | null
  private readonly pending = new PendingLines()
  private batchTimer: unknown = null
  private lease: number
  /** Releases the folder's lock (a no-op on a file system other than the real one). */
  private unlock: () => void = () => {}
  private gossip: Gossip | null = null
  private closed = false
  private linesSinceSnapshot = 0
  private lastSnapshotAt = 0
  /** Record lines written and their bytes: the average estimates the live records' size. */
  private recLines: number
  private recBytes: number
  /** Bytes of the latest clock snapshot line: live state too (it grows with the sources, not the keys). */
  private clockBytes = 0
  /** The log's size just after the last rewrite (0 before one): what a rewrite of this state takes at least. */
  private rewrittenBytes = 0
  /** Average bytes of a drop line of a remembered tombstone (measured at open; after a rewrite, `rewrittenBytes` counts them whole). */
  private dropLineBytes = 80

  /**
   * Open (or create) the log in `opts.dir` for node `id` and recover what is
   * there (see `openFolder`). Throws `LogCorruptError` for a damaged log
   * (unless `repair`), and the file system's error when the folder cannot
   * be used.
   */
  constructor(id: string, opts: StoreOptions) {
    super()
    this.s = settings(opts)
    this.fs = this.s.fs
    this.id = id
    this.dir = opts.dir
    this.paths = logPaths(opts.dir, LOG)
    this.file = this.paths.file
    this.durability = this.s.durability
    if (this.fs === realFs) {
      const problem = notAFolder(this.dir)
      if (problem !== null) throw Object.assign(new Error(`cannot use store option dir ${JSON.stringify(this.dir)}: ${problem}`), { code: 'ENOTDIR' })
      makeFolder(realFs, this.dir)
    }
    if (this.s.lock) this.unlock = lockFolder(this.dir)
    let opened: ReturnType<typeof openFolder> | null = null
    try {
      opened = openFolder(id, this.paths, this.s)
      this.homeDev = this.fs.stat(this.dir).dev
    } catch (err) {
      opened?.log.close()
      this.unlock()
      throw err
    }
    this.log = opened.log
    this.recovered = opened.recovered
    this.generation = opened.generation
    this.lease = opened.recovered?.version ?? 0
    this.recLines = opened.recovered?.recordLines ?? 0
    this.recBytes = opened.recovered?.recordBytes ?? 0
    this.stats.bytes = this.log.size
    this.health = new DiskHealth(this.s.timers, this.s.retryMs, this.s.maxRetryMs, () => this.tryRewrite(true))
    this.journal = { append: (rec) => this.onAppend(rec), remove: (rec) => this.onRemove(rec) }
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
    if (r !== null) gossip.restore({ records: r.records.values(), sources: r.sources, version: r.version, forgotten: savedForgotten(r), appliedAt: r.appliedAt })
    this.clockBytes = clockJson(gossip.sources(), gossip.version, gossip.forgotten().floor).length + FRAMING
    this.measureForgotten()
    gossip.attachJournal(this.journal)
    if (this.s.compactOnHistory) {
      gossip.history.on('compaction', () => {
        if (this.health.failure === null && !this.closed && this.compactionDue()) this.tryRewrite(false)
      })
    }
  }

  /** The latest disk failure while degraded (writes are refused), else null. */
  get degraded(): Error | null {
    return this.health.failure
  }

  status(): StoreStatus {
    return this.health.status()
  }

  // ---- the journal: called before a change enters state; a throw refuses it ----

  private onAppend(rec: Rec): void {
    this.writable()
    if (this.compactionDue()) this.rewrite(false)
    const payload = rec.deleted === true ? recordJson(rec, this.gossip?.config.now()) : JSON.stringify(rec)
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
    if (this.health.failure !== null) throw new StoreDegradedError(this.health.failure)
  }

  /**
   * Make room for a change of about `chars` (a batch that would grow past
   * MAX_PENDING goes out first), and queue a clock snapshot when one is
   * due. Returns where the change's lines start in `pending`. Throws when
   * the batch that had to go out failed.
   */
  private reserve(chars: number, mustSync: boolean): number {
    if (!mustSync && this.durability !== 'write' && this.pending.chars + chars > MAX_PENDING) this.writeOut(this.durability === 'batch')
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
    const lines = this.pending.length - from
    this.sync.seq++
    if (this.durability === 'write' || mustSync) {
      try {
        this.writeOut(true)
      } catch (err) {
        this.sync.seq--
        throw err
      }
    } else if (this.batchTimer === null) {
      this.batchTimer = this.s.timers.setTimeout(this.onBatchTimer, this.s.batchMs)
    }
    this.stats.appended += lines
    this.linesSinceSnapshot++
  }

  private readonly onBatchTimer = (): void => {
    this.batchTimer = null
    if (this.health.failure !== null || this.closed) return
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
    if (log === null) throw new StoreClosedError()
    if (this.pending.length === 0 && (!sync || this.sync.allSynced)) return
    const before = log.size
    const target = this.sync.seq
    try {
      log.checkIdentity()
      if (this.pending.length > 0) log.append(this.pending.take())
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
    this.sync.markSynced(target)
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
    if (!this.closed && this.health.failure === null && (this.pending.length > 0 || !this.sync.allSynced)) {
      try {
        this.writeOut(true)
      } catch {
        // Degraded: the promise below rejects with the error.
      }
    }
    return this.sync.wait(this.health.failure ?? (this.closed ? new StoreClosedError() : null))
  }

  /**
   * Resolves once everything accepted so far is on disk: at once in `write`
   * mode, after the next batch in `batch` mode (in `none` mode it syncs now,
   * as `flush()`). Rejects if the batch holding those changes fails.
   */
  durable(): Promise<void> {
    if (this.durability === 'none') return this.flush()
    return this.sync.wait(this.health.failure ?? (this.closed ? new StoreClosedError() : null))
  }

  /** Enter (or stay in) degraded mode after `err`; the accepted changes not yet on disk are no longer promised. */
  private degrade(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err))
    this.stats.failures++
    this.pending.clear()
    this.clearBatchTimer()
    this.sync.rejectAll(e)
    if (this.health.fail(e)) this.emitSafe('degraded', e)
  }

  private emitSafe<K extends keyof StoreEvents>(event: K, ...args: StoreEvents[K]): void {
    try {
      ;(this.emit as (e: K, ...a: StoreEvents[K]) => boolean)(event, ...args)
    } catch {
      // A listener that throws must not stop the store.
    }
  }

  // ---- snapshots and rewrites ----

  /**
   * After `snapshotEvery` lines, or `snapshotMs` after the last snapshot,
   * stretched by the snapshot's size (one more `snapshotMs` per 64 KiB of
   * clock line): a trickle of changes from a node of many sources writes
   * its clocks about as often in bytes as a small node does.
   */
  private snapshotDue(): boolean {
    const stretch = Math.max(1, this.clockBytes / SNAPSHOT_BYTES)
    return this.gossip !== null && (this.linesSinceSnapshot >= this.s.snapshotEvery || this.s.timers.now() - this.lastSnapshotAt >= this.s.snapshotMs * stretch)
  }

  private snapshotPayload(): string {
    const g = this.gossip!
    this.linesSinceSnapshot = 0
    this.lastSnapshotAt = this.s.timers.now()
    const payload = clockJson(g.sources(), g.version, g.forgotten().floor)
    this.clockBytes = payload.length + FRAMING
    return payload
  }

  /** Append the current clocks now, so a restart resumes without asking for what it had. */
  snapshot(): void {
    if (this.gossip === null || this.closed || this.health.failure !== null) return
    try {
      this.accept(this.pending.length, false, this.snapshotPayload())
    } catch {
      // Degraded: reported by the 'degraded' event.
    }
  }

  /**
   * Whether the log is past `compactRatio` times the live state: the live
   * records (at the average record line's size), the drop lines of the
   * remembered tombstones (a rewrite keeps them), the clock snapshot, and
   * never less than the log just after the last rewrite (which is what the
   * state took when written whole). So a rewrite is only due after at least
   * `compactRatio - 1` times its own size was appended since the last one:
   * rewrites cost O(1) amortised per byte appended, whatever the state's
   * shape (many sources and few keys included).
   */
  private compactionDue(): boolean {
    const g = this.gossip
    if (g === null || this.log === null) return false
    const bytes = this.log.size + this.pending.chars
    if (bytes < this.s.minCompactBytes) return false
    const records = this.recLines === 0 ? 0 : g.size * (this.recBytes / this.recLines)
    const forgotten = (g.forgotten().count ?? 0) * this.dropLineBytes
    return bytes > this.s.compactRatio * Math.max(records + this.clockBytes + forgotten, this.rewrittenBytes)
  }

  /** The average drop line of the remembered tombstones, which a rewrite keeps: part of the live state. */
  private measureForgotten(): void {
    let bytes = 0
    let n = 0
    for (const t of this.gossip!.forgotten().tombstones) {
      bytes += dropJson(t).length + FRAMING
      n++
    }
    if (n > 0) this.dropLineBytes = bytes / n
  }

  /**
   * Rewrite the log from the live state now. Also the way out of degraded
   * mode without waiting for the next probe. Returns whether it succeeded
   * (if not, the store is degraded and `degraded` holds the error).
   */
  compact(): boolean {
    if (this.gossip === null || this.closed) return false
    return this.tryRewrite(this.health.failure !== null)
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
    try {
      guardRewrite(this.fs, this.paths, this.log, { id: this.id, gen: this.generation, dev: this.homeDev }, probe)
      const fresh = rewriteLog(this.fs, this.paths, {
        header: { store: LOG_VERSION, id: this.id, gen: this.generation, file: newId() },
        records: g.records(),
        sources: g.sources(),
        version: g.version,
        lease: this.lease,
        forgotten: g.forgotten(),
        appliedAt: g.tombstoneTimes(),
      })
      this.log?.close()
      this.log = fresh
    } catch (err) {
      this.degrade(err)
      throw err
    }
    this.pending.clear()
    this.clearBatchTimer()
    this.sync.markSynced(this.sync.seq)
    this.stats.bytes = this.log.size
    this.rewrittenBytes = this.log.size
    this.stats.appended = 0
    this.stats.compactions++
    this.linesSinceSnapshot = 0
    this.lastSnapshotAt = this.s.timers.now()
    if (this.health.failure !== null) {
      this.health.healed()
      this.stats.recoveries++
      this.emitSafe('recovered')
    }
  }

  private clearBatchTimer(): void {
    if (this.batchTimer !== null) {
      this.s.timers.clearTimeout(this.batchTimer)
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
    if (this.health.failure !== null && this.gossip !== null) this.tryRewrite(true)
    if (this.health.failure === null && this.gossip !== null && this.log !== null) {
      this.pending.push(this.snapshotPayload())
      try {
        this.writeOut(true)
      } catch {
        // Degraded: reported by the 'degraded' event.
      }
    }
    this.closed = true
    this.clearBatchTimer()
    this.health.stop()
    this.sync.rejectAll(this.health.failure ?? new StoreClosedError())
    this.log?.close()
    this.log = null
    this.unlock()
  }
}
