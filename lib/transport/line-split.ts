/**
 * Two protocols on one connection: the replica's lines and the membership
 * layer's, told apart by how a line begins. A line that begins with
 * `{"mb":` goes to `onLine`; every other byte passes through unchanged,
 * in order, to the replica's stream behind this one.
 *
 * The common case costs two native searches per chunk (for `\n{"mb":`,
 * and for the last newline, where a prefix may be cut by the chunk's end),
 * so the replica's traffic goes through at nearly the speed of a pipe.
 * Membership lines are bounded by `maxLine` bytes; a longer one is dropped
 * and reported, and the connection goes on with the next line.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { GrowBuffer } from '../codec/grow-buffer.ts'

const PREFIX = Buffer.from('{"mb":')
const NL_PREFIX = Buffer.from('\n{"mb":')
const P = PREFIX.length

export class LineSplitter extends Transform {
  /** Bytes of membership lines taken in as they arrive (an unfinished one's and an over-long one's included): a peer's progress. */
  bytesIn = 0
  /** Membership lines taken in (over-long ones, dropped, not counted). */
  linesIn = 0
  private state: 'start' | 'app' | 'mb' | 'skip' = 'start'
  /** At a line start: how many bytes of the prefix have matched (withheld from the replica so far). */
  private matched = 0
  /** The membership line being read. */
  private readonly acc: GrowBuffer

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onInvalid: (reason: string) => void,
    private readonly maxLine: number,
    /** Called for every chunk of bytes that comes in, whatever it holds. */
    private readonly onBytes?: () => void,
  ) {
    super({ highWaterMark: 64 * 1024 })
    this.acc = new GrowBuffer(maxLine)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    const c = chunk
    const len = c.length
    if (len > 0) this.onBytes?.()
    const out: Buffer[] = []
    let appFrom = this.state === 'app' ? 0 : -1
    let i = 0
    while (i < len) {
      if (this.state === 'app') {
        const k = c.indexOf(NL_PREFIX, i)
        if (k >= 0) {
          i = k + 1
        } else {
          // No whole prefix ahead; the last line may still begin with a cut one.
          const last = c.lastIndexOf(10)
          if (last < i) break
          i = last + 1
        }
        this.state = 'start'
        this.matched = 0
        continue
      }
      if (this.state === 'start') {
        const ls = i
        const carried = this.matched
        while (this.matched < P && i < len && c[i] === PREFIX[this.matched]) {
          this.matched++
          i++
        }
        if (this.matched === P) {
          if (appFrom >= 0) out.push(c.subarray(appFrom, ls))
          appFrom = -1
          this.state = 'mb'
          this.acc.clear()
          this.acc.append(PREFIX)
          this.bytesIn += P
          this.matched = 0
          continue
        }
        if (i === len) {
          // The chunk ends inside what may be a prefix: withhold it until the next chunk says.
          if (appFrom >= 0) out.push(c.subarray(appFrom, ls))
          appFrom = -1
          break
        }
        // Not a membership line: the bytes withheld before this chunk go first, then the line.
        if (carried > 0) out.push(PREFIX.subarray(0, carried))
        if (appFrom < 0) appFrom = ls
        this.matched = 0
        this.state = 'app'
        // The byte that did not match may end the line: look again from it.
        const nl = c.indexOf(10, i)
        if (nl < 0) break
        i = nl + 1
        this.state = 'start'
        continue
      }
      // Inside a membership line (or one too long, skipped).
      const nl = c.indexOf(10, i)
      const end = nl < 0 ? len : nl
      this.bytesIn += end - i + (nl < 0 ? 0 : 1)
      if (this.state === 'mb') {
        this.acc.append(c, i, end)
        if (this.acc.length > this.maxLine) {
          this.acc.clear()
          this.state = 'skip'
          this.onInvalid(`membership line longer than ${this.maxLine} bytes`)
        }
      }
      if (nl < 0) break
      if (this.state === 'mb') {
        const line = this.acc.view().toString('utf8')
        this.linesIn++
        this.acc.clear()
        this.onLine(line)
      }
      this.state = 'start'
      i = nl + 1
    }
    if (appFrom >= 0 && appFrom < len) out.push(appFrom === 0 ? c : c.subarray(appFrom))
    if (out.length === 1) this.push(out[0])
    else if (out.length > 1) this.push(Buffer.concat(out))
    callback()
  }

  override _flush(callback: TransformCallback): void {
    if (this.state === 'start' && this.matched > 0) this.push(PREFIX.subarray(0, this.matched))
    callback()
  }
}
