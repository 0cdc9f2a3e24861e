import type { Timers } from '../transport/timers.ts'
import { errorCode } from './fs.ts'
import type { StoreStatus } from './store-options.ts'

/**
 * Degraded mode: the last disk failure, and the probes that retry. A probe
 * runs `retryMs` after the failure, then at doubling intervals up to
 * `maxRetryMs`, until `probe()` returns true or `stop()` is called. The
 * probe function must not throw.
 */
export class DiskHealth {
  /** The latest failure while degraded, else null. */
  failure: Error | null = null
  private failedAt = 0
  private delay: number
  private timer: unknown = null
  private stopped = false

  constructor(
    private readonly timers: Timers,
    private readonly retryMs: number,
    private readonly maxRetryMs: number,
    private readonly probe: () => boolean,
  ) {
    this.delay = retryMs
  }

  /** Note a failure; returns true when it starts degraded mode (probes are then scheduled). */
  fail(err: Error): boolean {
    const entering = this.failure === null
    this.failure = err
    if (!entering) return false
    this.failedAt = this.timers.now()
    this.delay = this.retryMs
    this.schedule()
    return true
  }

  /** The disk works again. */
  healed(): void {
    this.failure = null
  }

  status(): StoreStatus {
    const f = this.failure
    if (f === null) return { degraded: false, error: null, code: null, since: null }
    return { degraded: true, error: f.message, code: errorCode(f) ?? f.name, since: this.failedAt }
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) {
      this.timers.clearTimeout(this.timer)
      this.timer = null
    }
  }

  private schedule(): void {
    if (this.stopped || this.timer !== null) return
    this.timer = this.timers.setTimeout(() => {
      this.timer = null
      if (this.stopped || this.failure === null || this.probe()) return
      this.delay = Math.min(this.delay * 2, this.maxRetryMs)
      this.schedule()
    }, this.delay)
  }
}
