import type { Timers } from '../../lib/transport/timers.ts'

/** Timers driven by the test: nothing fires until `advance`. */
export class FakeTimers implements Timers {
  private time = 0
  private seq = 0
  private readonly pending = new Map<number, { at: number; fn: () => void }>()

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq
    this.pending.set(id, { at: this.time + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number)
  }

  /** Delays of the timers now pending, ascending. */
  delays(): number[] {
    return [...this.pending.values()].map((p) => p.at - this.time).sort((a, b) => a - b)
  }

  /** Move time forward by `ms`, firing due timers in order (those overdue after a `stall` first, at once). */
  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const e of this.pending) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e
      if (next === undefined) break
      this.pending.delete(next[0])
      this.time = Math.max(this.time, next[1].at)
      next[1].fn()
    }
    this.time = end
  }

  /** The process stops for `ms` (paused, or its event loop held): time moves on, nothing fires; what fell due fires late, at the next `advance`. */
  stall(ms: number): void {
    this.time += ms
  }
}
