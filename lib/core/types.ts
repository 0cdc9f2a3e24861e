/**
 * Records and wire-level value types shared by the pure core.
 *
 * A `Rec` is one update as stored in state and history and as sent on the
 * wire: the seed's `{key, value, source_id, version}` plus optional extension
 * fields. Records held by a replica are never mutated after they are stored;
 * treat every record handed out by the library as read-only.
 */

/** Any value JSON can carry without loss (no undefined, NaN, Infinity, BigInt, cycles). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * What `set` takes: `T` itself when every part of it is JSON, written as a
 * type alias, an interface or a class-free object type (an interface has
 * no index signature, so it is not a `JsonValue` itself). Functions, and
 * objects with methods (Date, Map), map to `never` and are refused at
 * compile time; the value is validated again when it is written.
 */
export type JsonInput<T> = T extends JsonValue
  ? T
  : T extends (...args: never[]) => unknown
    ? never
    : T extends object
      ? { [K in keyof T]: JsonInput<T[K]> }
      : never

export interface Rec {
  /** The key in the shared key space. */
  readonly key: string
  /** The value; `null` for a tombstone. */
  readonly value: JsonValue
  /** The node that wrote the update. */
  readonly source_id: string
  /** Strictly increasing per (source_id, gen); a Lamport time across the cluster. */
  readonly version: number
  /** Incarnation of the source: set when a node must not be confused with an earlier life. */
  readonly gen?: string
  /** Present and true on a tombstone written by `del`. */
  readonly deleted?: true
  /** The source's signature over the record's canonical bytes (signed clusters only). */
  readonly sig?: string
}

/** Who sent a remote update, for `accept`. */
export interface PeerLabel {
  /** The peer's node id, when the transport knows it (its hello). */
  readonly id?: string
}

/** `config.sign`: a signature for one of this node's own records. */
export type SignFn = (rec: Rec) => string
/** `config.verify`: whether `rec.sig` is its source's signature over it. */
export type VerifyFn = ((rec: Rec) => boolean) & {
  /**
   * Whether this node holds a key for `source_id` at all. When it says no,
   * the record is refused as `no key for this source` and passed over, as
   * `accept`'s refusals are: an honest peer may relay records of a source
   * this node does not trust (or not yet), so that is not held against
   * the link, where a false from `verify` (a forged record) is.
   */
  knows?: (source_id: string) => boolean
}
/** `config.accept`: whether to admit a remote update at all (authorisation). */
export type AcceptFn = (update: Rec, peer: PeerLabel) => boolean

/** What `get` returns: the seed's shape, exactly. */
export interface Versioned {
  version: number
  value: JsonValue | null
}

/** Deterministic order over records: negative when `a` sorts before `b`. */
export type SortFn = (a: Rec, b: Rec) => number

/** The view of a replica a `resolve` function may consult. */
export interface ResolveHost {
  readonly id: string
  get(key: string): Versioned
  /** The full record currently held for `key`, tombstones included. */
  record(key: string): Rec | undefined
  readonly clock: { get(source_id: string, gen?: string): number }
  sort: SortFn
}

/** `config.resolve`: true to apply `update` over what `gossip` holds for its key. */
export type ResolveFn = (gossip: ResolveHost, update: Rec) => boolean

/** How to fill an exchange when not everything fits in `mtu` (paper, section 3.2). */
export type DeltaOrder = 'depth' | 'breadth'

/** Uniform random in [0, 1); injected so that runs can be replayed. */
export type RandomFn = () => number

/** Returns the current time as a number comparable with versions; injected. */
export type ClockFn = () => number

/** Identity of a replication source: the writer's id plus its incarnation. */
export function sourceKey(source_id: string, gen: string | undefined): string {
  return gen === undefined ? source_id : source_id + '\u0000' + gen
}

/** The first index of `list` (ascending by version) whose version is above `v`. */
export function firstAbove(list: readonly Rec[], v: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid].version <= v) lo = mid + 1
    else hi = mid
  }
  return lo
}
