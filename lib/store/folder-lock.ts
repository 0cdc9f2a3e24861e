/**
 * One store per data folder: a `LOCK` file holding the owner's pid,
 * created exclusively. A lock whose process is gone (a crash, SIGKILL) is
 * stale and taken over; a live one refuses the second opener with a
 * `FolderLockedError` naming the process. Two stores appending to one
 * log would interleave their lines and reuse each other's versions.
 *
 * Within a process, the folders its stores hold (from open to close) are
 * listed here: a second open of one of them is refused the same way. A
 * `LOCK` naming this process is taken over only when no store of this
 * process holds that folder (a lock whose release failed, or copied with
 * its folder).
 *
 * Where the system says when a process started (Linux: the boot id and
 * the start time in /proc), the lock also holds that, so a lock whose pid
 * was reused by another process (after a reboot, or a container's pid 1
 * in a new container) is known stale too. A lock without it (another
 * system, an older version) is judged by its pid alone.
 */
import * as nodeFs from 'node:fs'
import * as path from 'node:path'

export class FolderLockedError extends Error {
  override readonly name = 'FolderLockedError'
  constructor(
    readonly dir: string,
    readonly pid: number,
    /** A store of this very process holds the folder (it was not closed). */
    readonly inThisProcess = false,
  ) {
    super(
      inThisProcess
        ? `${dir} is already open in this process (pid ${pid}); close its store before opening the folder again`
        : `${dir} is in use by another process (pid ${pid}); one process per data folder`,
    )
  }
}

/** A folder held by a store of this process: its real path, and its device and inode (the same folder under a bind mount). */
interface Held {
  real: string
  dev: number
  ino: number
}

/**
 * The folders held by this process's stores, from the lock's taking to its
 * release. Shared by every copy of this module loaded in the process
 * (under `Symbol.for`), so two copies of the library do not both open one.
 */
const held: Set<Held> = ((globalThis as { [k: symbol]: Set<Held> | undefined })[Symbol.for('simple-scuttle.heldFolders')] ??= new Set())

/** `dir` as held; throws `FolderLockedError` when a store of this process already holds it. */
function unheld(dir: string): Held {
  const st = nodeFs.statSync(dir)
  const me = { real: nodeFs.realpathSync(dir), dev: st.dev, ino: st.ino }
  for (const h of held) {
    if (h.real === me.real || (h.dev === me.dev && h.ino === me.ino)) throw new FolderLockedError(dir, process.pid, true)
  }
  return me
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Which life of a pid this is: the boot id and the start time of the
 * process (clock ticks since boot, field 22 of /proc/<pid>/stat), or
 * undefined where the system does not say (or the process is gone).
 */
export function processStart(pid: number, proc = '/proc'): string | undefined {
  try {
    const boot = nodeFs.readFileSync(path.join(proc, 'sys/kernel/random/boot_id'), 'utf8').trim()
    const stat = nodeFs.readFileSync(path.join(proc, String(pid), 'stat'), 'utf8')
    // The command name, in parentheses, may hold spaces: fields are counted after its closing one (from field 3).
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3]
    return boot !== '' && /^\d+$/.test(start ?? '') ? `${boot}/${start}` : undefined
  } catch {
    return undefined
  }
}

let takes = 0

/** What a lock file says: its pid (NaN when gone, unreadable or not a pid) and the start of that process, if it says. */
function ownerIn(file: string): { pid: number; start: string | undefined } {
  try {
    const [pid, start] = nodeFs.readFileSync(file, 'utf8').trim().split(' ')
    return { pid: /^\d+$/.test(pid ?? '') ? Number(pid) : Number.NaN, start }
  } catch {
    return { pid: Number.NaN, start: undefined }
  }
}

/** The pid a lock file names, or NaN. */
function pidIn(file: string): number {
  return ownerIn(file).pid
}

/** Whether the lock in `file` belongs to a live process other than this one. */
function liveOther(file: string): boolean {
  const { pid, start } = ownerIn(file)
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return false
  if (start === undefined) return true
  const now = processStart(pid)
  // The pid is alive but is another process than the one that took the lock: stale.
  return now === undefined || now === start
}

/** Block this thread for `ms` (the lock is taken synchronously, at open). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Take `dir`'s lock; returns the function that releases it. Throws
 * `FolderLockedError` while another process, or a store of this one not
 * yet closed, holds the folder.
 *
 * `LOCK` is only ever created whole and exclusively: our pid is written to
 * a file of our own, then hard-linked as `LOCK` (refused when it exists),
 * so no opener reads a half-written lock. It is removed only by its holder
 * (at release) or by an opener holding `LOCK.takeover` (created
 * exclusively) that judged it stale under that guard: so no two openers
 * ever both remove a lock, and a live lock is never removed. A takeover
 * guard whose process died is itself removed (a crash inside a takeover).
 */
export function lockFolder(dir: string): () => void {
  const folder = unheld(dir)
  const file = path.join(dir, 'LOCK')
  const guard = path.join(dir, 'LOCK.takeover')
  const start = processStart(process.pid)
  const me = start === undefined ? String(process.pid) : `${process.pid} ${start}`
  const mine = path.join(dir, `LOCK.${process.pid}.${++takes}.new`)
  nodeFs.writeFileSync(mine, me)
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        nodeFs.linkSync(mine, file)
        held.add(folder)
        return releaser(file, me, folder)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      if (liveOther(file)) throw new FolderLockedError(dir, pidIn(file))
      // Stale (its process is gone), or naming this process though none of its stores holds the folder: take it over under the guard.
      let fd: number
      try {
        fd = nodeFs.openSync(guard, 'wx')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        const taker = pidIn(guard)
        if (Number.isSafeInteger(taker) && taker > 0 && !alive(taker)) nodeFs.rmSync(guard, { force: true })
        pause(5)
        continue
      }
      try {
        nodeFs.writeSync(fd, me)
        nodeFs.closeSync(fd)
        if (liveOther(file)) throw new FolderLockedError(dir, pidIn(file))
        nodeFs.rmSync(file, { force: true })
      } finally {
        nodeFs.rmSync(guard, { force: true })
      }
    }
  } finally {
    nodeFs.rmSync(mine, { force: true })
  }
  throw new Error(`${dir}: could not take the folder's lock (LOCK keeps changing hands)`)
}

/** Release: the folder is no longer held here; remove `LOCK` if it is still ours. */
function releaser(file: string, me: string, folder: Held): () => void {
  let holding = true
  return () => {
    if (!holding) return
    holding = false
    held.delete(folder)
    try {
      if (nodeFs.readFileSync(file, 'utf8') === me) nodeFs.unlinkSync(file)
    } catch {
      // Already gone.
    }
  }
}
