import type { OwnLife } from './own-life.ts'

/** Digests of ours whose answers are awaited, oldest first, per kind; a bound against a peer that never answers. */
const MAX_AWAITED = 4
/** Lossy links: asking answers without an intact chain of our records before the recovery ends anyway. */
const MAX_TRIES = 5

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

  /** Lossy links: how far the own records of the response in progress chain from 0, and whether a link skipped. */
  private reach = 0
  private gap = false
  /** Lossy links: asking answers that ended whole, carrying our records without an intact chain up to `wanted`. */
  private tries = 0

  constructor(
    private readonly life: OwnLife,
    /** A lossy link: a whole answer may still have lost records, so the chain of our own records is checked. */
    private readonly lossy = false,
  ) {}

  /** A record of our own source linked to `prev` was taken (lossy links carry every link). */
  ownLink(prev: number, version: number): void {
    if (this.wanted === 0) return
    if (prev > this.reach) this.gap = true
    else if (version > this.reach) this.reach = version
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
    // On a lossy link the answer must also have chained our records (taken ones) from 0 up to the
    // claim; after MAX_TRIES answers that carried some but did not (a peer that cannot vouch for
    // them), fingerprint checks take over. An answer with none of them counts for nothing.
    const chained = !this.gap && this.reach >= this.wanted
    const carried = this.gap || this.reach > 0
    this.reach = 0
    this.gap = false
    if (!asked || !whole || this.wanted === 0) return
    if (this.lossy && !chained && (!carried || ++this.tries < MAX_TRIES)) return
    this.tries = 0
    this.life.recovered(this.wanted)
    this.wanted = 0
  }
}
