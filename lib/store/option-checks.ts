/**
 * Checks of a store's options (the log store's and the IndexedDB one's),
 * with nothing from Node: the browser bundle carries them. Every error
 * names the option, shows the value given and says what is allowed;
 * `undefined` always means the default.
 */
import { shown } from '../config.ts'

/** What a numeric option may be. */
export interface NumberRule {
  /** The smallest value allowed, or the bound it must exceed when `above`. */
  min: number
  above?: boolean
  integer?: boolean
  /** Infinity allowed (it means "never" where the option is a threshold). */
  infinite?: boolean
  /** The allowed values in words, for the error: "a non-negative number of ms". */
  what: string
}

/**
 * `v`, or `fallback` when it is undefined. A value of another type is a
 * TypeError, a number outside the rule a RangeError.
 */
export function numberOption(subject: string, v: unknown, fallback: number, rule: NumberRule): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number') throw new TypeError(`${subject} must be ${rule.what}, got ${shown(v)}`)
  const fits =
    !Number.isNaN(v) &&
    (rule.above === true ? v > rule.min : v >= rule.min) &&
    (Number.isFinite(v) ? rule.integer !== true || Number.isInteger(v) : rule.infinite === true && v === Infinity)
  if (!fits) throw new RangeError(`${subject} must be ${rule.what}, got ${shown(v)}`)
  return v
}

export function booleanOption(subject: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback
  if (typeof v !== 'boolean') throw new TypeError(`${subject} must be true or false, got ${shown(v)}`)
  return v
}

/** An object whose `methods` are functions, or undefined. */
export function objectOption<T>(subject: string, v: unknown, methods: readonly string[], what: string): T | undefined {
  if (v === undefined) return undefined
  const missing = typeof v === 'object' && v !== null ? methods.filter((m) => typeof (v as Record<string, unknown>)[m] !== 'function') : methods
  if (typeof v !== 'object' || v === null || missing.length > 0) {
    throw new TypeError(`${subject} must be ${what}${typeof v === 'object' && v !== null ? ` (missing: ${missing.join(', ')})` : `, got ${shown(v)}`}`)
  }
  return v as T
}

/** A non-empty string, or undefined. */
export function nameOption(subject: string, v: unknown): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v === '') throw new TypeError(`${subject} must be a non-empty string, got ${shown(v)}`)
  return v
}
