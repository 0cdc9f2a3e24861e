import { share, type Rates } from './flow.ts'
import { MAX_RATE, type RateClaim } from '../protocol/messages.ts'

/**
 * Flow control between two nodes over one connection: when (ρ, τ) go out
 * with a digest, and how far a peer's claimed rates may move ours.
 *
 * The exchange (PROTOCOL.md, Flow control): the initiator's `request`
 * marker carries its (ρ, τ); the responder, if it takes them, redistributes
 * and carries the (ρ, τ) it had *before* redistributing on its `reply`
 * marker; the initiator then redistributes from the same four numbers. A
 * reply carries rates only when the responder took the request's, so both
 * sides redistribute or neither does, and an honest pair conserves
 * τ_p + τ_q.
 *
 * Trust rule. A peer's (ρ, τ) are validated at the boundary (finite, in
 * [0, MAX_RATE]) and otherwise believed only within these bounds:
 * - one redistribution moves at most `min(τ_giver / 2, τ_receiver + β)`
 *   from one side to the other (`trustedShare`): the giver keeps at least
 *   half of what it had, the receiver at most doubles its allowance (plus
 *   β, so that a node at 0 can come back). Both sides compute the same
 *   bound from the same four numbers, so honest pairs still conserve their
 *   sum. A peer claiming τ = 0 and an enormous ρ takes at most β; whatever
 *   it claims, it takes at most half of our τ, and cannot give us more
 *   than our τ + β;
 * - on one connection, a peer's rates are taken at most once per
 *   `interval / 2` ms (we offer ours at most once per `interval`), so a
 *   peer that sends digests in a loop takes no more often than that: each
 *   take leaves us at least half, and one that claims τ = 0 takes at most
 *   β;
 * - a reply's rates count only as the answer to a request of ours that
 *   carried rates, once; a reply that comes after the offer lapsed
 *   (`interval`) counts only if nothing happened since (no other offer,
 *   no take): otherwise the responder's move stands alone and the pair's
 *   sum changes by it (AIMD then moves τ toward what the links carry);
 * - a node redistributes in one exchange at a time, as in the paper: it
 *   offers its rates on one connection at a time (until the reply, or for
 *   at most `interval`), and while its offer is open it takes no other
 *   peer's rates; so exchanges started together (gossip rounds with a
 *   fanout) cannot give away the same allowance twice, and the pair's sum
 *   is kept exactly;
 * - AIMD counts at most one response per connection per `interval / 2`,
 *   so a peer that makes us answer in a loop cannot pump τ up (or down);
 * - our τ stays in [0, MAX_RATE], finite, whatever the arithmetic did.
 *
 * What this does not bound: repeated lying. A peer that claims τ = 0 and a
 * large ρ at every take lowers our τ by β per `interval / 2` on one
 * connection (0.1/s at the defaults), while AIMD gives back at most β per
 * φ2 counted responses; so one such peer holds our τ near 0 (at the
 * defaults, from 2 to under 0.05 within a minute). A liar is not told
 * apart from an honest starving peer by its claims, and any bound one side
 * applies alone would either break what honest pairs conserve or stop a
 * node that desires little from handing its allowance on; a bound kept
 * per connection ends when the peer reconnects. Nor is the other
 * direction bounded beyond each step: a peer that claims plenty (ρ = 0, a
 * large τ) at every take may double our τ (plus β) each time, and honest
 * exchanges hand an inflated τ on, so one such peer can lift the
 * allowances of the nodes around it up to their desires, faster than AIMD
 * brings them down: flow control is then as if off (staleness grows as
 * without it). Flow control assumes, as the paper does, that peers do not
 * lie about their rates; a liar changes the pace of writes, never what
 * replicates.
 */

/** A rate forced into [0, MAX_RATE] (NaN counts as 0). */
export function clampRate(v: number): number {
  return v > 0 ? (v < MAX_RATE ? v : MAX_RATE) : 0
}

/**
 * Our new allowed rate after redistributing with `peer` (the paper's
 * `share`), the transfer bounded as the trust rule says.
 */
