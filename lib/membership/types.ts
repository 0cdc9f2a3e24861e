/**
 * Cluster membership: the shapes shared by the member table, the failure
 * detector, the view and the per-link exchange. Pure: no I/O, no clock, no
 * randomness of its own (time and randomness are passed in).
 */
import type { JsonValue } from '../core/types.ts'

/** What this node concludes about a member. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

/**
 * What a node publishes about itself, replicated by gossip. Only the node
 * itself writes its record (signed with its key in a signed cluster).
 * `(id, gen)` names one life of a node; `v` orders its records within it.
 */
export interface MemberRecord {
  /** The node id (its hello id and `source_id`). */
  readonly id: string
  /** Incarnation: the wall clock (ms) when this life began; a restart takes a higher one. */
  readonly gen: number
  /** Version of this record within its generation: 1, 2, 3... */
  readonly v: number
  /** Where other nodes dial it: "host:port". */
  readonly addr: string
  /** `up`, or `left` after a graceful leave. */
  readonly st: 'up' | 'left'
  /** Application metadata (a small JSON object). A record the table holds keeps its JSON text: each read parses it afresh (held-record.ts). */
  readonly meta?: { readonly [key: string]: JsonValue }
  /** The node's signature over the record (signed clusters). */
  readonly sig?: string
}

/**
 * Heartbeats on the wire: a flat array of triples `id, gen, counter`
 * (`["a", 1796086350927, 42, "b", 1796086351003, 40]`), one allocation per
 * message rather than one per member.
 */
export type Beats = (string | number)[]

/** A member as the application sees it (`network.members()`). */
export interface Member {
  readonly id: string
  readonly generation: number
  readonly address: string
  readonly state: MemberState
  /** The highest heartbeat counter seen of this life. */
  readonly heartbeat: number
  /** Suspicion now: time since the last heartbeat arrival over the mean interval (0 for this node). */
  readonly phi: number
  /** When the member entered its current state (the network's clock, ms). */
  readonly since: number
  /** The record's metadata: parsed when first read, then kept on this object. */
  readonly metadata: { readonly [key: string]: JsonValue }
  /** True for this node's own entry. */
  readonly self: boolean
}

/** Events of the member table, with the reason in words. */
export type MemberEventKind = 'join' | 'up' | 'down' | 'leave'

/** Failure detector settings (phi accrual). */
export interface DetectorOptions {
  /** Phi at which a member is declared dead. Default 8 (chitchat's). */
  readonly threshold: number
  /** Phi at which a member is suspect (still counted, not yet dead). Default 5. */
  readonly suspect: number
  /** Heartbeat intervals the mean is taken over (then it fades). Default 1,000. */
  readonly window: number
  /** The prior mean interval, ms. Default three round intervals, at least 1 s (see `defaultPrior`). */
  readonly prior: number
  /** Weight of the prior, in intervals. Default 5. */
  readonly priorWeight: number
  /** Intervals longer than this are not sampled (a node that was away), ms. Default 10,000. */
  readonly maxInterval: number
}

export const DETECTOR_DEFAULTS: Omit<DetectorOptions, 'prior'> = Object.freeze({
  threshold: 8,
  suspect: 5,
  window: 1000,
  priorWeight: 5,
  maxInterval: 10_000,
})

/** Limits on what peers may send about members. */
export interface MemberLimits {
  /** Longest id accepted. */
  readonly maxIdLength: number
  /** Longest advertised address accepted. */
  readonly maxAddressLength: number
  /** Largest metadata accepted, as JSON text (UTF-16 units). */
  readonly maxMetaLength: number
  /** Deepest nesting in metadata. */
  readonly maxMetaDepth: number
  /** Most members one node tracks; records of more are refused. */
  readonly maxMembers: number
  /** Most heartbeat entries in one message. */
  readonly maxBeatEntries: number
  /** Most records in one message. */
  readonly maxRecords: number
  /** A record's generation may be at most this far (ms) ahead of our wall clock. */
  readonly maxClockOffset: number
}

export const MEMBER_LIMITS: MemberLimits = Object.freeze({
  maxIdLength: 256,
  maxAddressLength: 300,
  maxMetaLength: 4096,
  maxMetaDepth: 8,
  maxMembers: 16_384,
  maxBeatEntries: 20_000,
  maxRecords: 512,
  maxClockOffset: 300_000,
})
