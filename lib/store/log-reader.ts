/** Reading a log back: header, framed lines, the synced length from the sidecar; a torn tail is cut, damage elsewhere is a `LogCorruptError` (or dropped, in repair mode). */
import { DEFAULT_LIMITS } from '../protocol/validate.ts'
import { LogCorruptError, intactLog, type Damage } from './errors.ts'
import { naming, realFs, type StoreFs } from './fs.ts'
import { unframe, type Header } from './log-format.ts'
import { emptyRecovery, headerProblem, parseObject, replayObject, type Dropped, type Recovered, type ReplayBounds } from './log-replay.ts'
import { readSidecar } from './sidecar.ts'

export interface ReadOptions {
  fs?: StoreFs
  /** Keep the valid prefix of a damaged log and report what was dropped, instead of throwing. */
  repair?: boolean
  /** Limits and the version bound; default: the default limits, now (Date.now) + 5 minutes. */
  bounds?: ReplayBounds
  /** The sidecar with the synced length; default `<file>.synced`; null for none. */
  sidecar?: string | null
}

/** Bounds for a log read now: the default limits, versions up to now + 5 minutes. */
export function defaultBounds(nowMs = Date.now(), maxClockOffsetMs = 300_000): ReplayBounds {
  return { limits: DEFAULT_LIMITS, now: nowMs * 1000, maxVersion: nowMs * 1000 + maxClockOffsetMs * 1000 }
}

/**
 * Read a log, format 1 or 2.
 *
 * Format 2: every line carries a checksum, and the synced markers (and the
 * sidecar) say up to which offset the file was on disk. The first line that
 * is damaged (bad frame, checksum, JSON, or content) ends the valid prefix.
 * If its frame or checksum is broken and it starts at or after the synced
 * offset, it and everything after it are a tail torn by a crash, never
 * synced and never reported durable: cut, with a warning naming the bytes.
 * Otherwise (damage before the synced offset, a line with a good checksum
 * but bad content, a file shorter than the synced offset) the log is
 * damaged: `LogCorruptError` with the line and byte offset, or, with
 * `repair`, the valid prefix is kept and `dropped` says what was left out.
 *
 * Format 1 has no checksums or markers: a last line that does not parse
 * (or lacks its newline) is taken as torn; any other bad line is damage.
 */
export function readLog(file: string, opts: ReadOptions = {}): Recovered {
  const fs = opts.fs ?? realFs
  const scan = new Scan(opts.bounds ?? defaultBounds())
  const fd = fs.open(file, 'r')
  try {
    const chunk = Buffer.allocUnsafe(1 << 20)
    // The unfinished line, as copies, joined only once its newline comes: a long line costs its length, not its square.
    let carry: Buffer[] = []
    let carried = 0
    let base = 0
    for (;;) {
      const n = fs.read(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      scan.r.bytes += n
      const cur = chunk.subarray(0, n)
      if (carried > 0 && cur.indexOf(10) === -1) {
        carry.push(Buffer.from(cur))
        carried += n
        continue
      }
      const buf = carried > 0 ? Buffer.concat([...carry, cur]) : cur
      let start = 0
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        scan.line(buf, start, nl, base + start)
        start = nl + 1
      }
      base += start
      carry = start < buf.length ? [Buffer.from(buf.subarray(start))] : []
      carried = buf.length - start
    }
    if (carried > 0) scan.partial(base, carried)
  } catch (err) {
    throw naming(err, file)
  } finally {
    fs.close(fd)
  }
  const r = scan.r
  if (r.format === 2 && opts.sidecar !== null) {
    const claim = readSidecar(fs, opts.sidecar ?? file + '.synced')
    if (claim !== null && claim.file === r.header.file && claim.synced > scan.synced) scan.synced = claim.synced
  }
  r.synced = scan.synced
  const damage = scan.decide()
  if (damage !== null) {
    if (opts.repair !== true || intactLog(damage.reason)) throw new LogCorruptError(file, damage.line, damage.offset, damage.reason)
    r.dropped = damage
    r.goodBytes = Math.min(damage.offset, r.bytes)
    r.warnings.push(
      `${file}: repair dropped ${damage.lines} line(s), ${damage.bytes} byte(s), ${damage.records} intact record(s) ` +
        `from line ${damage.line} (byte ${damage.offset}): ${damage.reason}`,
    )
  } else if (r.cut !== null) {
    const c = r.cut
    r.warnings.push(
      `${file}: cut a torn tail of ${c.bytes} byte(s) (${c.lines} line(s)) after the last synced offset ${r.synced}, ` +
        `from line ${c.line} (byte ${c.offset}): ${c.reason}`,
    )
  }
  return r
}

/** The state of one pass over a log's lines. */
class Scan {
  readonly r: Recovered = emptyRecovery()
  /** Highest offset known synced (markers; the sidecar is added by the caller). */
  synced = 0
  private bad: (Damage & { torn: boolean }) | null = null
  private lineNo = 0
  private after = { lines: 0, complete: 0, records: 0 }

  constructor(private readonly bounds: ReplayBounds) {}

