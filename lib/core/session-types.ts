/** What a session needs from its carrier (`SessionPort`) and the options it takes. */
import type { Pacing } from './answer-pacing.ts'
import type { NodeFlow } from './flow-node.ts'
import type { DeltaOrder, PeerLabel, RandomFn, Rec } from './types.ts'
import type { Limits } from '../protocol/validate.ts'
import type { WireMessage } from '../protocol/messages.ts'

/** What a session needs from the stream (or simulator) that carries it. */
export interface SessionPort {
  /** Queue a message for the peer. */
  send(msg: WireMessage): void
  /**
   * Queue a record with its chain link (the same as `send(encodePush(rec,
   * prev))`); a port that serializes may do it without the extra object.
   */
  sendLinked?(rec: Rec, prev: number): void
  /** Whether a push can be queued now without exceeding the outgoing buffer. */
  room(): boolean
  /**
   * A peer object was refused; `reason` says why. `fault`: the object
   * itself is bad (malformed, or a forged signature), not a well-formed
   * record this node turned down for reasons of its own (clock, accept,
   * resolve, storage), which an honest peer may send or relay.
   */
  invalid(reason: string, obj: unknown, fault: boolean): void
  /** Some updates could not go out now: start another exchange when there is room. */
  wantExchange(): void
  /** When present, relays are held until the port calls `session.flushRelays()` (soon: before its output leaves). */
  relaySoon?(): void
}

export interface SessionOptions {
  /** Most updates one exchange sends. */
  readonly mtu: number
  readonly order: DeltaOrder
  readonly random: RandomFn
  readonly limits: Limits
  /** Most entries accepted in one incoming digest. */
  readonly maxDigestEntries: number
  /**
   * A session that starts within this many ms (replica time) of a node
   * showing up with a new generation does one full resync. Default 1 h.
   */
  readonly repairWindow?: number
  /** Who is at the other end, for the replica's `accept` hook and the source's own pushes. */
  readonly peer?: PeerLabel
  /**
   * Pass records that arrive from other peers on to this one at once
   * (prompt relay), instead of only at the next exchange. Default true.
   */
  readonly relay?: boolean
  /**
   * How often (ms, replica time) a digest we start carries per-source
   * fingerprints, so that records a peer's lies or a writer's different
   * stories kept from us are found and exchanged; also how long a
   * difference must last before that source is sent in full (so a repair
   * takes two checks at least this far apart). Default 60,000.
   */
  readonly verifyInterval?: number
  /**
   * The link may lose, duplicate or reorder messages: every update carries
   * its chain link (`prev`) and every end of digest an `ack`. On a reliable,
   * ordered link (the default) responses keep the seed's exact shapes and
   * their order is the chain.
   */
  readonly lossy?: boolean
  /**
   * The node's flow control (flow-node.ts), shared by its sessions: each
   * exchange carries (ρ, τ) both ways and redistributes them, and each
   * response sent runs AIMD. Absent: no rates sent, a peer's ignored.
   */
  readonly flow?: NodeFlow
  /**
   * Answer a request (leg 1) only when the peer has closed the exchange we
   * last answered with its `final` (leg 3), as an honest peer always does
   * before starting another; the latest request that came meanwhile is
   * answered then. A peer that sends requests in a loop gets one answer
   * per `final`, not one per request. Wire streams (byte-stream peers) set
   * it on reliable links; object streams keep answering every digest, as
   * the seed's contract has it.
   */
  readonly answerAfterFinal?: boolean
  /** Answer the peer's requests at most once per `interval` ms (answer-pacing.ts). Absent: every one. */
  readonly answerPacing?: Pacing
}

export interface SessionStats {
  digestsSent: number
  digestsReceived: number
  updatesSent: number
  updatesReceived: number
  pushesSent: number
  invalid: number
  /** Old updates dropped because the peer is behind a tombstone we collected. */
  staleDropped: number
  /** Records relayed to the peer as soon as they arrived from another. */
  relayed: number
  /**
   * Requests (leg 1 digests) that arrived before the peer closed the
   * exchange we last answered with its `final` (`answerAfterFinal`): not
   * answered; the latest of them is answered once that `final` comes.
   */
  requestsHeld: number
  /** Reply digests (leg 2) that arrived when no request of ours was open: not answered with a leg 3. */
  repliesUnasked: number
}

/** Every counter at 0. */
export function newSessionStats(): SessionStats {
  return { digestsSent: 0, digestsReceived: 0, updatesSent: 0, updatesReceived: 0, pushesSent: 0, invalid: 0, staleDropped: 0, relayed: 0, requestsHeld: 0, repliesUnasked: 0 }
}
