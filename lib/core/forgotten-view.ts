import type { Rec, ResolveHost } from './types.ts'

/**
 * What a user's `resolve` is shown of a key absent here whose tombstone
 * was forgotten (`Collected`, tombstones.ts): the host as it is, except
 * that `record(key)` gives that tombstone, as if it were still held.
 *
 * Invariant: a user's resolve decides an update of a deleted key against
 * the delete, before the tombstone is collected and after alike, as the
 * built-ins do (they are handed the tombstone as the current record); so
 * no resolve brings back a value the delete beat. `get` reports the key
 * absent, as it does for a tombstone held. Everything else is the host's
 * own (its methods run on the host itself).
 */
export function forgottenView(host: ResolveHost, tomb: Rec): ResolveHost {
  const record = (key: string): Rec | undefined => (String(key) === tomb.key ? tomb : host.record(key))
  return new Proxy(host, {
    get(target, prop) {
      if (prop === 'record') return record
      const v: unknown = Reflect.get(target, prop, target)
      if (typeof v !== 'function') return v
      // A frozen method must be handed out as it is (a Proxy may not change it).
      const d = Reflect.getOwnPropertyDescriptor(target, prop)
      return d !== undefined && d.configurable === false && d.writable === false ? v : v.bind(target)
    },
  })
}
