/**
 * An in-memory file system for the store (`StoreFs`) that fails on demand
 * and models what survives a crash.
 *
 * Every file keeps its current bytes (the page cache) and its synced bytes
 * (the disk); every directory entry, a new folder's included, is durable
 * only once its directory was fsynced. `crashCopy()` is the machine after the process died (page cache
 * kept); `powerLossCopy(random)` after the power went: synced bytes and
 * durable entries only, plus, at random, part of what was appended but not
 * synced (possibly ending in garbage, as a torn sector would).
 *
 * Faults: `failNth(op, n, code)` makes the n-th call of `op` (counted from
 * then on; 'fsync' counts fsync and fdatasync) throw an error with `code`.
 * A failed write first writes part of its bytes; a failed fsync leaves the
 * file's unsynced bytes unsynced for good (Linux drops the dirty pages:
 * a later fsync does not write them), as after a real EIO.
 */
import type { FileStat, StoreFs } from '../../lib/store/fs.ts'
import type { RandomFn } from '../../lib/core/types.ts'

export type FsOp = 'open' | 'close' | 'read' | 'write' | 'fsync' | 'ftruncate' | 'stat' | 'rename' | 'unlink' | 'mkdir'
export const FS_OPS: readonly FsOp[] = ['open', 'close', 'read', 'write', 'fsync', 'ftruncate', 'stat', 'rename', 'unlink', 'mkdir']

interface Inode {
  ino: number
  data: Buffer
  synced: Buffer
  /** Bytes from this offset were dropped by a failed fsync: never synced again. */
  lostFrom: number
}

interface Handle {
  ino: number
  dir: string | null
  append: boolean
  pos: number
}

export function fsError(code: string, op: string, path = ''): Error {
  return Object.assign(new Error(`${code}: injected failure, ${op}${path ? ` '${path}'` : ''}`), { code, syscall: op, path })
}

const parentOf = (p: string): string => p.slice(0, Math.max(1, p.lastIndexOf('/')))

export class MemFs implements StoreFs {
  dev = 1
  private inodes = new Map<number, Inode>()
  private names = new Map<string, number>()
  private durable = new Map<string, number>()
  private dirs = new Set<string>(['/'])
  /** Folders whose entry in their parent was fsynced (the root always is). */
  private durableDirs = new Set<string>(['/'])
  private fds = new Map<number, Handle>()
  private nextIno = 100
  private nextFd = 3
  /** Calls made, in total and per operation. */
  calls = 0
  readonly counts = Object.fromEntries(FS_OPS.map((o) => [o, 0])) as Record<FsOp, number>
  private faults: { op: FsOp; at: number; code: string }[] = []
  /** Faults fired so far. */
  hits = 0
  /** Called before every call (before a fault fires), with the operation. */
  beforeCall: ((op: FsOp) => void) | null = null

  /** Fail the `n`-th call of `op` from now with `code`. */
  failNth(op: FsOp, n: number, code: string): void {
    this.faults.push({ op, at: this.counts[op] + n, code })
  }

  /** Fail every call of `op` from now on (until `heal`). */
  failAll(op: FsOp, code: string): void {
    this.faults.push({ op, at: -1, code })
  }

  /** No more faults. */
  heal(): void {
    this.faults = []
  }

  private enter(op: FsOp, path = ''): void {
    this.beforeCall?.(op)
    this.calls++
    const n = ++this.counts[op]
    const i = this.faults.findIndex((f) => f.op === op && (f.at === -1 || f.at === n))
    if (i !== -1) {
      const f = this.faults[i]
      this.hits++
      if (f.at !== -1) this.faults.splice(i, 1)
      throw fsError(f.code, op, path)
    }
  }

  // ---- StoreFs ----

