import type { RandomFn } from '../core/types.ts'
import { shown as shownValue } from '../config.ts'

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

/** Refuses backoff options that would redial without pause or never: each given field a finite number, initial > 0, max >= initial, factor >= 1. */
export function checkBackoff(opts: unknown, where: string): BackoffOptions {
  if (opts === undefined) return {}
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`${where}: backoff must be an object { initial, max, factor }, got ${shownValue(opts)}`)
  const o = opts as Record<string, unknown>
  for (const name of ['initial', 'max', 'factor']) {
    const v = o[name]
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v))) throw new RangeError(`${where}: backoff.${name} must be a finite number, got ${shownValue(v)}`)
  }
  const b = o as BackoffOptions
  if (b.initial !== undefined && !(b.initial > 0)) throw new RangeError(`${where}: backoff.initial must be above 0 ms, got ${b.initial}`)
  if (b.factor !== undefined && !(b.factor >= 1)) throw new RangeError(`${where}: backoff.factor must be at least 1, got ${b.factor}`)
  if (b.max !== undefined && !(b.max >= (b.initial ?? 100))) throw new RangeError(`${where}: backoff.max must be at least backoff.initial (${b.initial ?? 100} ms), got ${b.max}`)
  return b
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
