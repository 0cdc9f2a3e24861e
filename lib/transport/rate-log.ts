/**
 * Log lines that count instead of repeating: at most one line per key per
 * `interval` ms; lines suppressed meanwhile are counted and the count is
 * handed over with the next line of that key. Keys are bounded: the oldest are
 * forgotten past `maxKeys`, so a flood of distinct keys costs bounded memory.
 */
export class RateLog<T = undefined> {
  private readonly last = new Map<string, { at: number; suppressed: number }>()

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
    const e = this.last.get(key)
    if (e !== undefined && t - e.at < this.interval) {
      e.suppressed++
      return
    }
    const suppressed = e?.suppressed ?? 0
    this.last.delete(key)
    this.last.set(key, { at: t, suppressed: 0 })
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value as string)
    this.emit(line, suppressed, data as T)
  }
}

/** A line with its count of suppressed repeats, as people read it. */
export function withRepeats(line: string, suppressed: number): string {
  return suppressed > 0 ? `${line} (and ${suppressed} more like it since the last report)` : line
}
