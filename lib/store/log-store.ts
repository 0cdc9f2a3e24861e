import * as fs from 'node:fs'
import * as path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Rec } from '../core/types.ts'
import type { Gossip } from '../stream/gossip.ts'
import { realTimers, type Timers } from '../transport/timers.ts'
import {
  LOG_VERSION,
  clockLine,
  dropLine,
  headerLine,
  leaseLine,
  readLog,
  recordLine,
  type Recovered,
} from './log-format.ts'

/**
 * When an applied update is on disk:
 * - `write`: before `set` returns (write + fdatasync per update);
 * - `batch`: within `batchMs` (one write + fdatasync per batch), the default;
 * - `none`: handed to the OS within `batchMs`, never synced.
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
  timers?: Timers
}

const LOG = 'log.ndjson'
const TMP = 'log.ndjson.tmp'
/** A lease reserves this many versions ahead of the newest local write. */
const LEASE_SPAN = 1_000_000

export interface StoreStats {
  /** Bytes in the log file. */
  bytes: number
  /** Lines appended since the log was last rewritten. */
  appended: number
  compactions: number
  /** fdatasync calls made. */
  syncs: number
}

/**
 * An append-only ndjson log of one node's applied updates, its clocks and
 * its version leases. Invariant: at any moment (crash included) the file is
 * a loadable log: appends only add whole lines (a torn tail is cut on open),
 * and compaction replaces the file atomically (temp file, fsync, rename).
 */
export class LogStore {
  readonly dir: string
  readonly file: string
  readonly durability: Durability
  readonly recovered: Recovered | null
  readonly id: string
  readonly generation: string
  readonly stats: StoreStats = { bytes: 0, appended: 0, compactions: 0, syncs: 0 }
  private fd: number
  private pending: string[] = []
  private pendingBytes = 0
  private timer: unknown = null
  private lease = 0
  private gossip: Gossip | null = null
  private closed = false
  private linesSinceSnapshot = 0
  private lastSnapshotAt = 0
  /** Record lines written and their bytes: the average estimates the live state's size. */
  private recLines = 0
  private recBytes = 0
  private readonly opts: Required<Omit<StoreOptions, 'dir' | 'durability' | 'timers'>> & { timers: Timers }

  /**
   * Open (or create) the log in `opts.dir` for node `id`. Recovers what is
   * there; a fresh folder gets a new generation, so that a node which lost its
   * data never reuses the versions of its earlier life.
   */
  constructor(id: string, opts: StoreOptions) {
    this.dir = opts.dir
    this.file = path.join(opts.dir, LOG)
    this.durability = opts.durability ?? 'batch'
    this.opts = {
      batchMs: opts.batchMs ?? 10,
      compactRatio: opts.compactRatio ?? 4,
      minCompactBytes: opts.minCompactBytes ?? 256 * 1024,
      compactOnHistory: opts.compactOnHistory ?? false,
      snapshotEvery: opts.snapshotEvery ?? 10_000,
      snapshotMs: opts.snapshotMs ?? 1000,
      timers: opts.timers ?? realTimers,
    }
    fs.mkdirSync(this.dir, { recursive: true })
    if (fs.existsSync(path.join(this.dir, TMP))) fs.rmSync(path.join(this.dir, TMP)) // an unfinished compaction
    if (fs.existsSync(this.file)) {
      const r = readLog(this.file)
      if (r.header.id !== id) throw new Error(`${this.file} belongs to node ${JSON.stringify(r.header.id)}, not ${JSON.stringify(id)}`)
      if (r.goodBytes < r.bytes) fs.truncateSync(this.file, r.goodBytes)
      this.recovered = r
      this.generation = r.header.gen
      this.lease = r.version
    } else {
      this.recovered = null
      this.generation = randomBytes(6).toString('base64url')
      writeFileDurably(this.file, headerLine({ store: LOG_VERSION, id, gen: this.generation }))
    }
    this.id = id
    this.fd = fs.openSync(this.file, 'a')
    this.stats.bytes = fs.fstatSync(this.fd).size
  }

  /**
   * Load what was recovered into `gossip` (before it has streams) and log
   * every change from now on. The gossip must use this store's generation.
   */
  attach(gossip: Gossip): void {
    if (this.gossip !== null) throw new Error('store already attached')
    if (gossip.id !== this.id || gossip.config.generation !== this.generation) {
      throw new Error(`attach: the gossip must have id ${JSON.stringify(this.id)} and config.generation ${JSON.stringify(this.generation)}`)
    }
    this.gossip = gossip
    const r = this.recovered
    if (r !== null) gossip.restore({ records: r.records.values(), sources: r.sources, version: r.version })
    gossip.history.on('update', (u) => this.onUpdate(u))
    gossip.on('drop', (rec) => this.append(dropLine(rec)))
    if (this.opts.compactOnHistory) gossip.history.on('compaction', () => this.maybeCompact())
  }

