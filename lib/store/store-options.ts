import type { Limits } from '../protocol/validate.ts'
import { realTimers, type Timers } from '../transport/timers.ts'
import { realFs, type StoreFs } from './fs.ts'

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
  /**
   * Take the folder's lock (one process per folder) on the real disk.
   * Default: true with the real file system, false with an injected `fs`
   * (which may not be a disk at all); set true when `fs` wraps the real one.
   */
  lock?: boolean
  /** Wall clock, ms, to bound the versions read back (`openDurable` passes the gossip's). Default Date.now. */
  now?: () => number
  /** A version read back may be at most this far ahead of `now()`, ms. Default 300,000. */
  maxClockOffset?: number
  /** Limits on keys, ids and values read back. Default `DEFAULT_LIMITS`. */
  limits?: Partial<Limits>
}

/** Options with their defaults filled in. */
export type Settings = Required<Omit<StoreOptions, 'limits' | 'repair'>> & Pick<StoreOptions, 'limits' | 'repair'>

export function settings(opts: StoreOptions): Settings {
  return {
    ...opts,
    durability: opts.durability ?? 'batch',
    batchMs: opts.batchMs ?? 10,
    compactRatio: opts.compactRatio ?? 4,
    minCompactBytes: opts.minCompactBytes ?? 256 * 1024,
    compactOnHistory: opts.compactOnHistory ?? false,
    snapshotEvery: opts.snapshotEvery ?? 10_000,
    snapshotMs: opts.snapshotMs ?? 1000,
    retryMs: opts.retryMs ?? 1000,
    maxRetryMs: opts.maxRetryMs ?? 30_000,
    timers: opts.timers ?? realTimers,
    fs: opts.fs ?? realFs,
    lock: opts.lock ?? (opts.fs === undefined || opts.fs === realFs),
    now: opts.now ?? Date.now,
    maxClockOffset: opts.maxClockOffset ?? 300_000,
  }
}

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
