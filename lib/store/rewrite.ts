import * as path from 'node:path'
import type { Forgotten, SourceState } from '../core/replica.ts'
import type { Rec } from '../core/types.ts'
import { LogReplacedError } from './errors.ts'
import { closeQuietly, errorCode, writeAll, type StoreFs } from './fs.ts'
import { clockJson, dropJson, frameLines, leaseJson, recordJson, syncedJson, type Header } from './log-format.ts'
import { LogFile } from './log-file.ts'
import { readHeader } from './log-reader.ts'

/** A whole state, as a rewritten log holds it. */
export interface LogSnapshot {
  header: Header
  records: Iterable<Rec>
  sources: SourceState[]
  version: number
  lease: number
  /** Collected tombstones (a drop line each) and their floor; undefined: not saved (a clock line without a floor). */
  forgotten: Forgotten | undefined
  /** When each held tombstone was applied (ms), by key (`Gossip.tombstoneTimes`). */
  appliedAt?: ReadonlyMap<string, number>
}

export interface LogPaths {
  dir: string
  file: string
  tmp: string
  sidecar: string
}

/**
 * Write `snap` as a complete log and put it in place of `paths.file`:
 * temp file, fdatasync, rename, directory fsync. A crash at any step leaves
 * either the old log or the new one at the path, each whole. The new file
 * ends with a synced marker for its own length: it becomes the log only
 * once synced. Returns it open for appending. On failure the temp file is
 * removed (best effort) and the error thrown; if the failure came after the
 * rename, the path already names the new file.
 */
export function rewriteLog(fs: StoreFs, paths: LogPaths, snap: LogSnapshot): LogFile {
  let fd: number | null = fs.open(paths.tmp, 'w')
  let size = 0
  let chunk: string[] = []
  let chars = 0
  const add = (payload: string) => {
    chunk.push(payload)
    chars += payload.length
  }
  const put = (force: boolean) => {
    if (!force && chars < 1 << 20) return
    const b = frameLines(chunk)
    chunk = []
    chars = 0
    writeAll(fs, fd!, b, null)
    size += b.length
  }
  try {
    add(JSON.stringify(snap.header))
    for (const rec of snap.records) {
      add(recordJson(rec, rec.deleted === true ? snap.appliedAt?.get(rec.key) : undefined))
      put(false)
    }
    if (snap.forgotten !== undefined) {
      for (const t of snap.forgotten.tombstones) {
        add(dropJson(t))
        put(false)
      }
    }
    add(clockJson(snap.sources, snap.version, snap.forgotten?.floor))
    add(leaseJson(snap.lease))
    put(true)
    add(syncedJson(size))
    put(true)
    fs.fdatasync(fd)
    const closing = fd
    fd = null
    fs.close(closing)
    fs.rename(paths.tmp, paths.file)
  } catch (err) {
    closeQuietly(fs, fd)
    unlinkQuietly(fs, paths.tmp)
    throw err
  }
  syncDir(fs, paths.dir)
  return LogFile.open(fs, paths.file, paths.sidecar, snap.header.file!, size)
}

/**
 * Throws unless a rewrite may replace what is at `paths.file`: the folder
 * is still on the file system it was opened on (device `owner.dev`), and
 * the path names `log` (the open file), or, when `probe` (recovering from
 * a failure), nothing at all (the log was removed) or a log of the same
 * node and generation. Never anything else: another node's log, or a file
 * an operator put there, is left alone.
 */
export function guardRewrite(fs: StoreFs, paths: LogPaths, log: LogFile | null, owner: { id: string; gen: string; dev: number }, probe: boolean): void {
  const dev = fs.stat(paths.dir).dev
  if (dev !== owner.dev) throw new LogReplacedError(`${paths.dir} is now on another file system (device ${dev}, was ${owner.dev}): remount it, or restart the node`)
  if (log !== null) {
    try {
      log.checkIdentity()
      return
    } catch (err) {
      if (!probe || !(err instanceof LogReplacedError)) throw err
    }
  }
  try {
    fs.stat(paths.file)
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return
    throw err
  }
  const h = readHeader(fs, paths.file)
  if (h === null || h.id !== owner.id || h.gen !== owner.gen) {
    throw new LogReplacedError(`${paths.file} was replaced by a file that is not this node's log; restart the node to load it, or move it away`)
  }
}

export function unlinkQuietly(fs: StoreFs, file: string): void {
  try {
    fs.unlink(file)
  } catch {
    // Nothing to remove, or it cannot be: a leftover temp file is removed on the next open.
  }
}

/** Errors of platforms that cannot sync a directory (the rename is still atomic there). */
const NO_DIR_SYNC = new Set(['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EBADF'])

/** fsync a directory, so that a rename or a new file in it survives a power loss. */
export function syncDir(fs: StoreFs, dir: string): void {
  let fd: number
  try {
    fd = fs.open(dir, 'r')
  } catch (err) {
    if (NO_DIR_SYNC.has(errorCode(err) ?? '')) return
    throw err
  }
  try {
    fs.fsync(fd)
  } catch (err) {
    if (!NO_DIR_SYNC.has(errorCode(err) ?? '')) throw err
  } finally {
    closeQuietly(fs, fd)
  }
}

/** The temp file of a rewrite, next to the log. */
export function logPaths(dir: string, name: string): LogPaths {
  const file = path.join(dir, name)
  return { dir, file, tmp: file + '.tmp', sidecar: file + '.synced' }
}
