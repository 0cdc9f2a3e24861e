/**
 * One process per data folder: a `LOCK` file holding the owner's pid,
 * created exclusively. A lock whose process is gone (a crash, SIGKILL) is
 * stale and taken over; a live one refuses the second opener with a
 * `FolderLockedError` naming the process. Two processes appending to one
 * log would interleave their lines and reuse each other's versions.
 */
import * as nodeFs from 'node:fs'
import * as path from 'node:path'

export class FolderLockedError extends Error {
  override readonly name = 'FolderLockedError'
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`${dir} is in use by another process (pid ${pid}); one process per data folder`)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

let takes = 0

/** The pid a lock file names, or NaN (gone, unreadable, not a pid). */
function pidIn(file: string): number {
  try {
    return Number.parseInt(nodeFs.readFileSync(file, 'utf8'), 10)
  } catch {
    return Number.NaN
  }
}

/** Block this thread for `ms` (the lock is taken synchronously, at open). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Take `dir`'s lock; returns the function that releases it. Throws `FolderLockedError`.
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
  const file = path.join(dir, 'LOCK')
  const guard = path.join(dir, 'LOCK.takeover')
  const me = String(process.pid)
  const mine = path.join(dir, `LOCK.${process.pid}.${++takes}.new`)
  const liveOther = (pid: number) => Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)
  nodeFs.writeFileSync(mine, me)
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        nodeFs.linkSync(mine, file)
        return releaser(file, me)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const owner = pidIn(file)
      if (liveOther(owner)) throw new FolderLockedError(dir, owner)
      // Stale (its process is gone) or ours (a store of this process never closed): take it over under the guard.
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
        const now = pidIn(file)
        if (liveOther(now)) throw new FolderLockedError(dir, now)
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

/** Release: remove `LOCK` if it is still ours. */
function releaser(file: string, me: string): () => void {
  let held = true
  return () => {
    if (!held) return
    held = false
    try {
      if (nodeFs.readFileSync(file, 'utf8') === me) nodeFs.unlinkSync(file)
    } catch {
      // Already gone.
    }
  }
}
