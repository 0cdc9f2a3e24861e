import { randomBytes } from 'node:crypto'
import * as path from 'node:path'
import { DEFAULT_LIMITS } from '../protocol/validate.ts'
import { LogCorruptError } from './errors.ts'
import { errorCode, type StoreFs } from './fs.ts'
import { LOG_VERSION } from './log-format.ts'
import { LogFile } from './log-file.ts'
import { readLog } from './log-reader.ts'
import { savedForgotten, type Recovered } from './log-replay.ts'
import { rewriteLog, syncDir, type LogPaths } from './rewrite.ts'
import { readSidecar } from './sidecar.ts'
import type { Settings } from './store-options.ts'

export interface OpenedFolder {
  log: LogFile
  /** What was loaded; null for a fresh folder. */
  recovered: Recovered | null
  generation: string
}

/**
 * Open node `id`'s folder: create it if missing, remove an unfinished
 * rewrite, read the log (validated against the limits and the clock bound),
 * and leave a format 2 log ready for appending. A fresh folder, or a log
 * that repair had to cut, gets a new generation; a format 1 log, or a
 * repaired one, is rewritten at once; a torn tail is cut.
 */
export function openFolder(id: string, paths: LogPaths, s: Settings): OpenedFolder {
  const fs = s.fs
  makeFolder(fs, paths.dir)
  removeIfPresent(fs, paths.tmp)
  const nowMs = s.now()
  const present = exists(fs, paths.file)
  if (!present) {
    // The sidecar outlives a log that vanished (moved, deleted, a volume not mounted): a fresh start would silently drop it.
    const claim = readSidecar(fs, paths.sidecar)
    if (claim !== null && claim.synced > 0) {
      if (s.repair !== true) throw new LogCorruptError(paths.file, 0, 0, `the log is missing, though ${paths.sidecar} says ${claim.synced} bytes of it were on disk`)
      removeIfPresent(fs, paths.sidecar)
    }
  }
  const r = present
    ? readLog(paths.file, {
        fs,
        repair: s.repair,
        sidecar: paths.sidecar,
        bounds: { limits: { ...DEFAULT_LIMITS, ...s.limits }, now: nowMs * 1000, maxVersion: (nowMs + s.maxClockOffset) * 1000 },
      })
    : null
  if (r !== null && r.header.id !== '' && r.header.id !== id) {
    throw new Error(`${paths.file} belongs to node ${JSON.stringify(r.header.id)}, not ${JSON.stringify(id)}`)
  }
  if (r !== null && r.header.id !== '' && r.dropped === null && r.format === LOG_VERSION) {
    return { log: LogFile.open(fs, paths.file, paths.sidecar, r.header.file!, r.goodBytes), recovered: r, generation: r.header.gen }
  }
  const lostData = r === null || r.header.id === '' || r.dropped !== null
  const generation = lostData ? newId() : r.header.gen
  const log = rewriteLog(fs, paths, {
    header: { store: LOG_VERSION, id, gen: generation, file: newId() },
    records: r?.records.values() ?? [],
    sources: r?.sources ?? [],
    version: r?.version ?? 0,
    lease: r?.version ?? 0,
    // A new log saves its collected tombstones from the start; one converted or repaired keeps what it saved.
    forgotten: r === null ? { floor: 0, tombstones: [] } : savedForgotten(r),
  })
  if (r !== null && r.format === 1) r.warnings.push(`${paths.file}: converted from format 1 to format ${LOG_VERSION}`)
  if (r !== null && lostData) r.warnings.push(`${paths.file}: repaired; the node continues under a new generation (${generation})`)
  return { log, recovered: r, generation }
}

/**
 * Create `dir` (and its missing parents) and fsync the parent of each
 * folder created, so that the new entries survive a power loss before
 * anything in them is reported durable (`dir` itself is fsynced when the
 * log is written into it). A parent this process may not open (EACCES:
 * search without read permission) is left as it is.
 */
export function makeFolder(fs: StoreFs, dir: string): void {
  const first = fs.mkdir(dir)
  if (typeof first !== 'string') return
  for (const parent of createdParents(dir, first)) {
    try {
      syncDir(fs, parent)
    } catch (err) {
      if (errorCode(err) !== 'EACCES') throw err
    }
  }
}

/** The folders to fsync after `mkdir(dir)` created the chain from `first` down to `dir`: each one's parent, top first. */
export function createdParents(dir: string, first: string): string[] {
  const top = path.resolve(first)
  const out: string[] = []
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const parent = path.dirname(d)
    if (parent === d) break
    out.push(parent)
    if (d === top) break
  }
  return out.reverse()
}

export function newId(): string {
  return randomBytes(6).toString('base64url')
}

export function exists(fs: StoreFs, file: string): boolean {
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
