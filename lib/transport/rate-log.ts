/**
 * Log lines that count instead of repeating: at most one line per key per
 * `interval` ms; lines suppressed meanwhile are counted and the count is
 * handed over with the next line of that key. Keys are bounded, and so is
 * the output: past `maxKeys`, a new key takes the place of the oldest only
 * once that one's line is an interval old; until then its lines share one
 * overflow key. So a flood of distinct keys costs bounded memory and
 * prints at most `maxKeys + 1` lines per interval (evicting the oldest at
 * once would let keys cycle, each forgotten before it came back, and every
 * line print).
 */
export class RateLog<T = undefined> {
  private readonly last = new Map<string, { at: number; suppressed: number }>()
  /** What lines of new keys share while every kept key's line is recent: outside `last`, never evicted. */
  private readonly overflow = { at: -Infinity, suppressed: 0 }

  constructor(
    /** Called with the line and how many lines of its key were suppressed since the last one. */
    private readonly emit: (line: string, suppressed: number, data: T) => void,
    private readonly now: () => number,
    private readonly interval = 10_000,
    private readonly maxKeys = 1024,
  ) {}

  /** Log `line` (and `data`) under `key`, unless a line of that key went out less than `interval` ago. */
  line(key: string, line: string, data?: T): void {
    const t = this.now()
    if (!this.last.has(key) && this.last.size >= this.maxKeys) {
      const [oldest, o] = this.last.entries().next().value as [string, { at: number }]
      if (!due(o.at, t, this.interval)) return this.overflowLine(t, line, data)
      this.last.delete(oldest)
    }
    const e = this.last.get(key)
    if (e !== undefined && !due(e.at, t, this.interval)) {
      e.suppressed++
      return
    }
    const suppressed = e?.suppressed ?? 0
    this.last.delete(key)
    this.last.set(key, { at: t, suppressed: 0 })
    this.emit(line, suppressed, data as T)
  }

  /** A line of a new key while every kept key's line is recent: at most one such line per interval. */
  private overflowLine(t: number, line: string, data?: T): void {
    const o = this.overflow
    if (!due(o.at, t, this.interval)) {
      o.suppressed++
      return
    }
    const suppressed = o.suppressed
    o.at = t
    o.suppressed = 0
    this.emit(line, suppressed, data as T)
  }
}

/** Whether a line last printed at `at` may print again at `t` (an interval on, or the clock went back). */
const due = (at: number, t: number, interval: number) => t - at >= interval || t < at

/**
 * The first `burst` lines of every `interval` ms in full (`full`); past
 * that, one line per key per interval with a count (a `RateLog`), so a peer
 * that makes events at any rate cannot make the log grow with it.
 */
export class BurstLog<T> {
  private windowStart = -Infinity
  private inWindow = 0
  private readonly rest: RateLog<T>

  constructor(
    private readonly full: (line: string, data: T) => void,
    counted: (line: string, suppressed: number, data: T) => void,
    private readonly now: () => number,
    private readonly burst: number,
    private readonly interval = 10_000,
  ) {
    this.rest = new RateLog(counted, now, interval)
  }

  line(key: string, line: string, data: T): void {
    const t = this.now()
    if (t - this.windowStart >= this.interval) {
      this.windowStart = t
      this.inWindow = 0
    }
    if (++this.inWindow <= this.burst) this.full(line, data)
    else this.rest.line(key, line, data)
  }
}

/** A line with its count of suppressed repeats, as people read it. */
export function withRepeats(line: string, suppressed: number): string {
  return suppressed > 0 ? `${line} (and ${suppressed} more like it since the last report)` : line
}