  open(path: string, flags: 'r' | 'a' | 'w' | 'r+'): number {
    this.enter('open', path)
    if (this.dirs.has(path)) {
      if (flags !== 'r') throw fsError('EISDIR', 'open', path)
      return this.handle({ ino: 0, dir: path, append: false, pos: 0 })
    }
    let ino = this.names.get(path)
    if (ino === undefined) {
      if (flags === 'r' || flags === 'r+') throw fsError('ENOENT', 'open', path)
      if (!this.dirs.has(parentOf(path))) throw fsError('ENOENT', 'open', path)
      ino = this.nextIno++
      this.inodes.set(ino, { ino, data: Buffer.alloc(0), synced: Buffer.alloc(0), lostFrom: Infinity })
      this.names.set(path, ino)
    } else if (flags === 'w') this.inodes.get(ino)!.data = Buffer.alloc(0)
    return this.handle({ ino, dir: null, append: flags === 'a', pos: 0 })
  }

  close(fd: number): void {
    this.enter('close')
    if (!this.fds.delete(fd)) throw fsError('EBADF', 'close')
  }

  read(fd: number, buf: Uint8Array, off: number, len: number, pos: number | null): number {
    this.enter('read')
    const h = this.fileHandle(fd)
    const data = this.inodes.get(h.ino)!.data
    const at = pos ?? h.pos
    const n = Math.max(0, Math.min(len, data.length - at))
    data.copy(buf, off, at, at + n)
    if (pos === null) h.pos += n
    return n
  }

  write(fd: number, buf: Uint8Array, off: number, len: number, pos: number | null): number {
    const h = this.fileHandle(fd)
    const node = this.inodes.get(h.ino)!
    const at = h.append ? node.data.length : (pos ?? h.pos)
    try {
      this.enter('write')
    } catch (err) {
      this.put(node, at, Buffer.from(buf.subarray(off, off + (len >> 1))))
      throw err
    }
    this.put(node, at, Buffer.from(buf.subarray(off, off + len)))
    if (pos === null || h.append) h.pos = at + len
    return len
  }

  fdatasync(fd: number): void {
    this.fsync(fd)
  }

  fsync(fd: number): void {
    const h = this.fds.get(fd)
    if (h === undefined) throw fsError('EBADF', 'fsync')
    if (h.dir !== null) {
      this.enter('fsync', h.dir)
      for (const p of [...this.durable.keys()]) if (parentOf(p) === h.dir && !this.names.has(p)) this.durable.delete(p)
      for (const [p, ino] of this.names) if (parentOf(p) === h.dir) this.durable.set(p, ino)
      for (const p of this.dirs) if (p !== '/' && parentOf(p) === h.dir) this.durableDirs.add(p)
      return
    }
    const node = this.inodes.get(h.ino)!
    try {
      this.enter('fsync')
    } catch (err) {
      node.lostFrom = Math.min(node.lostFrom, node.synced.length)
      throw err
    }
    const next = Buffer.from(node.data)
    // Bytes a failed fsync dropped stay as the disk had them.
    for (let i = node.lostFrom; i < next.length; i++) next[i] = i < node.synced.length ? node.synced[i] : 0
    node.synced = next
  }

  ftruncate(fd: number, len: number): void {
    this.enter('ftruncate')
    const node = this.inodes.get(this.fileHandle(fd).ino)!
    node.data = len <= node.data.length ? Buffer.from(node.data.subarray(0, len)) : Buffer.concat([node.data, Buffer.alloc(len - node.data.length)])
  }

  fstat(fd: number): FileStat {
    const h = this.fds.get(fd)
    if (h === undefined) throw fsError('EBADF', 'fstat')
    return { dev: this.dev, ino: h.ino, size: h.dir === null ? this.inodes.get(h.ino)!.data.length : 0 }
  }

  stat(path: string): FileStat {
    this.enter('stat', path)
    if (this.dirs.has(path)) return { dev: this.dev, ino: 1, size: 0 }
    const ino = this.names.get(path)
    if (ino === undefined) throw fsError('ENOENT', 'stat', path)
    return { dev: this.dev, ino, size: this.inodes.get(ino)!.data.length }
  }

  rename(from: string, to: string): void {
    this.enter('rename', from)
    const ino = this.names.get(from)
    if (ino === undefined || !this.dirs.has(parentOf(to))) throw fsError('ENOENT', 'rename', from)
    this.names.delete(from)
    this.names.set(to, ino)
  }

  unlink(path: string): void {
    this.enter('unlink', path)
    if (!this.names.delete(path)) throw fsError('ENOENT', 'unlink', path)
  }

