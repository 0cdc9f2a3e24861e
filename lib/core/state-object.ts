import type { JsonValue, Rec } from './types.ts'
import { DEFAULT_LIMITS, isVersion, jsonProblem, makeRec } from '../protocol/validate.ts'
import { deepFreeze } from './values.ts'

/**
 * A caller-supplied state object (the seed's third constructor argument):
 * the records it starts with, and the writes that keep it in step.
 */

/** Store (or, for undefined, delete) a key of a caller-supplied object without touching its prototype. */
export function writeThrough(state: Record<string, unknown>, key: string, rec: Rec | undefined): void {
  if (rec === undefined) {
    if (Object.prototype.hasOwnProperty.call(state, key)) delete state[key]
  } else if (key === '__proto__') {
    Object.defineProperty(state, key, { value: rec, writable: true, enumerable: true, configurable: true })
  } else {
    state[key] = rec
  }
}

/**
 * The record a state object's entry stands for: `{value, version}` at
 * least, the value JSON; without a `source_id` it is the node's own (`id`,
 * `gen`). The value is frozen where it is. Throws a TypeError for anything
 * else.
 */
export function recordOfEntry(key: string, entry: unknown, id: string, gen: string | undefined): Rec {
  const e = entry as Partial<Rec> | null
  if (typeof e !== 'object' || e === null || !isVersion(e.version)) {
    throw new TypeError(`state[${JSON.stringify(key)}] must be {value, version} with a positive integer version`)
  }
  const source_id = typeof e.source_id === 'string' && e.source_id !== '' ? e.source_id : id
  const g = typeof e.gen === 'string' ? e.gen : source_id === id ? gen : undefined
  const problem = jsonProblem(e.value ?? null, DEFAULT_LIMITS.maxValueDepth)
  if (problem !== null) throw new TypeError(`state[${JSON.stringify(key)}].value: ${problem}`)
  deepFreeze((e.value ?? null) as JsonValue) // held and sent as it is now: later changes to it would reach no peer
  return makeRec(key, (e.value ?? null) as JsonValue, source_id, e.version, g, e.deleted === true, typeof e.sig === 'string' ? e.sig : undefined)
}

/** Write `rec` (undefined: delete) for `key` to a state object if there is one; one that throws keeps what it has (the replica is still right). */
export function writeQuietly(state: Record<string, unknown> | undefined, key: string, rec: Rec | undefined): void {
  if (state === undefined) return
  try {
    writeThrough(state, key, rec)
  } catch {
    // Nothing more to do: the replica holds what it holds either way.
  }
}

/** Put `cur` back for `key` after a refused change (the replica never took it). */
export const undoWrite = writeQuietly

/**
 * Why a state entry at `version` is refused: further ahead of the clock
 * (`now`, µs) than `maxOffset` (µs) allows, the rule every peer's record
 * meets (Admission.plausible). Taken, it would lift the node's version, and
 * every later local write would carry a version peers refuse. `clocked`:
 * the replica was given a clock (without one, it counts versions 1, 2, 3).
 */
export function futureEntry(key: string, version: number, now: number, maxOffset: number, clocked: boolean): RangeError {
  const ahead = clocked
    ? `${Math.round((version - now) / 1e6)} s ahead of this machine's clock, more than maxClockOffset (${maxOffset / 1e6} s) allows (was the state saved by a machine whose clock was ahead, or did this clock go back?)`
    : `above what a replica without a clock admits (${maxOffset}): give it \`now\` to load states written with one`
  return new RangeError(`state[${JSON.stringify(key)}]: version ${version} is ${ahead}`)
}
