import type { OwnLife } from './own-life.ts'

/** Digests of ours whose answers are awaited, oldest first, per kind; a bound against a peer that never answers. */
const MAX_AWAITED = 4
/** Lossy links: links of our own records kept beyond the number of them we hold. */
const LINK_SLACK = 1024
/** Lossy links: asking answers in a row that brought none of our records we lacked, before the recovery ends anyway. */
const MAX_TRIES = 8

/**
 * Getting this node's own earlier writes back from one peer (see
 * own-life.ts). When the peer's digest shows our own source where we lack
 * records, every digest of ours on this link claims nothing of our own
 * source until one such digest gets a whole answer: the peer then sent
 * every record of it that it holds, and the recovery ends. An answer to a
 * digest sent before the loss was seen (one crossing it) ends nothing.
 * Digests are otherwise exact: a node with nothing to recover claims its
 * clock, as always.
 *
 * Answers come in the order of their digests within a kind: a peer answers
 * our requests (leg 1) with its replies and our replies (leg 2) with its
 * finals, one each, on an ordered link.
 */
export class SelfRecovery {
  /** The highest claim of the peer that showed a loss; 0 when none is pending. */
  private wanted = 0
  /** Per kind (requests, replies): whether each digest awaiting its answer claimed nothing of ours. */
  private readonly awaited: [boolean[], boolean[]] = [[], []]

  /** Lossy links: whether the response in progress carried own records; how many were taken before it. */
  private carried = false
  private before = 0
  /**
   * Lossy links: every own record taken while recovering, version to its
   * link: what different answers lost, others may bring, so the chain from
   * 0 is judged on all of them together.
   */
  private readonly links = new Map<number, number>()
  /** Lossy links: asking answers in a row that ended whole, carrying our records but none new, without an intact chain up to `wanted`. */
  private tries = 0

  constructor(
    private readonly life: OwnLife,
    /** A lossy link: a whole answer may still have lost records, so the chain of our own records is checked. */
    private readonly lossy = false,
    /** How many of our own records we hold: `links` keeps at most this many and LINK_SLACK more. */
    private readonly held: () => number = () => 0,
  ) {}

  /** A record of our own source linked to `prev` was taken (lossy links carry every link). */
  ownLink(prev: number, version: number): void {
    if (this.wanted === 0 || !this.lossy) return
    this.carried = true
    // Records of ours a peer sends beyond those we hold (one key sent again and again) add nothing to a chain.
    if (prev < version && this.links.size < this.held() + LINK_SLACK) this.links.set(version, prev)
  }

  /** Whether the own records taken chain from 0 up to `wanted` (a record at or above it, linked down to 0). */
  private chained(): boolean {
    let top = 0
    for (const v of this.links.keys()) if (v > top) top = v
    if (top < this.wanted) return false
    for (let v = top; v > 0; ) {
      const p = this.links.get(v)
      if (p === undefined) return false
      v = p
    }
    return true
  }

  /** The peer claims our own source at `version`. Returns true when that newly shows a loss. */
  seen(version: number): boolean {
    if (!this.life.lacks(version)) return false
    const fresh = this.wanted === 0
    if (version > this.wanted) this.wanted = version
    return fresh
  }

  /** Whether the next digest of ours is to claim nothing of our own source. */
  get asking(): boolean {
    return this.wanted !== 0
  }

  /**
   * A digest of ours goes out (`reply`: leg 2, else leg 1); whether it is
   * to claim nothing of our own source (never when not `mayAsk`: a resync
   * claims what it claims).
   */
  sending(reply: boolean, mayAsk: boolean): boolean {
    const asked = mayAsk && this.wanted !== 0
    const q = this.awaited[reply ? 1 : 0]
    q.push(asked)
    if (q.length > MAX_AWAITED) q.shift()
    return asked
  }

  /**
   * The answer to our oldest unanswered digest of its kind ended (`toReply`:
   * a final answering our reply); `whole`: every update of it arrived.
   * A whole answer to a digest that asked ends the recovery.
   */
  answerEnded(toReply: boolean, whole: boolean): void {
    const asked = this.awaited[toReply ? 1 : 0].shift() ?? false
    // On a lossy link our records taken (in this answer and earlier ones) must also chain from 0 up
    // to the claim; after MAX_TRIES answers in a row that carried some, none new, and left it broken
    // (a peer that cannot vouch for them), fingerprint checks take over. An answer with none of
    // them counts for nothing.
    const carried = this.carried
    const fresh = this.links.size > this.before
    this.carried = false
    this.before = this.links.size
    if (!asked || !whole || this.wanted === 0) return
    if (this.lossy && !this.chained()) {
      if (!carried) return
      this.tries = fresh ? 0 : this.tries + 1
      if (this.tries < MAX_TRIES) return
    }
    this.tries = 0
    this.links.clear()
    this.life.recovered(this.wanted)
    this.wanted = 0
  }
}
