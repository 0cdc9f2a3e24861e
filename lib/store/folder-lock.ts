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

/** Folders this process holds (two stores in one process are refused too). */
const held = new Set<string>()

/** Take `dir`'s lock; returns the function that releases it. Throws `FolderLockedError`. */
export function lockFolder(dir: string): () => void {
  const file = path.join(dir, 'LOCK')
  const key = nodeFs.realpathSync(dir)
  if (held.has(key)) throw new FolderLockedError(dir, process.pid)
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      fd = nodeFs.openSync(file, 'wx')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let owner = NaN
      try {
        owner = Number.parseInt(nodeFs.readFileSync(file, 'utf8'), 10)
      } catch {
        // Removed meanwhile, or unreadable: try again.
      }
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) throw new FolderLockedError(dir, owner)
      // Stale (its process is gone, or a pid like ours from before a reboot) or half-written: take it over.
      try {
        nodeFs.unlinkSync(file)
      } catch {
        // Another opener took it over first: the next attempt sees its pid.
      }
      continue
    }
    try {
      nodeFs.writeSync(fd, String(process.pid))
    } finally {
      nodeFs.closeSync(fd)
    }
    held.add(key)
    let mine = true
    return () => {
      if (!mine) return
      mine = false
      held.delete(key)
      try {
        if (nodeFs.readFileSync(file, 'utf8') === String(process.pid)) nodeFs.unlinkSync(file)
      } catch {
        // Already gone.
      }
    }
  }
  throw new Error(`${dir}: could not take the folder's lock (LOCK keeps changing hands)`)
}
