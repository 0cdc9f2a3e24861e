import type { Rec } from '../core/types.ts'

/**
 * The protocol's messages after validation, as a discriminated union.
 *
 * On the wire they keep the seed's shapes (see PROTOCOL.md):
 * - digest entry: `{digest: true, source_id, version}` (+ `gen`, `gc`)
 * - reset chunk end: `{digest: true, reset: true, source_id, from, to}` (+ `gen`)
 * - end of digest: `{digest: true, done: true}` (+ `reply`, `more`, `final`)
 * - update: `{key, value, source_id, version}` (+ `gen`, `deleted`, `prev`)
 * A seed-era digest entry may carry `done: true` as well; it decodes to a
 * `digest` followed by a `done`.
 */
export interface DigestMsg {
  readonly type: 'digest'
  readonly source_id: string
  /** Highest version held for the source; 0 when nothing is held. */
  readonly version: number
  readonly gen?: string
  /**
   * Highest version of the source's tombstones the sender has collected
   * (forgotten); 0 when none. A peer whose clock is below it is stale.
   */
  readonly gc: number
}

/**
 * Closes one chunk of a reset: the sender's current records of the source
 * with versions in (from, to] were all just sent; the receiver drops its own
 * records of the source in that range that were not among them.
 */
export interface ResetMsg {
  readonly type: 'reset'
  readonly source_id: string
  readonly gen?: string
  readonly from: number
  readonly to: number
}

export interface DoneMsg {
  readonly type: 'done'
  /** This digest answers ours: respond with updates, not with another digest. */
  readonly reply: boolean
  /** The sender's updates for us were cut at `mtu`: more are waiting. */
  readonly more: boolean
  /** Closes an exchange: the sender answered our reply digest; expect nothing more. */
  readonly final: boolean
}

export interface UpdateMsg {
  readonly type: 'update'
  readonly rec: Rec
  /**
   * Set on a push outside a digest response: the version of the source's
   * update immediately before this one. The receiver advances its clock only
   * when it already covers `prev` (design rule 3).
   */
  readonly prev?: number
}

export type Message = DigestMsg | DoneMsg | UpdateMsg | ResetMsg

/** Wire object of a digest entry. */
export interface WireDigest {
  digest: true
  source_id: string
  version: number
  gen?: string
  gc?: number
}

/** Wire object closing a reset chunk. */
export interface WireReset {
  digest: true
  reset: true
  source_id: string
  gen?: string
  from: number
  to: number
}

/** Wire object of the end of a digest. */
export interface WireDone {
  digest: true
  done: true
  reply?: true
  more?: true
  final?: true
}

/** Wire object of an update pushed outside a digest response. */
export type WirePush = Rec & { prev: number }

export type WireMessage = WireDigest | WireDone | WireReset | Rec | WirePush

export function encodeDigest(source_id: string, version: number, gen: string | undefined, gc = 0): WireDigest {
  const d: WireDigest = gen === undefined ? { digest: true, source_id, version } : { digest: true, source_id, version, gen }
  if (gc > 0) d.gc = gc
  return d
}

export function encodeReset(source_id: string, gen: string | undefined, from: number, to: number): WireReset {
  return gen === undefined
    ? { digest: true, reset: true, source_id, from, to }
    : { digest: true, reset: true, source_id, gen, from, to }
}

export function encodeDone(reply: boolean, more: boolean, final = false): WireDone {
  const m: WireDone = { digest: true, done: true }
  if (reply) m.reply = true
  if (more) m.more = true
  if (final) m.final = true
  return m
}

export function encodePush(rec: Rec, prev: number): WirePush {
  return { ...rec, prev }
}
