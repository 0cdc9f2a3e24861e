/**
 * The first object each side sends on a connection, before any gossip:
 * `{hello: 1, id, cluster, time, wire}`. It names the node, the cluster it
 * belongs to and its wall clock, so that a node can refuse a stranger,
 * itself, or a peer whose clock is too far from its own, before state flows;
 * and the highest wire format it speaks (`wire`, absent for 1), so that both
 * ends choose the same format (the lower of the two) without another round
 * trip. `hello` stays 1: a node of wire 1 alone accepts the hello and
 * ignores `wire`. `maxLineLength` (absent in older hellos) is the longest
 * line or frame the sender reads, bytes: the other end packs its frames to
 * fit it.
 */
import { idProblem } from './validate.ts'

export const PROTOCOL_VERSION = 1

/** The highest wire format this library speaks (1: ndjson; 2: frames of MessagePack values). */
export const WIRE_VERSION = 2

export interface Hello {
  hello: number
  id: string
  cluster: string
  /** The sender's wall clock, ms since the epoch, when it sent the hello. */
  time: number
  /** The highest wire format the sender speaks; absent means 1. */
  wire?: number
  /** The longest line or frame the sender reads, bytes; absent: not said (an older node). */
  maxLineLength?: number
}

export function makeHello(id: string, cluster: string, time: number, wire = 1, maxLineLength?: number): Hello {
  const h: Hello = { hello: PROTOCOL_VERSION, id, cluster, time: Math.round(time) }
  if (wire > 1) h.wire = wire
  if (maxLineLength !== undefined) h.maxLineLength = maxLineLength
  return h
}

/** The longest line or frame the peer of an (accepted) hello reads, or undefined when its hello does not say. */
export function peerMaxLineLength(peerHello: object): number | undefined {
  const n = (peerHello as { maxLineLength?: unknown }).maxLineLength
  return typeof n === 'number' ? n : undefined
}

/**
 * The wire format of a connection: the lower of what this node offers and
 * what the peer's (accepted) hello says it speaks. Both ends compute the
 * same from the two hellos.
 */
export function negotiateWire(offered: number, peerHello: object): 1 | 2 {
  const theirs = (peerHello as { wire?: unknown }).wire
  const peer = typeof theirs === 'number' ? theirs : 1
  return Math.min(offered, peer, WIRE_VERSION) >= 2 ? 2 : 1
}

/**
 * The reason a node refuses a hello with its own id. The hello carries
 * nothing that tells this process from another started with the same id,
 * so the reason names both.
 */
export const SAME_ID = "the peer has this node's id: this node itself, or another node using the same id"

/**
 * The line a listener sends in place of its hello when it refuses the
 * dialler for a reason the dialler cannot see in a hello (its link was cut
 * for invalid objects, the listener's node is destroyed):
 * `{"refused": reason}`, the reason worded for its receiver. A dialler of
 * an older version reads it as no hello (and refuses it as such).
 */
export function makeRefusal(reason: string): { refused: string } {
  return { refused: reason }
}

/**
 * What a refusal during the hellos was, set by the code that decided it and
 * never read from the peer's words (its refusal reason, its cluster name):
 * a dialler acts on the code, so a peer's text cannot choose what it does.
 * `ERR_SAME_ID`: the peer's hello has this node's id; `ERR_PEER_REFUSED`:
 * the peer sent a refusal line in place of its hello; `ERR_HELLO`: the
 * peer's hello is refused (none in time, malformed, another cluster, clock
 * skew); `ERR_INVALID_CUT`: the peer's links were cut for invalid objects
 * in the last minute; `ERR_DESTROYED`: this node is destroyed.
 */
export type RefusalCode = 'ERR_SAME_ID' | 'ERR_PEER_REFUSED' | 'ERR_HELLO' | 'ERR_INVALID_CUT' | 'ERR_DESTROYED'

/** The rejection of a connection refused during the hellos: the reason as reported, and its code. */
export class HelloRefused extends Error {
  constructor(
    message: string,
    readonly code: RefusalCode,
  ) {
    super(message)
  }
}

/** How a dialler's reason begins when the listener refused it with a refusal line. */
export const PEER_REFUSED = 'the peer refused this node'

/** The longest part of a peer's refusal reason kept (it reaches events and logs). */
export const MAX_REFUSAL_REASON = 200

/** The reason of a refusal line, as this node reports it, or null when `obj` is none (a hello, or garbage). */
export function peerRefusal(obj: unknown): string | null {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null
  const r = (obj as Record<string, unknown>).refused
  if (typeof r !== 'string' || 'hello' in obj) return null
  const reason = r.length <= MAX_REFUSAL_REASON ? r : r.slice(0, MAX_REFUSAL_REASON).replace(/[\uD800-\uDBFF]$/, '') + '…'
  return `${PEER_REFUSED}: ${reason}`
}

/** What a hello is checked against. */
export interface HelloCheck {
  readonly cluster: string
  readonly maxIdLength: number
  /** This node's wall clock, ms. */
  readonly now: number
  /** Largest clock difference accepted, ms. */
  readonly maxClockOffset: number
}

/** A duration in the unit a person would use: "450 ms", "12 s", "3 min", "30 days". */
export function duration(ms: number): string {
  const a = Math.abs(ms)
  if (a < 1000) return `${Math.round(a)} ms`
  if (a < 120_000) return `${Math.round(a / 1000)} s`
  if (a < 7_200_000) return `${Math.round(a / 60_000)} min`
  if (a < 172_800_000) return `${Math.round(a / 3_600_000)} h`
  return `${Math.round(a / 86_400_000)} days`
}

/**
 * Why `obj` is not an acceptable hello, or null. A hello without `time`
 * (an older peer) is accepted: every remote version is still bounded by
 * this node's clock.
 */
export function helloProblem(obj: unknown, check: HelloCheck): string | null {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'expected a hello object'
  const h = obj as Record<string, unknown>
  if (typeof h.hello !== 'number') return 'expected a hello object'
  if (h.hello !== PROTOCOL_VERSION) return `protocol version ${String(h.hello)} is not supported (this node speaks ${PROTOCOL_VERSION})`
  const idBad = idProblem('id', h.id, check.maxIdLength)
  if (idBad !== null) return `hello without a valid id (${idBad})`
  if (h.cluster !== check.cluster) return `cluster mismatch: peer is in ${quoted(h.cluster)}, this node in ${JSON.stringify(check.cluster)}`
  if (h.wire !== undefined && !(typeof h.wire === 'number' && Number.isSafeInteger(h.wire) && h.wire >= 1)) return 'hello wire must be a positive integer'
  if (h.maxLineLength !== undefined && !(typeof h.maxLineLength === 'number' && Number.isSafeInteger(h.maxLineLength) && h.maxLineLength >= 1)) {
    return 'hello maxLineLength must be a positive integer'
  }
  if (h.time !== undefined) {
    if (typeof h.time !== 'number' || !Number.isFinite(h.time)) return 'hello time must be a number of ms'
    const skew = h.time - check.now
    if (Math.abs(skew) > check.maxClockOffset) {
      return `clock skew: the peer's clock is ${duration(skew)} ${skew > 0 ? 'ahead of' : 'behind'} this node's, more than the ${duration(check.maxClockOffset)} allowed (maxClockOffset)`
    }
  }
  return null
}

/** A peer's value in a reason: its JSON, at most 64 characters of it, cut ones closed as `"…"` (reasons reach logs). */
export function quoted(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v)
  return text.length <= 64 ? text : text.slice(0, 64) + '…"'
}