  private onUpdate(u: Rec): void {
    const g = this.gossip!
    // A local version above the lease is reserved on disk before the write
    // can reach any peer (pushes follow this event), so a restart after a
    // crash never reuses a version a peer may have seen.
    if (u.source_id === g.id && u.gen === this.generation && u.version > this.lease) {
      this.lease = u.version + LEASE_SPAN
      this.flush()
      this.writeNow(leaseLine(this.lease), true)
    }
    const line = recordLine(u)
    this.recLines++
    this.recBytes += line.length
    this.append(line)
  }

  private append(line: string): void {
    if (this.closed) return
    this.stats.appended++
    this.linesSinceSnapshot++
    if (this.durability === 'write') {
      this.writeNow(line, true)
    } else {
      this.pending.push(line)
      this.pendingBytes += line.length
      if (this.pendingBytes > 1 << 20) this.flush()
      else if (this.timer === null) {
        this.timer = this.opts.timers.setTimeout(() => {
          this.timer = null
          this.flush()
        }, this.opts.batchMs)
      }
    }
    if (
      this.linesSinceSnapshot >= this.opts.snapshotEvery ||
      this.opts.timers.now() - this.lastSnapshotAt >= this.opts.snapshotMs
    ) {
      this.snapshot()
    } else this.maybeCompact()
  }

  /** Write what is pending now (and sync it, unless durability is 'none'). */
  flush(): void {
    if (this.timer !== null) {
      this.opts.timers.clearTimeout(this.timer)
      this.timer = null
    }
    if (this.pending.length === 0) return
    const text = this.pending.join('')
    this.pending = []
    this.pendingBytes = 0
    this.writeNow(text, this.durability !== 'none')
  }

  private writeNow(text: string, sync: boolean): void {
    const buf = Buffer.from(text, 'utf8')
    let off = 0
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off)
    this.stats.bytes += buf.length
    if (sync) {
      fs.fdatasyncSync(this.fd)
      this.stats.syncs++
    }
  }

  /** Append the current clocks, so a restart resumes without asking for what it had. */
  snapshot(): void {
    const g = this.gossip
    if (g === null || this.closed) return
    this.linesSinceSnapshot = 0
    this.lastSnapshotAt = this.opts.timers.now()
    this.pending.push(clockLine(g.sources(), g.version))
    if (this.durability === 'write') this.flush()
  }

  private maybeCompact(): void {
    const g = this.gossip
    if (g === null) return
    const bytes = this.stats.bytes + this.pendingBytes
    if (bytes < this.opts.minCompactBytes || this.recLines === 0) return
    const live = g.size * (this.recBytes / this.recLines)
    if (bytes > this.opts.compactRatio * live) this.compact()
  }

  /**
   * Rewrite the log from the live state: header, records, clocks, lease.
   * Written to a temp file, synced, then renamed over the log, so a crash at
   * any point leaves either the old log or the new one, both loadable.
   */
  compact(): void {
    const g = this.gossip
    if (g === null || this.closed) return
    this.flush()
    const tmp = path.join(this.dir, TMP)
    const fd = fs.openSync(tmp, 'w')
    let size = 0
    let chunk = headerLine({ store: LOG_VERSION, id: this.id, gen: this.generation })
    const put = (force: boolean) => {
      if (!force && chunk.length < 1 << 20) return
      const b = Buffer.from(chunk, 'utf8')
      let off = 0
      while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off)
      size += b.length
      chunk = ''
    }
    for (const rec of g.records()) {
      chunk += recordLine(rec)
      put(false)
    }
    chunk += clockLine(g.sources(), g.version) + leaseLine(this.lease)
    put(true)
    fs.fdatasyncSync(fd)
    fs.closeSync(fd)
    fs.renameSync(tmp, this.file)
    syncDir(this.dir)
    fs.closeSync(this.fd)
    this.fd = fs.openSync(this.file, 'a')
    this.stats.bytes = size
    this.stats.appended = 0
    this.stats.compactions++
    this.linesSinceSnapshot = 0
  }

  /** Flush, write a final clock snapshot, and close the file. */
  close(): void {
    if (this.closed) return
    this.snapshot()
    this.flush()
    this.closed = true
    fs.closeSync(this.fd)
  }
}

function writeFileDurably(file: string, text: string): void {
  const fd = fs.openSync(file, 'w')
  fs.writeSync(fd, text)
  fs.fdatasyncSync(fd)
  fs.closeSync(fd)
  syncDir(path.dirname(file))
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
    fs.closeSync(fd)
  } catch {
    // Some platforms cannot sync a directory; the rename is still atomic.
  }
}
