import { LogReplacedError } from './errors.ts'
import { closeQuietly, errorCode, writeAll, type FileStat, type StoreFs } from './fs.ts'
import { frame, syncedJson } from './log-format.ts'
import { sidecarText } from './sidecar.ts'

/**
 * The open log, appended to: its descriptor, its sidecar, and the identity
 * (device, inode) of the file opened, checked against the path before
 * every write so that nothing is written into a file that was removed or
 * replaced.
 *
 * Invariants: `size` counts only bytes whose write completed; `synced` is
 * the offset up to which an fdatasync completed; a synced marker written at
 * offset N (and the sidecar's claim N) are only ever written after bytes
 * before N were synced.
 */
export class LogFile {
  size: number
  synced: number
  private readonly ident: FileStat

  private constructor(
    private readonly fs: StoreFs,
    readonly path: string,
    readonly sidecarPath: string,
    readonly fileId: string,
    private readonly fd: number,
    private readonly sideFd: number,
  ) {
    this.ident = fs.fstat(fd)
    this.size = this.ident.size
    this.synced = 0
  }

  /**
   * Open the log at `path` (whose header carries `fileId`) for appending,
   * and its sidecar; then `adopt` it, up to where it is valid.
   */
  static open(fs: StoreFs, path: string, sidecarPath: string, fileId: string, valid: number): LogFile {
    const fd = fs.open(path, 'a')
    let sideFd: number | null = null
    try {
      try {
        sideFd = fs.open(sidecarPath, 'r+')
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw err
        sideFd = fs.open(sidecarPath, 'w')
      }
      const f = new LogFile(fs, path, sidecarPath, fileId, fd, sideFd)
      f.adopt(valid)
      return f
    } catch (err) {
      closeQuietly(fs, sideFd)
      closeQuietly(fs, fd)
      throw err
    }
  }

  /** Throws a `LogReplacedError` unless `path` still names the file open here. */
  checkIdentity(): void {
    let now: FileStat
    try {
      now = this.fs.stat(this.path)
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw new LogReplacedError(`${this.path} was removed while open (was the data folder deleted or moved?)`, { cause: err })
      throw err
    }
    if (now.dev !== this.ident.dev || now.ino !== this.ident.ino) {
      throw new LogReplacedError(`${this.path} was replaced by another file while open`)
    }
  }

  append(buf: Uint8Array): void {
    writeAll(this.fs, this.fd, buf, null)
    this.size += buf.length
  }

  /** fdatasync: everything appended so far is on disk. */
  sync(): void {
    this.fs.fdatasync(this.fd)
    this.synced = this.size
  }

  /** Record that the file is synced up to `synced`: a marker line there, and the sidecar. */
  mark(): void {
    const at = this.synced
    this.append(Buffer.from(frame(syncedJson(at)), 'utf8'))
    this.claimAt(at)
  }

  /**
   * Make the first `valid` bytes the whole file, on disk: cut what follows
   * (a torn tail), sync, and claim that length in the sidecar.
   */
  private adopt(valid: number): void {
    if (this.size > valid) {
      this.fs.ftruncate(this.fd, valid)
      this.size = valid
    }
    this.sync()
    this.claimAt(this.synced)
  }

  private claimAt(synced: number): void {
    const buf = sidecarText({ file: this.fileId, synced })
    writeAll(this.fs, this.sideFd, buf, 0)
  }

  /** Best effort: cut what follows `size` (a failed write's partial bytes). */
  rollback(size: number): void {
    try {
      this.fs.ftruncate(this.fd, size)
      this.size = size
      if (this.synced > size) this.synced = size
    } catch {
      // The tail stays until a rewrite replaces the file: a torn line in it is cut on the next open,
      // but whole lines are replayed (a refused change then reappears: README, Storage faults, Limits).
    }
  }

  close(): void {
    closeQuietly(this.fs, this.sideFd)
    closeQuietly(this.fs, this.fd)
  }
}
