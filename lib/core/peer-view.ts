import type { Source } from './clock.ts'
import type { Replica } from './replica.ts'
import type { Acks, DigestMsg } from '../protocol/messages.ts'

/**
 * What a node knows of one peer: the clock its digests claimed, what was
 * sent it and not yet acknowledged, where the current response leaves it,
 * and whether either side is behind the other's gc floors.
 *
 * Invariant: `floor(src)` never exceeds what the peer holds of `src` or has
 * on its way to it over a sound link; a send the peer acknowledged (lossy
 * links) without its clock showing it is forgotten, so it is sent again.
 */
export class PeerView {
  /** Objects sent to and received from the peer on this link. */
  sent = 0
  received = 0
  /** The peer's highest `ack`: it had received what we sent up to this count (or, from a peer that counts, that many objects). */
  acked = 0
  /** The highest `seq` the peer's ends of digest carried; 0 while it sent none. */
  private peerSeq = 0
  /** Per source, the highest version the peer's digests claimed. */
  readonly claimed = new Map<Source, number>()
  /** Per source, where the current response (all its parts) leaves the peer (for `upto`). */
  readonly upto = new Map<Source, number>()
  /** Per source, the highest record held above our clock already sent to the peer. */
  readonly heldAboveSent = new Map<Source, number>()
  /** Per source whose tombstones we forgot above the peer's floor, the highest record sent it unlinked. */
  readonly unlinkedSent = new Map<Source, number>()
  /** The peer is behind our gc floors: its updates at or below this version (and our `Collected.floor`) are dropped. */
  peerLimit = 0
  /**
   * We are behind the peer's gc floors: it forgot tombstones we never got, so
   * our records at or below this version may be ones those deleted. We
   * vouch for none of them (a peer that forgot tombstones without keeping
   * their keys drops them, and a chain would stop there); those of other
   * sources we hold back (it would refuse them), and only a full send
   * (verification) offers them, unlinked. Our own go as ever, unlinked
   * (`holdOf`): no one else may hold them, and the peer refuses, by key,
   * those its forgotten tombstones beat.
   */
  selfLimit = 0
  /**
   * Per source, vouched sends not yet known to have arrived: ascending in
   * version and in `seq` (our count of objects sent when each went out).
   * At most `MAX_INFLIGHT` entries; past that the last one rises, keeping
   * its earlier count (an acknowledgement then takes longer, never less).
   */
  private readonly inflight = new Map<Source, { v: number; seq: number }[]>()

  constructor(private readonly lossy: boolean) {}

  /**
   * Lossy links: the `ack` and `seq` for the end of digest about to be sent.
   * The ack is the highest `seq` the peer sent us: everything the peer sent
   * before it has arrived or is lost (a count of objects received would lag
   * behind the peer's count for good after the first loss, and keep what it
   * sent since "on its way" ever longer). A peer that sends no `seq` gets
   * the count, as before `seq` existed.
   */
  acks(): Acks | undefined {
    if (!this.lossy) return undefined
    return { ack: this.peerSeq > 0 ? this.peerSeq : this.received, seq: this.sent + 1 }
  }

  /**
   * An end of digest from the peer, with its `ack` of ours and its own
   * `seq` (lossy links; a sound link's peer has no reason to send either,
   * and they are ignored). An ack above what we have sent is bogus and
   * counts as what we have sent: otherwise every later send would count as
   * acknowledged at once, and a cut response would restart from the
   * peer's claim part after part, for ever.
   */
  acknowledged(ack: number | undefined, seq: number | undefined): void {
    if (!this.lossy) return
    if (ack !== undefined && ack > this.acked) this.acked = Math.min(ack, this.sent)
    if (seq !== undefined && seq > this.peerSeq) this.peerSeq = seq
  }

  /** Records of `src` at or below this are held back from the peer (`selfLimit`; 0 for our own source, `self`). */
  holdOf(src: Source, self: Source): number {
    return src === self ? 0 : this.selfLimit
  }

  /** The peer holds `src` up to `v` (a push showed it, or a digest on a lossy link said so). */
  claim(src: Source, v: number): void {
    if ((this.claimed.get(src) ?? 0) < v) this.claimed.set(src, v)
  }

