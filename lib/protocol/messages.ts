import type { Rec } from '../core/types.ts'

/**
 * The protocol's messages after validation, as a discriminated union.
 *
 * On the wire they keep the seed's shapes (see PROTOCOL.md):
 * - digest entry: `{digest: true, source_id, version}` (+ `gen`, `gc`)
 * - end of digest: `{digest: true, done: true}` (+ `reply`, `more`, `final`, `ack`, `seq`,
 *   and `rho`, `tau` with flow control)
 * - update: `{key, value, source_id, version}` (+ `gen`, `deleted`, `prev`)
 *   (`upto` on reply/final digest entries; `resync`, `stream` on ends)
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
   * (forgotten); 0 when none. The sender cannot vouch for that source below
   * it, so a receiver whose clock is lower adopts nothing of it.
   */
  readonly gc: number
  /**
   * In a `reply` or `final` digest: after the response this digest ends,
   * the receiver should cover this source up to `upto`; if its clock does not
   * reach it, part of the response was lost and the entry is not adopted.
   */
  readonly upto?: number
  /**
   * On verification digests: the fingerprint (16 hex digits) of the
   * sender's live records of this source. At an equal clock a difference
   * that persists means the records of this source are exchanged in full.
   */
  readonly fp?: string
}

export interface DoneMsg {
  readonly type: 'done'
  /** This digest answers ours: respond with updates, not with another digest. */
  readonly reply: boolean
  /** The sender's updates for us were cut at `mtu`: more are waiting. */
  readonly more: boolean
  /** Closes an exchange: the sender answered our reply digest; expect nothing more. */
  readonly final: boolean
  /**
   * Lossy links only: the highest `seq` of ours the sender had received
   * when it sent this (from a sender that never got a `seq` from us, how
   * many objects of ours it had received).
   */
  readonly ack?: number
  /** Lossy links only: how many objects the sender has sent on this link, this one included. */
  readonly seq?: number
  /**
   * Without `reply`: this digest asks for everything; its versions are how
   * far a full resync has come, not the sender's clock; answer from exactly
   * those versions. With `reply`: this digest ends such an answer, so the
   * receiver adopts nothing from it.
   */
  readonly resync: boolean
  /**
   * With `more`: the sender goes on with this response by itself as the
   * link drains, and closes it with a `final` marker; no new exchange is
   * needed for the rest.
   */
  readonly stream: boolean
  /**
   * Flow control (PROTOCOL.md, Flow control): the sender's desired rate ρ
   * and allowed rate τ, in updates per second, on the marker of a `request`
   * or `reply` digest. Validated (finite, 0 ≤ x ≤ MAX_RATE); absent from
   * nodes without flow control, and ignored by them.
   */
  readonly rates?: RateClaim
}

/** (ρ, τ) as a peer claims them: numbers to bound, not to trust (core/flow-link.ts). */
export interface RateClaim {
  /** ρ: updates per second the sender would like to write. */
  readonly desired: number
  /** τ: updates per second it may write. */
  readonly allowed: number
}

/** Largest rate (updates per second) a message may carry, and the ceiling of any allowed rate. */
export const MAX_RATE = 1e6

export interface UpdateMsg {
  readonly type: 'update'
  readonly rec: Rec
  /**
   * The link in the chain: every record of this source with a version in
   * (prev, version) that the sender vouches for was sent before this one.
   * The receiver advances its clock to `version` only when it already covers
   * `prev` (design rule 3). Absent from peers of the seed's era: such an
   * update is applied but moves no clock.
   */
  readonly prev?: number
  /**
   * In a response to a resync: the version of the record sent before this
   * one of the same source in that response (or the requested version), so
   * the requester can tell how far the resync came without gaps.
   */
  readonly rprev?: number
}

/**
 * Relay control (`{digest: true, relay: false|true, source_id}`): `false`
 * asks the peer to stop relaying this source's records to us (they keep
 * arriving as duplicates: another path delivers them first); `true` asks it
 * to start again. Exchanges are not affected.
 */
export interface RelayMsg {
  readonly type: 'relay'
  readonly source_id: string
  readonly gen?: string
  readonly on: boolean
}

export type Message = DigestMsg | DoneMsg | UpdateMsg | RelayMsg

/** Wire object of a digest entry. */
export interface WireDigest {
  digest: true
  source_id: string
  version: number
  gen?: string
  gc?: number
  upto?: number
  fp?: string
}

/** Wire object of a relay control. */
export interface WireRelay {
  digest: true
  relay: boolean
  source_id: string
  gen?: string
}

/** Wire object of the end of a digest. */
export interface WireDone {
  digest: true
  done: true
  reply?: true
  more?: true
  final?: true
  ack?: number
  seq?: number
  resync?: true
  stream?: true
  /** ρ, with `tau`: the sender's desired rate (flow control). */
  rho?: number
  /** τ, with `rho`: the sender's allowed rate (flow control). */
  tau?: number
}

/** Wire object of an update with its chain link. */
export type WirePush = Rec & { prev: number }

export type WireMessage = WireDigest | WireDone | WireRelay | Rec | WirePush

export function encodeDigest(source_id: string, version: number, gen: string | undefined, gc = 0, upto?: number, fp?: string): WireDigest {
  const d: WireDigest = gen === undefined ? { digest: true, source_id, version } : { digest: true, source_id, version, gen }
  if (gc > 0) d.gc = gc
  if (upto !== undefined) d.upto = upto
  if (fp !== undefined) d.fp = fp
  return d
}

/** A lossy link's acknowledgement and sequence number for an end of digest (see `DoneMsg`). */
export interface Acks {
  ack: number
  seq: number
}

export function encodeDone(reply: boolean, more: boolean, final: boolean, acks: Acks | undefined, resync = false, stream = false, rates?: RateClaim): WireDone {
  const m: WireDone = { digest: true, done: true }
  if (reply) m.reply = true
  if (more) m.more = true
  if (final) m.final = true
  if (acks !== undefined) {
    m.ack = acks.ack
    m.seq = acks.seq
  }
  if (resync) m.resync = true
  if (stream) m.stream = true
  if (rates !== undefined) {
    m.rho = rates.desired
    m.tau = rates.allowed
  }
  return m
}

export function encodeRelay(source_id: string, gen: string | undefined, on: boolean): WireRelay {
  return gen === undefined ? { digest: true, relay: on, source_id } : { digest: true, relay: on, source_id, gen }
}

/** A record with its chain link (and, in a resync response, its resync link), as sent. */
export function encodePush(rec: Rec, prev: number, rprev?: number): WirePush {
  const w = { key: rec.key, value: rec.value, source_id: rec.source_id, version: rec.version } as WirePush
  if (rec.gen !== undefined) (w as { gen?: string }).gen = rec.gen
  if (rec.deleted === true) (w as { deleted?: true }).deleted = true
  if (rec.sig !== undefined) (w as { sig?: string }).sig = rec.sig
  w.prev = prev
  if (rprev !== undefined) (w as { rprev?: number }).rprev = rprev
  return w
}
