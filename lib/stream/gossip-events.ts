import type { Duplex } from 'readable-stream'
import type { DropReason, ReplicaStats } from '../core/replica.ts'
import type { Rec } from '../core/types.ts'

/** What a `Gossip` node emits, and the counters it keeps. */

export interface GossipEvents {
  /** A peer object was refused (on any of this node's streams); nothing was applied. */
  invalid: [reason: string, message: unknown, stream: Duplex]
  /** A local `set`/`del` lost to the record already held, under `resolve`. */
  rejected: [update: Rec]
  /** After `set` returned false: every stream has room again. */
  drain: []
  /**
   * A record left state without being superseded: another source's
   * tombstone forgotten after its grace period (`collected`).
   */
  drop: [record: Rec, reason: DropReason]
  /**
   * Flow control (`config.flow`): the allowed rate τ or the desired rate ρ
   * changed (updates per second). Emitted once for a burst of changes, after
   * the exchange that made them.
   */
  rate: [allowed: number, desired: number]
  /**
   * A queued write (flow control) failed when its turn came: the journal or
   * `resolve` threw. It is dropped; the writes after it go on.
   */
  writeError: [error: unknown, key: string]
  /**
   * A listener of this node (on `history`, or on these events) threw. The
   * update it was told about was applied all the same; nothing else stops.
   */
  listenerError: [error: unknown, event: string]
}

export interface GossipStats extends ReplicaStats {
  /** Peer objects refused, in total and by reason. */
  invalid: number
  /**
   * By kind of reason: a user function's refusal under its fixed part
   * (`config.accept threw`, `config.resolve threw`; the message is in the
   * 'invalid' event), at most 64 kinds, the rest under `other`.
   */
  invalidByReason: Record<string, number>
  /** Open peer streams (`createStream`), plus the node itself once used as a stream. */
  streams: number
}