  /** Returns the first folder created (the top of the new chain), as Node's recursive mkdir; durable once its parent is fsynced. */
  mkdir(path: string): string | undefined {
    this.enter('mkdir', path)
    let first: string | undefined
    for (let p = path; p !== '/' && !this.dirs.has(p); p = parentOf(p)) {
      this.dirs.add(p)
      first = p
    }
    return first
  }

  // ---- what tests do around the store ----

  /** Remove a folder and everything in it, at once and for good (an operator's rm -rf). */
  removeDir(dir: string): void {
    for (const d of [this.dirs, this.durableDirs]) for (const p of [...d]) if (p === dir || p.startsWith(dir + '/')) d.delete(p)
    for (const m of [this.names, this.durable]) for (const p of [...m.keys()]) if (p.startsWith(dir + '/')) m.delete(p)
  }

  /** The current bytes of a file (what a reader sees now). */
  read_(path: string): Buffer | undefined {
    const ino = this.names.get(path)
    return ino === undefined ? undefined : Buffer.from(this.inodes.get(ino)!.data)
  }

  /** Replace a file's bytes, synced (a change made behind the store's back). */
  write_(path: string, data: Buffer): void {
    const ino = this.names.get(path)
    if (ino === undefined) throw new Error(`no file ${path}`)
    const node = this.inodes.get(ino)!
    node.data = Buffer.from(data)
    node.synced = Buffer.from(data)
  }

  /** The machine after the process died: everything written is there; no descriptor is open. */
  crashCopy(): MemFs {
    return this.copy(this.names, this.dirs, (n) => Buffer.from(n.data))
  }

  /**
   * The machine after a power loss: durable entries and synced bytes; of
   * bytes appended after the last sync, a random prefix survives, whose
   * last bytes may be garbage; other unsynced changes survive or not.
   */
  powerLossCopy(random: RandomFn): MemFs {
    // A folder survives if its entry, and its parents' entries, were fsynced; the files in it with it.
    const dirs = new Set([...this.durableDirs].filter((d) => {
      for (let p = d; p !== '/'; p = parentOf(p)) if (!this.durableDirs.has(p)) return false
      return true
    }))
    const names = new Map([...this.durable].filter(([p]) => dirs.has(parentOf(p))))
    return this.copy(names, dirs, (n) => {
      const { data, synced } = n
      // After a failed fsync the disk has what it has; nothing more arrives.
      if (n.lostFrom !== Infinity) return Buffer.from(synced)
      const keep = synced.length
      const appended = data.length > keep && data.subarray(0, keep).equals(synced)
      if (!appended) return Buffer.from(random() < 0.5 ? synced : data)
      const extra = Math.floor(random() * (data.length - keep + 1))
      const out = Buffer.concat([synced, data.subarray(keep, keep + extra)])
      if (extra > 0 && random() < 0.3) out.fill(random() < 0.5 ? 0 : 0x7a, Math.max(keep, out.length - 1 - Math.floor(random() * 8)))
      return out
    })
  }

  private copy(names: Map<string, number>, dirs: Set<string>, content: (n: Inode) => Buffer): MemFs {
    const c = new MemFs()
    c.dev = this.dev
    c.dirs = new Set(dirs)
    c.durableDirs = new Set(dirs)
    c.nextIno = this.nextIno
    for (const [p, ino] of names) {
      if (!c.inodes.has(ino)) {
        const data = content(this.inodes.get(ino)!)
        c.inodes.set(ino, { ino, data, synced: Buffer.from(data), lostFrom: Infinity })
      }
      c.names.set(p, ino)
      c.durable.set(p, ino)
    }
    return c
  }

  private handle(h: Handle): number {
    const fd = this.nextFd++
    this.fds.set(fd, h)
    return fd
  }

  private fileHandle(fd: number): Handle {
    const h = this.fds.get(fd)
    if (h === undefined || h.dir !== null) throw fsError('EBADF', 'fd')
    return h
  }

  private put(node: Inode, at: number, bytes: Buffer): void {
    if (bytes.length === 0) return
    const end = at + bytes.length
    const data = end <= node.data.length ? node.data : Buffer.concat([node.data, Buffer.alloc(end - node.data.length)])
    bytes.copy(data, at)
    node.data = data
  }
}
