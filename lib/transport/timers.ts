import type { RandomFn } from '../core/types.ts'

/** Timer functions, injected so that schedules can be tested without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /** Milliseconds on a monotonic clock. */
  now(): number
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
}

export interface BackoffOptions {
  /** First delay, ms. Default 100. */
  initial?: number
  /** Largest delay, ms. Default 10,000. */
  max?: number
  /** Growth per failed attempt. Default 2. */
  factor?: number
}

/**
 * Exponential backoff with "equal jitter": attempt n waits between half and
 * all of min(max, initial * factor^n), so peers that lost a common neighbour
 * do not all redial at the same instant.
 */
export function backoffDelay(attempt: number, random: RandomFn, opts: BackoffOptions = {}): number {
  const initial = opts.initial ?? 100
  const max = opts.max ?? 10_000
  const factor = opts.factor ?? 2
  const ceiling = Math.min(max, initial * Math.pow(factor, Math.min(attempt, 64)))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
