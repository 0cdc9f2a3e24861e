import { describe } from './admission.ts'
import { RefusedError } from './replica-types.ts'
import type { JsonValue, Rec, ResolveFn, ResolveHost } from './types.ts'

/**
 * Conflict resolution. Every built-in choice is a deterministic total order
 * over updates, so all replicas keep the same winner for a key whatever order
 * the updates arrive in: ties on the primary criterion fall back to version,
 * then `source_id`, then `gen`.
 */

/** Order by (version, source_id, gen): the default `sort` and the LWW order. */
export function sort(a: Rec, b: Rec): number {
  if (a.version !== b.version) return a.version < b.version ? -1 : 1
  if (a.source_id !== b.source_id) return a.source_id < b.source_id ? -1 : 1
  if (a.gen !== b.gen) {
    if (a.gen === undefined) return -1
    if (b.gen === undefined) return 1
    return a.gen < b.gen ? -1 : 1
  }
  // The same write, or a writer that reused a version for other content:
  // the content decides, so every node keeps the same one of the two.
  if ((a.deleted === true) !== (b.deleted === true)) return a.deleted === true ? 1 : -1
  return compareValues(a.value, b.value)
}

const TYPE_RANK = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5 } as const

function rank(v: JsonValue): number {
  if (v === null) return TYPE_RANK.null
  if (Array.isArray(v)) return TYPE_RANK.array
  return TYPE_RANK[typeof v as 'boolean' | 'number' | 'string' | 'object']
}

/**
 * A deterministic total order over JSON values: null < booleans < numbers <
 * strings < arrays < objects; within a type by value, arrays element-wise,
 * objects by their sorted keys and then their values.
 */
export function compareValues(a: JsonValue, b: JsonValue): number {
  if (a === b) return 0
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra < rb ? -1 : 1
  switch (ra) {
    case TYPE_RANK.boolean:
    case TYPE_RANK.number:
    case TYPE_RANK.string:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0
    case TYPE_RANK.array: {
      const x = a as JsonValue[]
      const y = b as JsonValue[]
      const n = Math.min(x.length, y.length)
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i], y[i])
        if (c !== 0) return c
      }
      return x.length - y.length < 0 ? -1 : x.length === y.length ? 0 : 1
    }
    default: {
      const x = a as Record<string, JsonValue>
      const y = b as Record<string, JsonValue>
      const kx = Object.keys(x).sort()
      const ky = Object.keys(y).sort()
      const c = compareValues(kx, ky)
      if (c !== 0) return c
      for (const k of kx) {
        const d = compareValues(x[k], y[k])
        if (d !== 0) return d
      }
      return 0
    }
  }
}

/**
 * The decision a built-in makes, given what the replica holds. Lets the engine
 * decide without a second lookup; user-supplied functions are called as
 * `resolve(gossip, update)`.
 */
export type FastResolve = (current: Rec | undefined, update: Rec, clock: number) => boolean
export const FAST: unique symbol = Symbol('simple-scuttle.fast-resolve')
export type BuiltinResolve = ResolveFn & { [FAST]: FastResolve }

function builtin(name: string, fast: FastResolve): BuiltinResolve {
  const fn = {
    [name]: (gossip: ResolveHost, update: Rec): boolean =>
      fast(gossip.record(update.key), update, clockOf(gossip, update)),
  }[name] as BuiltinResolve
  fn[FAST] = fast
  return fn
}

function clockOf(gossip: ResolveHost, update: Rec): number {
  const c = gossip.clock.get(update.source_id, update.gen)
  return c === -Infinity ? 0 : c
}

/** Last write wins against the record held for the key: the usual choice. */
export const lww_vs_current_vers = builtin('lww_vs_current_vers', (cur, u) =>
  cur === undefined ? true : sort(u, cur) > 0,
)

/**
 * Last write wins, and an update already covered by the clock of its source is
 * refused without looking further (it, or something newer, is already held).
 */
export const lww_vs_clock = builtin('lww_vs_clock', (cur, u, clock) =>
  u.version <= clock ? false : cur === undefined ? true : sort(u, cur) > 0,
)

/**
 * A register whose value only grows: the larger value (by `compareValues`)
 * wins, ties broken by version then source. Tombstones carry `null`, the
 * smallest value, so a delete never wins over a value under this rule.
 */
export const strictly_order_values = builtin('strictly_order_values', (cur, u) => {
  if (cur === undefined) return true
  const c = compareValues(u.value, cur.value)
  return c !== 0 ? c > 0 : sort(u, cur) > 0
})

/**
 * Ask a user's `resolve` whether `update` wins over what `host` holds. A
 * resolve that throws, or returns a Promise (it cannot decide in time),
 * refuses the update with a `RefusedError`; anything but a boolean is
 * taken by its truthiness, as in the seed.
 */
export function askResolve(resolve: ResolveFn, host: ResolveHost, update: Rec): boolean {
  let won: unknown
  try {
    won = resolve(host, update)
  } catch (err) {
    throw new RefusedError(`config.resolve threw: ${describe(err)}`, { cause: err })
  }
  if (typeof won === 'boolean') return won
  if (typeof (won as { then?: unknown } | null)?.then === 'function') throw new RefusedError('config.resolve returned a Promise: it must decide synchronously, with true or false')
  return Boolean(won)
}

export const resolution = { strictly_order_values, lww_vs_current_vers, lww_vs_clock }