  /**
   * A digest's entry for `src`: the peer's clock when it sent it. On an
   * ordered link that is where the peer stands now, even below an earlier
   * claim (it lost records, and asks for them again); on a lossy link an
   * older digest may arrive late, so claims only rise, except the peer's
   * claim of nothing of its own source (`own`): a node recovering its own
   * records asks for them all again. A claim of nothing of another source
   * moves nothing there, so it cannot make us resend a whole history.
   */
  claimWhole(src: Source, v: number, own: boolean): void {
    if (!this.lossy) this.claimed.set(src, v)
    else if (v !== 0 || !own) this.claim(src, v)
    else {
      this.claimed.set(src, 0)
      this.inflight.delete(src)
    }
  }

  /**
   * What the peer holds of `src` or is about to (see the invariant). A send
   * the peer acknowledged arrived or was lost: if its claim covers it, it
   * arrived; if not, the chain broke there, and nothing sent after it
   * counts either (the peer's clock cannot pass the gap).
   */
  floor(src: Source): number {
    const claimed = this.claimed.get(src) ?? 0
    const q = this.inflight.get(src)
    if (q === undefined) return claimed
    while (q.length > 0 && q[0].seq <= this.acked) {
      if (q[0].v > claimed) q.length = 0
      else q.shift()
    }
    const top = q.length === 0 ? 0 : q[q.length - 1].v
    if (top > claimed) return top
    this.inflight.delete(src)
    return claimed
  }

  /** A vouched record of `src` at `v` just went out. */
  noteSent(src: Source, v: number): void {
    let q = this.inflight.get(src)
    if (q === undefined) this.inflight.set(src, (q = []))
    const last = q.length === 0 ? undefined : q[q.length - 1]
    if (last !== undefined && last.v >= v) return
    if (last !== undefined && q.length >= MAX_INFLIGHT) last.v = v
    else q.push({ v, seq: this.sent })
  }

  /**
   * The `upto` of a reply or final entry. On a lossy link every entry of a
   * complete response carries one (entries without it are not adopted) and
   * a cut response's carry none; on a reliable link only where the peer must
   * check that it received what we sent. Nor does an entry while records of
   * its source we sent unvouched are above the peer's claim: they may still
   * be on their way (the peer takes our own clock from us above the records
   * it saw). While we hold records of `src` back from the peer (`withholds`)
   * the entry vouches for nothing: its `upto` is our clock itself, so the
   * peer takes no clock of ours over records it never got.
   */
  uptoFor(src: Source, cut: boolean, own = false): number | undefined {
    const withheld = this.withholds(src, own)
    if (!this.lossy) return withheld ? src.clock : this.upto.get(src)
    if (cut || withheld || (this.unlinkedSent.get(src) ?? 0) > (this.claimed.get(src) ?? 0)) return undefined
    return this.upto.get(src) ?? this.claimed.get(src) ?? 0
  }

  /**
   * Whether records of `src` above the peer's claim are held back from it:
   * another source's, at or below `selfLimit` (`holdOf`).
   */
  withholds(src: Source, own: boolean): boolean {
    const claimed = this.claimed.get(src) ?? 0
    if (own || this.selfLimit <= claimed) return false
    const log = src.log
    return log.size > 0 && log.liveFrom(log.firstAfter(claimed)) > log.liveFrom(log.firstAfter(this.selfLimit))
  }

  /**
   * From the peer's whole clock (a leg 1 or 2 digest): who is behind whose
   * gc floors. `digest` maps our known sources to the peer's versions.
   */
  judge(replica: Replica, digest: Map<Source, number>, entries: readonly DigestMsg[]): void {
    let peer = 0
    for (const src of replica.clock.values()) {
      if (src.gc > peer && (digest.get(src) ?? 0) < src.gc) peer = src.gc
    }
    let self = 0
    for (const e of entries) if (e.gc > self && e.gc > (replica.clock.find(e.source_id, e.gen)?.clock ?? 0)) self = e.gc
    this.peerLimit = peer
    this.selfLimit = self
  }
}

/** Sends in flight tracked one by one per source (see `PeerView.inflight`). */
const MAX_INFLIGHT = 32
