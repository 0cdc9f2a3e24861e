import * as nodeFs from 'node:fs'

/** Identity and size of a file, as `fstat`/`stat` report them. */
export interface FileStat {
  dev: number
  ino: number
  size: number
}

/**
 * The file system calls the store makes, all synchronous. Errors are thrown
 * as Node's are (an `Error` with `code`: ENOSPC, EIO, ...). `realFs` is the
 * real one; tests pass one that fails on demand or loses unsynced bytes.
 */
export interface StoreFs {
  /** 'r' read; 'a' append (created if missing); 'w' write (created or emptied); 'r+' read and write. */
  open(path: string, flags: 'r' | 'a' | 'w' | 'r+'): number
  close(fd: number): void
  /** Bytes read into `buf[off..off+len)` from `pos` (or the current position when null); 0 at the end. */
  read(fd: number, buf: Uint8Array, off: number, len: number, pos: number | null): number
  /** Bytes written from `buf[off..off+len)`, at `pos` (or the current position / end in 'a' mode when null). */
  write(fd: number, buf: Uint8Array, off: number, len: number, pos: number | null): number
  fdatasync(fd: number): void
  fsync(fd: number): void
  ftruncate(fd: number, len: number): void
  fstat(fd: number): FileStat
  stat(path: string): FileStat
  rename(from: string, to: string): void
  unlink(path: string): void
  /**
   * Create `path` and its parents if missing. Returns the first folder
   * created (the top of the new chain, as Node's recursive mkdir), or
   * undefined when `path` existed; one that returns nothing is taken as
   * having created nothing (the new folders' entries are then not synced).
   */
  mkdir(path: string): string | undefined | void
}

export const realFs: StoreFs = {
  open: (path, flags) => nodeFs.openSync(path, flags),
  close: (fd) => nodeFs.closeSync(fd),
  read: (fd, buf, off, len, pos) => nodeFs.readSync(fd, buf, off, len, pos),
  write: (fd, buf, off, len, pos) => nodeFs.writeSync(fd, buf, off, len, pos),
  fdatasync: (fd) => nodeFs.fdatasyncSync(fd),
  fsync: (fd) => nodeFs.fsyncSync(fd),
  ftruncate: (fd, len) => nodeFs.ftruncateSync(fd, len),
  fstat: (fd) => nodeFs.fstatSync(fd),
  stat: (path) => nodeFs.statSync(path),
  rename: (from, to) => nodeFs.renameSync(from, to),
  unlink: (path) => nodeFs.unlinkSync(path),
  mkdir: (path) => nodeFs.mkdirSync(path, { recursive: true }),
}

/** The `code` of a Node file system error ('ENOENT', ...), or undefined. */
export function errorCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code
  return typeof c === 'string' ? c : undefined
}

/**
 * `err` naming `file`, for an error of a call on a descriptor (Node's read
 * errors carry no path: `EISDIR: illegal operation on a directory, read`
 * where a folder is at the log's path): the path is added to its message
 * and set as its `path`. Other errors are returned as they are.
 */
export function naming(err: unknown, file: string): unknown {
  if (err instanceof Error && typeof (err as { path?: unknown }).path !== 'string' && errorCode(err) !== undefined) {
    err.message += ` '${file}'`
    ;(err as { path?: string }).path = file
  }
  return err
}

/** Write all of `buf` (a write may take only part of it), at `pos` or at the current position. */
export function writeAll(fs: StoreFs, fd: number, buf: Uint8Array, pos: number | null): void {
  let off = 0
  while (off < buf.length) {
    const n = fs.write(fd, buf, off, buf.length - off, pos === null ? null : pos + off)
    if (n <= 0) throw Object.assign(new Error(`write returned ${n}`), { code: 'EIO' })
    off += n
  }
}

/** Close `fd`, ignoring errors: for paths that already failed or no longer need the file. */
export function closeQuietly(fs: StoreFs, fd: number | null): void {
  if (fd === null) return
  try {
    fs.close(fd)
  } catch {
    // The descriptor is released by the kernel whatever close reports.
  }
}
