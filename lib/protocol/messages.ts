import type { Rec } from '../core/types.ts'

/**
 * The protocol's messages after validation, as a discriminated union.
 *
 * On the wire they keep the seed's shapes (see PROTOCOL.md):
 * - digest entry: `{digest: true, source_id, version}` (+ `gen`)
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

export type Message = DigestMsg | DoneMsg | UpdateMsg

/** Wire object of a digest entry. */
export interface WireDigest {
  digest: true
  source_id: string
  version: number
  gen?: string
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

export type WireMessage = WireDigest | WireDone | Rec | WirePush

export function encodeDigest(source_id: string, version: number, gen: string | undefined): WireDigest {
  return gen === undefined
    ? { digest: true, source_id, version }
    : { digest: true, source_id, version, gen }
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