export function trustedShare(self: Rates, peer: Rates, beta: number): number {
  const mine = clampRate(self.allowed)
  const theirs = clampRate(peer.allowed)
  let t = share({ desired: clampRate(self.desired), allowed: mine }, { desired: clampRate(peer.desired), allowed: theirs }) - mine
  if (t > 0) t = Math.min(t, theirs / 2, mine + beta)
  else if (t < 0) t = -Math.min(-t, mine / 2, theirs + beta)
  return clampRate(mine + (Number.isFinite(t) ? t : 0))
}

/** What a link needs from its node (implemented by `NodeFlow`). */
export interface FlowHost {
  readonly interval: number
  now(): number
  rates(): Rates
  /** Move our τ by `delta` (clamped into [0, MAX_RATE]). */
  shift(delta: number): void
  /** A delta message went out: `wanted` deltas wanted to go, `mtu` could. */
  sent(wanted: number, mtu: number): void
  readonly beta: number
  /** May `link` offer our rates now (no other link's offer is open)? If so, it holds the offer. */
  claimOffer(link: FlowLink): boolean
  /** Whether `link`'s offer still stands: open, or lapsed with no other offer and no take since. */
  holdsOffer(link: FlowLink): boolean
  /** `link`'s offer is answered or abandoned. */
  releaseOffer(link: FlowLink): void
  /** May we take a peer's rates now (no offer of ours is open)? */
  mayTake(): boolean
  /** We took a peer's rates (after `mayTake`): an offer of ours that lapsed no longer stands. */
  took?(): void
}

/** One connection's flow-control state: the throttles and our pending request. */
export class FlowLink {
  /** Our rates as sent with our last request that carried them, until its reply. */
  private pending: Rates | null = null
  private offeredAt = -Infinity
  private takenAt = -Infinity
  private countedAt = -Infinity

  constructor(private readonly host: FlowHost) {}

  /** Rates for the digest of an exchange we start, or undefined (offered less than `interval` ago). */
  request(): RateClaim | undefined {
    const now = this.host.now()
    if (now - this.offeredAt < this.host.interval && now >= this.offeredAt) return undefined
    if (!this.host.claimOffer(this)) return undefined
    this.offeredAt = now
    this.pending = this.host.rates()
    return this.pending
  }

  /**
   * A peer's request arrived with `peer` (or without rates): redistribute,
   * and return our rates from before it for the reply; undefined when we do
   * not take the peer's (none, or taken less than `interval / 2` ago).
   */
  answer(peer: RateClaim | undefined): RateClaim | undefined {
    if (peer === undefined || !this.host.mayTake()) return undefined
    const now = this.host.now()
    if (now - this.takenAt < this.host.interval / 2 && now >= this.takenAt) return undefined
    this.takenAt = now
    this.host.took?.()
    const mine = this.host.rates()
    this.host.shift(trustedShare(mine, peer, this.host.beta) - mine.allowed)
    return mine
  }

  /**
   * The reply to our request arrived with `peer` (or without rates):
   * redistribute from the rates we sent, applying the difference to what
   * our τ is now (AIMD or other links may have moved it meanwhile).
   */
  replied(peer: RateClaim | undefined): void {
    const mine = this.pending
    const held = this.host.holdsOffer(this)
    this.pending = null
    this.host.releaseOffer(this)
    if (mine === null || peer === undefined || !held) return
    this.host.shift(trustedShare(mine, peer, this.host.beta) - mine.allowed)
  }

  /** The connection closed: an open offer is abandoned. */
  close(): void {
    this.pending = null
    this.host.releaseOffer(this)
  }

  /** A response of ours went out: AIMD, at most once per `interval / 2` on this connection. */
  sent(wanted: number, mtu: number): void {
    const now = this.host.now()
    if (now - this.countedAt < this.host.interval / 2 && now >= this.countedAt) return
    this.countedAt = now
    this.host.sent(wanted, mtu)
  }
}
