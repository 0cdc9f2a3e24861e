/**
 * The first object each side sends on a connection, before any gossip:
 * `{hello: 1, id, cluster, time}`. It names the node, the cluster it
 * belongs to and its wall clock, so that a node can refuse a stranger,
 * itself, or a peer whose clock is too far from its own, before state flows.
 */
import { idProblem } from './validate.ts'

export const PROTOCOL_VERSION = 1

export interface Hello {
  hello: number
  id: string
  cluster: string
  /** The sender's wall clock, ms since the epoch, when it sent the hello. */
  time: number
}

export function makeHello(id: string, cluster: string, time: number): Hello {
  return { hello: PROTOCOL_VERSION, id, cluster, time: Math.round(time) }
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
  if (h.cluster !== check.cluster) return `cluster mismatch: peer is in ${JSON.stringify(h.cluster)}, this node in ${JSON.stringify(check.cluster)}`
  if (h.time !== undefined) {
    if (typeof h.time !== 'number' || !Number.isFinite(h.time)) return 'hello time must be a number of ms'
    const skew = h.time - check.now
    if (Math.abs(skew) > check.maxClockOffset) {
      return `clock skew: the peer's clock is ${duration(skew)} ${skew > 0 ? 'ahead of' : 'behind'} this node's, more than the ${duration(check.maxClockOffset)} allowed (maxClockOffset)`
    }
  }
  return null
}
