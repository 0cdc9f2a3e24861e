import { shown, warnUnknownKeys } from '../config.ts'
import type { Limits } from '../protocol/validate.ts'
import { realTimers, type Timers } from '../transport/timers.ts'
import { realFs, type StoreFs } from './fs.ts'
import { booleanOption, numberOption, objectOption } from './option-checks.ts'

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
  /** Folder of the log (created if missing, with its parents), a non-empty string. */
  dir: string
  durability?: Durability
  /** Longest wait before a batch is written, ms, at least 0. Default 10. */
  batchMs?: number
  /** Rewrite the log once it is this many times the live state: more than 1 (Infinity: never). Default 4. */
  compactRatio?: number
  /** Never compact a log smaller than this, bytes, at least 0 (Infinity: never). Default 256 KiB. */
  minCompactBytes?: number
  /** Also consider compacting whenever history emits 'compaction'. Default false. */
  compactOnHistory?: boolean
  /** Write a clock snapshot after this many appended lines: a positive integer, or Infinity. Default 10,000. */
  snapshotEvery?: number
  /** ... or when this many ms (more than 0, or Infinity) have passed since the last one and something changed. Default 1000. */
  snapshotMs?: number
  /**
   * Open a damaged log by keeping its valid prefix (reported in
   * `recovered.dropped` and the warnings) instead of refusing it. When
   * anything is dropped the node continues under a new generation.
   */
  repair?: boolean
  /** After a disk failure, first wait before probing the disk again, ms, more than 0 (doubles up to `maxRetryMs`). Default 1000. */
  retryMs?: number
  /** Longest wait between probes, ms, at least `retryMs`. Default 30,000 (or `retryMs` when that is longer). */
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

/** Every option `StoreOptions` names (the compiler keeps this list and the interface equal). */
const OPTIONS: Record<keyof StoreOptions, true> = {
  dir: true, durability: true, batchMs: true, compactRatio: true, minCompactBytes: true, compactOnHistory: true, snapshotEvery: true,
  snapshotMs: true, repair: true, retryMs: true, maxRetryMs: true, timers: true, fs: true, lock: true, now: true, maxClockOffset: true, limits: true,
}
const FS_METHODS: readonly (keyof StoreFs)[] = ['open', 'close', 'read', 'write', 'fdatasync', 'fsync', 'ftruncate', 'fstat', 'stat', 'rename', 'unlink', 'mkdir']
const MS = { min: 0, above: true, what: 'a positive number of ms' }
const MS_OR_NEVER = { ...MS, infinite: true, what: 'a positive number of ms, or Infinity' }

/**
 * Check `opts` and fill in the defaults. A value of the wrong type is a
 * TypeError, one out of range a RangeError, each naming the option, the
 * value given and what is allowed; `undefined` is the default. A key that
 * is no option is a process warning (`ConfigWarning`), not an error.
 */
export function settings(opts: StoreOptions): Settings {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`store options must be an object with dir (the log's folder), got ${shown(opts)}`)
  warnUnknownKeys(opts, Object.keys(OPTIONS), (key) => `store option ${key} is not an option of openDurable or LogStore`)
  const o = opts as { [K in keyof StoreOptions]?: unknown }
  if (o.dir === undefined) throw new TypeError('store option dir is required: the folder of the log (created if missing)')
  if (typeof o.dir !== 'string' || o.dir === '') throw new TypeError(`store option dir must be a non-empty string (the folder of the log), got ${shown(o.dir)}`)
  const durability = o.durability ?? 'batch'
  if (durability !== 'write' && durability !== 'batch' && durability !== 'none') {
    throw new (typeof durability === 'string' ? RangeError : TypeError)(`store option durability must be 'write', 'batch' or 'none', got ${shown(durability)}`)
  }
  const retryMs = numberOption('store option retryMs', o.retryMs, 1000, MS)
  const maxRetryMs = numberOption('store option maxRetryMs', o.maxRetryMs, Math.max(30_000, retryMs), MS)
  if (maxRetryMs < retryMs) throw new RangeError(`store option maxRetryMs must be at least retryMs (${retryMs}), got ${maxRetryMs}`)
  const fs = objectOption<StoreFs>('store option fs', o.fs, FS_METHODS, 'a file system with the methods of StoreFs') ?? realFs
  const now = o.now ?? Date.now
  if (typeof now !== 'function') throw new TypeError(`store option now must be a function returning ms, got ${shown(now)}`)
  if (o.limits !== undefined && (typeof o.limits !== 'object' || o.limits === null)) throw new TypeError(`store option limits must be an object, got ${shown(o.limits)}`)
  for (const [k, v] of Object.entries(o.limits ?? {})) {
    if (v !== undefined) numberOption(`store option limits.${k}`, v, 0, { min: 1, integer: true, what: 'a positive integer' })
  }
  return {
    ...opts,
    durability,
    batchMs: numberOption('store option batchMs', o.batchMs, 10, { min: 0, what: 'a non-negative number of ms' }),
    compactRatio: numberOption('store option compactRatio', o.compactRatio, 4, { min: 1, above: true, infinite: true, what: 'a number greater than 1, or Infinity (never compact)' }),
    minCompactBytes: numberOption('store option minCompactBytes', o.minCompactBytes, 256 * 1024, { min: 0, infinite: true, what: 'a non-negative number of bytes, or Infinity (never compact)' }),
    compactOnHistory: booleanOption('store option compactOnHistory', o.compactOnHistory, false),
    snapshotEvery: numberOption('store option snapshotEvery', o.snapshotEvery, 10_000, { min: 1, integer: true, infinite: true, what: 'a positive integer (lines), or Infinity' }),
    snapshotMs: numberOption('store option snapshotMs', o.snapshotMs, 1000, MS_OR_NEVER),
    repair: booleanOption('store option repair', o.repair, false),
    retryMs,
    maxRetryMs,
    timers: objectOption<Timers>('store option timers', o.timers, ['setTimeout', 'clearTimeout', 'now'], 'an object with setTimeout, clearTimeout and now') ?? realTimers,
    fs,
    lock: booleanOption('store option lock', o.lock, fs === realFs),
    now: now as () => number,
    maxClockOffset: numberOption('store option maxClockOffset', o.maxClockOffset, 300_000, { min: 0, what: 'a non-negative number of ms' }),
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