  line(buf: Buffer, start: number, end: number, offset: number): void {
    this.lineNo++
    this.r.lines = this.lineNo
    if (this.bad !== null) return this.afterDamage(buf, start, end, offset, true)
    if (this.lineNo === 1) this.r.format = buf[start] === 0x5b ? 2 : buf[start] === 0x7b ? 1 : 0
    let torn = false
    let problem: string | null
    if (this.r.format === 2) {
      const f = unframe(buf, start, end)
      // Only a line whose frame or checksum is broken can be a torn write.
      torn = 'problem' in f
      problem = 'problem' in f ? f.problem : this.apply2(f.payload, end - start + 1, offset)
    } else {
      problem = this.apply1(buf.toString('utf8', start, end), end - start)
      torn = problem === 'not JSON' || problem === 'not an object'
    }
    if (problem === null) {
      this.r.goodBytes = offset + end - start + 1
      return
    }
    this.bad = { line: this.lineNo, offset, reason: problem, torn }
    this.after.lines = 1
  }

  /** A last line without its newline. */
  partial(offset: number, length: number): void {
    if (this.bad !== null) {
      this.after.lines++
      return
    }
    this.bad = { line: this.lineNo + 1, offset, reason: `no newline at the end (${length} bytes)`, torn: true }
    this.after.lines = 1
  }

  private apply2(payload: string, length: number, offset: number): string | null {
    const o = parseObject(payload)
    if (typeof o === 'string') return o
    const r = this.r
    if (this.lineNo === 1) {
      const p = headerProblem(o, 2, this.bounds)
      if (p === null) r.header = o as unknown as Header
      return p
    }
    if (o.synced !== undefined) {
      if (o.synced !== offset) return `synced marker for offset ${String(o.synced)} found at offset ${offset}`
      if (offset > this.synced) this.synced = offset
      return null
    }
    const p = replayObject(o, r, this.bounds)
    if (p === null && typeof o.key === 'string') {
      r.recordLines++
      r.recordBytes += length
    }
    return p
  }

  private apply1(text: string, length: number): string | null {
    const o = parseObject(text)
    if (typeof o === 'string') return o
    const r = this.r
    if (this.lineNo === 1) {
      const p = headerProblem(o, 1, this.bounds)
      if (p === null) r.header = o as unknown as Header
      return p
    }
    const p = replayObject(o, r, this.bounds)
    if (p === null && typeof o.key === 'string') {
      r.recordLines++
      r.recordBytes += length + 1
    }
    return p
  }

  /** Lines after the first damage: counted, and searched for markers that prove it was synced. */
  private afterDamage(buf: Buffer, start: number, end: number, offset: number, complete: boolean): void {
    this.after.lines++
    if (complete) this.after.complete++
    if (this.r.format === 2) {
      const f = unframe(buf, start, end)
      if ('problem' in f) return
      const o = parseObject(f.payload)
      if (typeof o === 'string') return
      if (o.synced === offset && offset > this.synced) this.synced = offset
      if (typeof o.key === 'string') this.after.records++
    } else {
      const o = parseObject(buf.toString('utf8', start, end))
      if (typeof o !== 'string' && typeof o.key === 'string') this.after.records++
    }
  }

  /** Sort the first damage, if any, into a torn tail (`r.cut`) or damage to report (returned). */
  decide(): Dropped | null {
    const r = this.r
    const bad = this.bad
    if (bad === null) {
      if (r.bytes === 0) return { line: 1, offset: 0, reason: 'empty log', lines: 0, bytes: 0, records: 0 }
      if (r.bytes >= this.synced) return null
      const missing = this.synced - r.bytes
      return {
        line: this.lineNo + 1,
        offset: r.bytes,
        reason: `the file ends at byte ${r.bytes}, but ${this.synced} bytes of it were synced: ${missing} bytes are missing (truncated)`,
        lines: 0,
        bytes: missing,
        records: 0,
      }
    }
    let reason = bad.reason
    if (r.bytes < this.synced) reason += `; the file ends at byte ${r.bytes}, but ${this.synced} bytes of it were synced (truncated)`
    const dropped: Dropped = { line: bad.line, offset: bad.offset, reason, lines: this.after.lines, bytes: r.bytes - bad.offset, records: this.after.records }
    // The header is written with its file, which becomes the log only once synced: never torn.
    const torn = bad.torn && bad.line > 1 && (r.format === 2 ? bad.offset >= this.synced : this.after.complete === 0)
    if (!torn) return dropped
    r.cut = dropped
    return null
  }
}

/**
 * The header of the log at `file`, or null when there is no file or its
 * first line is not an intact header (format 1 or 2).
 */
export function readHeader(fs: StoreFs, file: string): Header | null {
  let fd: number
  try {
    fd = fs.open(file, 'r')
  } catch {
    return null
  }
  const buf = Buffer.alloc(4096)
  let n = 0
  try {
    for (let k; n < buf.length && (k = fs.read(fd, buf, n, buf.length - n, n)) > 0; ) n += k
  } catch {
    return null
  } finally {
    fs.close(fd)
  }
  const nl = buf.indexOf(10)
  if (nl === -1 || nl >= n) return null
  let text: string
  if (buf[0] === 0x5b) {
    const f = unframe(buf, 0, nl)
    if ('problem' in f) return null
    text = f.payload
  } else text = buf.toString('utf8', 0, nl)
  const o = parseObject(text)
  if (typeof o === 'string' || headerProblem(o, o.store === 2 ? 2 : 1, defaultBounds()) !== null) return null
  return o as unknown as Header
}
