import type { Source } from './clock.ts'
import type { AcceptFn, ClockFn, PeerLabel, Rec, ResolveFn, SignFn, SortFn, VerifyFn } from './types.ts'

/**
 * What a replica is given and what it hands out: its options, what it
 * saves and restores, the journal that records its changes, and the
 * listeners (sessions) it tells of its writes.
 */

/** Default bound on how far a remote version may be ahead of the local clock: 5 minutes, in µs. */
export const DEFAULT_MAX_OFFSET_US = 5 * 60 * 1_000_000

export interface ReplicaOptions {
  readonly id: string
  /** Incarnation of this node's source; see ALGORITHM.md, restarts. */
  readonly gen?: string
  readonly resolve: ResolveFn
  readonly sort: SortFn
  readonly maxHistory: number
  /**
   * Physical time in µs: the floor of new versions (a hybrid logical clock)
   * and the reference for the bound on remote versions. Default: always 0,
   * so versions count 1, 2, 3 (deterministic tests and simulations).
   */
  readonly now?: ClockFn
  /** A remote version may be at most this many µs ahead of `now()`. Default 5 minutes. */
  readonly maxOffset?: number
  /** Most sources tracked; a record of one more is refused. Default unbounded. */
  readonly maxSources?: number
  /**
   * Largest value a remote record may hold, in bytes of its larger encoding
   * (JSON or MessagePack, value-size.ts); a record over it is refused for
   * good (passed over, not fetched again). Default unbounded. Records
   * restored from this node's own log are not measured.
   */
  readonly maxValueBytes?: number
  /** Caller-supplied key/value object: loaded at start, written through on every change. */
  readonly state?: Record<string, unknown>
  /** Milliseconds, for tombstone ages. Default: always 0 (nothing ever ages). */
  readonly time?: ClockFn
  /** Signs this node's own records. */
  readonly sign?: SignFn
  /** Checks a remote record's signature; records that fail are refused. */
  readonly verify?: VerifyFn
  /** Admits (true) or refuses a remote update, knowing who sent it. */
  readonly accept?: AcceptFn
}

/** A source's progress, as saved and restored. */
export interface SourceState {
  readonly id: string
  readonly gen: string | undefined
  readonly clock: number
  readonly gc: number
}

/** What `Replica.restore` loads. */
export interface RestoreSnapshot {
  readonly records: Iterable<Rec>
  readonly sources: Iterable<SourceState>
  /** New local versions go above this. */
  readonly version: number
  /**
   * The forgotten tombstones as saved (see `Replica.forgotten`). Without
   * it (a store that does not save them) the highest restored gc floor is
   * the floor: every covered absent record at or below it is refused.
   */
  readonly forgotten?: Forgotten
  /**
   * When each restored tombstone was applied (ms of `time`), by key, as
   * `Replica.tombstoneTimes` gave it: its grace period runs on from then
   * instead of starting again at the restart. A tombstone without one (a
   * store that does not save it) is taken as applied at the restart.
   */
  readonly appliedAt?: ReadonlyMap<string, number>
}

/** Collected tombstones, as saved and restored: those remembered by key, and the floor below which others were. */
export interface Forgotten {
  readonly floor: number
  /** Oldest first; without signatures. */
  readonly tombstones: Iterable<Rec>
  /** How many `tombstones` holds (when known). */
  readonly count?: number
}

/** Why a record left state without being superseded: a tombstone forgotten after its grace period. */
export type DropReason = 'collected'

/**
 * Where every change to state is recorded before it happens (a store's
 * log). A method that throws refuses the change: state stays as it was.
 */
export interface Journal {
  /** `rec` is about to enter state, as a local write or a remote update. */
  append(rec: Rec): void
  /** `rec` is about to leave state without being superseded. */
  remove(rec: Rec, reason: DropReason): void
}

/**
 * A change refused because a user function (`resolve`, `sort`, `accept`,
 * `verify`, `sign`) or the journal threw. State is unchanged; `cause` is
 * what was thrown.
 */
export class RefusedError extends Error {
  override name = 'RefusedError'
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options)
  }
}

/** One peer conversation, as the replica sees it (implemented by `Session`). */
export interface LocalListener {
  /** A local write happened; false when it could not go out now. */
  pushLocal(rec: Rec, prev: number): boolean
  /** A record this replica's clock already covered arrived and won: pass it on (`from` sent it). */
  pushRepair(rec: Rec, from: LocalListener | null): void
  /** A remote record was applied here (`from` sent it): pass it on at once if this peer lacks it. */
  relay(rec: Rec, src: Source): void
}

export interface ReplicaStats {
  /** Tombstones forgotten after their grace period. */
  collected: number
  /** Records received again after a node lost its data, and passed on. */
  repaired: number
  /** Updates applied (local and remote). */
  applied: number
  /** Remote updates refused by `resolve` (stale or losing). */
  rejected: number
  /** Remote updates that were already covered (duplicates of something held). */
  redundant: number
  /** Errors thrown by history listeners (the update was applied all the same). */
  listenerErrors: number
}
