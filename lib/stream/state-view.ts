import type { Replica } from '../core/replica.ts'
import type { Rec, Versioned } from '../core/types.ts'

/**
 * `gossip.state` when the caller supplies none: a read-only view over the
 * replica, `state[key] -> {value, version}` (the seed's shape, so it compares
 * equal to plain objects), with `source_id` as a non-enumerable extra.
 * Tombstones are absent from the view. Costs nothing per key. Names that
 * are not keys read as on a plain object (`hasOwnProperty`, `toString`), and
 * `console.log` shows the keys and values (a snapshot, built when printed).
 */
export function stateView(replica: Replica): Record<string, Versioned> {
  const live = (key: string | symbol): Rec | undefined => {
    if (typeof key !== 'string') return undefined
    const r = replica.record(key)
    return r === undefined || r.deleted === true ? undefined : r
  }
  const readOnly = (): never => {
    throw new TypeError('gossip.state is read-only: write with gossip.set(key, value)')
  }
  const target = {} as Record<string, Versioned>
  // util.inspect looks at a proxy's target, not through its traps: give it a snapshot to print.
  Object.defineProperty(target, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => Object.fromEntries(Array.from(replica.keys(), (k) => [k, toVersioned(replica.record(k)!)])),
    configurable: true,
  })
  return new Proxy(target, {
    get: (_t, key) => {
      const r = live(key)
      return r !== undefined ? toVersioned(r) : Reflect.get(Object.prototype, key)
    },
    has: (_t, key) => live(key) !== undefined,
    ownKeys: () => Array.from(replica.keys()),
    getOwnPropertyDescriptor: (_t, key) => {
      const r = live(key)
      return r === undefined ? undefined : { value: toVersioned(r), enumerable: true, configurable: true, writable: false }
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
  })
}

/** `{value, version}` with `source_id` (and `gen`) attached, not enumerable. */
export function toVersioned(r: Rec): Versioned {
  const v: Versioned = { value: r.value, version: r.version }
  Object.defineProperty(v, 'source_id', { value: r.source_id })
  if (r.gen !== undefined) Object.defineProperty(v, 'gen', { value: r.gen })
  return v
}
