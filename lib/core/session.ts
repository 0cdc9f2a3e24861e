import type { Source } from './clock.ts'
import type { FlowLink } from './flow-link.ts'
import { Inbound } from './inbound.ts'
import { PeerView } from './peer-view.ts'
import { Relays } from './relay.ts'
import { shuffle } from './random.ts'
import { holdsAgainstPeer } from './refusals.ts'
import type { LocalListener, Replica } from './replica.ts'
import { Responder } from './responder.ts'
import { Resync } from './resync.ts'
import { SelfRecovery } from './self-recovery.ts'
import { newSessionStats, type SessionOptions, type SessionPort, type SessionStats } from './session-types.ts'
import type { Rec } from './types.ts'
import { Verification } from './verification.ts'
import { AnswerPacing } from './answer-pacing.ts'
import { CHARS_PER_ENTRY, DigestAssembler, type Digest } from '../protocol/digest.ts'
import { encodeDigest, encodeDone, encodePush, type DigestMsg, type Message, type RateClaim, type WireMessage } from '../protocol/messages.ts'
import { decode, isLimitReason, readUpdate, type UpdateSlot } from '../protocol/validate.ts'

export type { SessionOptions, SessionPort, SessionStats } from './session-types.ts'

/** Records of a streamed response between two of its part markers, at least. */
const PART = 1000

/**
 * The protocol with one peer, as a pure state machine: messages in, messages
 * out through `port`, no I/O of its own. Correct over links that lose,
 * duplicate or reorder messages; efficient over reliable ordered ones.
 *
 * An exchange is push-pull in three legs (PROTOCOL.md):
 *   1. initiator -> its digest (`request`);
 *   2. responder -> the updates the initiator lacks, then its own digest
 *      (`reply`, with `more` if the updates were cut at `mtu`);
 *   3. initiator -> the updates the responder lacks, then the clock entries
 *      it just brought the responder up to, closed by a `final` marker.
 *
 * The concepts live in their own files: what we know of the peer
 * (`PeerView`), how its updates move our clocks (`Inbound`), how we answer
 * it (`Responder`), resyncs (`Resync`), fingerprint checks (`Verification`)
 * and the pace of answers (`AnswerPacing`). This file ties them to the legs.
 *
 * Invariants:
 * - A peer's clock is adopted only from the marker that ends a complete
 *   response to a digest of ours, per source only when our clock reached the
 *   `upto` the peer announced, never across a `gc` floor above our clock,
 *   never above the highest record of the source we have seen (unless the
 *   peer speaks of its own source), and never past a record not taken.
 * - Input is always read; while our output is full the answers it calls
 *   for wait (at most one of each leg), so two nodes with full outputs never
 *   wait on each other and a peer that does not read cannot make us buffer
 *   without bound.
 */
export class Session implements LocalListener {
  readonly stats: SessionStats = newSessionStats()
  private readonly view: PeerView
  private readonly inbound: Inbound
  private readonly responder: Responder
  private readonly resync: Resync
  private readonly verification: Verification
  private readonly digests: DigestAssembler
  private readonly scratch: Message[] = []
  private readonly slot: UpdateSlot = { rec: null as unknown as Rec, prev: undefined, rprev: undefined }
  private streamingResponse = false
  private sinceMarker = 0 // records sent in the current streamed response since its last part marker
  /** An exchange we started is waiting for the peer's reply digest. */
  private awaiting = false
  /** The exchange we started carries fingerprints (its final will too). */
  private verifying = false
  /** We answered a request and its `final` has not come yet (answerAfterFinal). */
  private finalOwed = false
  /** The latest request that came while `finalOwed`: answered when the final comes. */
  private heldRequest: (() => void) | null = null
  /** Responses of the peer to our digests that have not ended yet (at most 2: legs 2 and 3). */
  private open = 0
  /** Updates of the peer dropped (it is behind our floors) since its last digest ended. */
  private droppedSinceDone = 0
  /** Records of the response in progress taken, or past which a resync went on: whether asking again gets further. */
  private movedSinceDone = 0
  /** Answers owed to the peer, written when our output has room: the latest leg 1 to answer, and our leg 3. */
  private owedAnswer: (() => void) | null = null
  private owedFinish: (() => void) | null = null
  private readonly pacing: AnswerPacing
  private readonly relays: Relays
  /** Getting our own earlier writes back from this peer (self-recovery.ts). */
  private readonly recovery: SelfRecovery
  /** Flow control on this connection (flow-link.ts), when the node runs it. */
  private readonly flow: FlowLink | null
  private closed = false

  constructor(
    private readonly replica: Replica,
    private readonly port: SessionPort,
    private readonly opts: SessionOptions,
  ) {
    const lossy = opts.lossy === true
    this.view = new PeerView(lossy)
    this.inbound = new Inbound(replica, opts.peer ?? {}, this)
    const out = { send: (msg: WireMessage) => this.send(msg), sendLinked: (rec: Rec, prev: number) => this.sendLinked(rec, prev) }
    this.responder = new Responder(replica, this.view, { mtu: opts.mtu, order: opts.order, random: opts.random, lossy }, out)
    this.resync = new Resync(replica, opts.repairWindow ?? 3_600_000)
    this.verification = new Verification(opts.verifyInterval ?? 60_000)
    this.digests = new DigestAssembler(opts.maxDigestEntries)
    this.relays = new Relays(replica, out)
    this.recovery = new SelfRecovery(replica.ownLife, lossy, () => replica.self.log.size)
    this.flow = opts.flow?.link() ?? null
    this.pacing = new AnswerPacing(opts.answerPacing)
    replica.subscribe(this)
  }

  /** Begin an exchange: send our digest. */
  start(): void {
    if (this.closed) return
    this.droppedSinceDone = this.movedSinceDone = 0
    this.view.upto.clear()
    if (this.resync.begin(this.inbound.refetchDue)) this.inbound.refetching()
    const fingerprints = (this.verifying = this.verification.due(this.replica.timeMs()))
    // Before sending: over synchronous pipes the reply can arrive inside the send.
    this.awaiting = true
    this.sendDigest(false, false, false, false, fingerprints, this.flow?.request())
  }

  /** Whether an exchange we started is still waiting for the peer's reply digest. */
  get inFlight(): boolean {
    return this.awaiting
  }

  /**
   * Feed one untrusted object from the peer. Never throws for bad input.
   * `fresh`: the object was just parsed here and nobody else holds it.
   */
  receive(obj: unknown, fresh = false): void {
    if (this.closed) return
    this.view.received++
    // Updates, by far the most common, skip the message objects.
    if (typeof obj === 'object' && obj !== null && !Array.isArray(obj) && (obj as { digest?: unknown }).digest === undefined) {
      const slot = this.slot
      const reason = readUpdate(obj as Record<string, unknown>, this.opts.limits, fresh, slot)
      if (reason !== null) this.refuse(reason, obj, this.inbound.invalid(reason, obj))
      else this.onUpdate(slot.rec, slot.prev, slot.rprev)
      return
    }
    const msgs = this.scratch
    msgs.length = 0
    const reason = decode(obj, this.opts.limits, msgs, fresh)
    if (reason !== null) return this.refuse(reason, obj, this.inbound.invalid(reason, obj))
    for (let i = 0; i < msgs.length; i++) this.handle(msgs[i])
  }

  /** Feed one validated message. */
  handle(msg: Message): void {
    if (this.closed) return
    switch (msg.type) {
      case 'update':
        this.onUpdate(msg.rec, msg.prev, msg.rprev)
        return
      case 'digest':
        this.digests.entry(msg)
        return
      case 'done': {
        const d = this.digests.end(msg)
        if (d === null) this.refuse(`digest longer than ${this.opts.maxDigestEntries} entries (or ${CHARS_PER_ENTRY} characters of ids an entry)`, null)
        else this.onDigest(d)
        return
      }
      case 'relay':
        this.relays.control(msg.source_id, msg.gen, msg.on)
        return
    }
  }

  /** A local write: push it now if the peer is known to hold our previous one. */
  pushLocal(rec: Rec, prev: number): boolean {
    if (this.closed) return true
    // Until the peer has told us where it stands, the next exchange carries our writes.
    if (this.stats.digestsReceived === 0) return this.port.room()
    const self = this.replica.self
    if (this.view.floor(self) < prev) return this.port.room()
    if (!this.port.room()) {
      this.port.wantExchange()
      return false
    }
    this.sendLinked(rec, prev)
    this.view.noteSent(self, rec.version)
    this.stats.pushesSent++
    return true
  }

  /** A record another peer sent was applied here: pass it on at once if this peer lacks it (relay.ts). */
  relay(rec: Rec, src: Source): void {
    if (this.closed || this.opts.relay === false || this.stats.digestsReceived === 0) return
    if (this.port.relaySoon === undefined) this.relays.relay(rec, src, this.view, this.port, this.stats)
    else if (this.relays.hold(rec, src)) this.port.relaySoon()
  }

  /** Offer the relays held this turn (a port with `relaySoon` calls it before its output leaves). */
  flushRelays(): void {
    this.relays.release((rec, src) => !this.closed && this.relays.relay(rec, src, this.view, this.port, this.stats))
  }

  /** A record that repaired a gap here: offer it to this peer too (it moves no clock). */
  pushRepair(rec: Rec): void {
    if (this.closed || rec.version <= this.view.holdOf(this.replica.sourceOf(rec), this.replica.self) || !this.port.room()) return
    this.sendLinked(rec, rec.version - 1)
    this.stats.pushesSent++
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.replica.unsubscribe(this)
    this.flow?.close()
    this.digests.clear()
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Whether a cut response is waiting to go on as the link drains. */
  get streaming(): boolean {
    return this.streamingResponse
  }

  /** Whether an answer waits for room in our output (see `payDebts`). */
  get owes(): boolean {
    return this.owedAnswer !== null || this.owedFinish !== null
  }

  /** Write the answers owed to the peer, as far as our output has room (or regardless, when the reader just asked for more: `demand`). */
  payDebts(demand = false): void {
    if (this.closed) return
    if (this.owedFinish !== null && (demand || this.port.room())) {
      const f = this.owedFinish
      this.owedFinish = null
      f()
    }
    if (this.owedAnswer !== null && (demand || this.port.room()) && this.pacing.take()) {
      const f = this.owedAnswer
      this.owedAnswer = null
      f()
    }
    if (this.pacing.owedAgain()) this.port.wantExchange()
  }

  /** The next part of a cut response (the link has room), from where the peer stands counting what is on its way; when nothing is left, our clock entries and a `final` marker. */
  continueStream(): void {
    if (!this.streamingResponse || this.closed) return void (this.streamingResponse = false)
    const { sent, truncated } = this.respond(null, false)
    if (truncated) {
      // Cut into parts, so that a receiver's clock keeps up (links move clocks only at markers).
      this.sinceMarker += sent
      if (this.sinceMarker >= PART) {
        this.sinceMarker = 0
        this.send(encodeDone(true, true, true, this.view.acks(), false, true))
      }
      return
    }
    this.sinceMarker = 0
    this.streamingResponse = false
    this.responder.finalEntries(null, false, this.recovery.asking)
    this.send(encodeDone(true, false, true, this.view.acks()))
    this.view.upto.clear()
  }

  // ---- input ----

  /** A peer object was refused: count, report; `fault` holds it against the link (not our limits': a peer's may be larger; it is passed over). */
  private refuse(reason: string, obj: unknown, fault = !isLimitReason(reason)): void {
    this.stats.invalid++
    this.port.invalid(reason, obj, fault)
  }

  private onUpdate(rec: Rec, prev: number | undefined, rprev: number | undefined): void {
    this.stats.updatesReceived++
    const inResponse = this.open > 0
    // A stale peer's old updates are dropped only where no forgotten tombstone is remembered by key.
    const outcome = this.inbound.take(rec, prev, inResponse, Math.min(this.view.peerLimit, this.replica.collected.floor))
    if ('taken' in outcome) {
      const src = outcome.taken
      this.movedSinceDone++
      if (prev !== undefined && src === this.replica.self) this.recovery.ownLink(prev, rec.version)
      if (rprev !== undefined) this.resync.onRecord(src, rprev, rec.version)
      if (!outcome.applied && !inResponse && prev !== undefined && rec.source_id !== this.opts.peer?.id) this.relays.duplicate(src)
      if (!outcome.applied && this.port.room() && this.responder.answerBeaten(rec)) this.stats.pushesSent++
      // A push or relay linked below its own version minus one comes from a clock that covers it:
      // the peer holds its source up to it, so nothing up to it goes back (crossing relays stop sooner).
      if (!inResponse && prev !== undefined && prev !== rec.version - 1) this.view.claim(src, rec.version)
      return
    }
    // A resync goes on past a record not taken (its chain is broken): asked again, it would be refused again.
    const known = rprev === undefined ? undefined : this.replica.clock.find(rec.source_id, rec.gen)
    if (known !== undefined) {
      this.movedSinceDone++
      this.resync.onRecord(known, rprev!, rec.version)
    }
    if ('dropped' in outcome) {
      this.stats.staleDropped++
      this.droppedSinceDone++
    } else this.refuse(outcome.refused, rec, holdsAgainstPeer(outcome.refused))
  }

  /** A whole digest arrived. */
  private onDigest(d: Digest): void {
    this.stats.digestsReceived++
    // A sender on a lossy link acknowledges; its digest entries may have
    // been reordered with another digest's, so only entries that say what
    // they vouch for (`upto`) are adopted from it.
    this.view.acknowledged(d.ack, d.seq)
    // Any marker of a response to a digest of ours makes what it earned take effect.
    const answers = d.leg !== 'request' && this.open > 0
    if (answers) this.inbound.commit()
    if (d.leg === 'part') return
    // It ends that response unless the response goes on by itself; only then is it adopted from.
    const answered = answers && !(d.more && d.stream)
    if (answered) this.open--
    const resyncRequest = d.leg === 'request' && d.resync
    const clock = this.replica.clock
    const digest = new Map<Source, number>()
    let recover = false // the peer holds records of our own source we lack: ask for them all
    for (const e of d.entries) {
      // Sources we hold nothing of are not registered from digests: nothing
      // of theirs is to be sent or adopted, and a peer cannot make us track
      // sources at will. A new generation of a known node is noted, though.
      const src = clock.find(e.source_id, e.gen)
      if (src === undefined) {
        clock.announce(e.source_id, e.gen)
        continue
      }
      digest.set(src, e.version)
      if (resyncRequest) continue // its versions are the peer's progress, not its clock
      this.view.claimWhole(src, e.version, src.id === this.opts.peer?.id)
      if (src === this.replica.self && this.replica.plausible(e.version) && this.recovery.seen(e.version)) recover = true
    }
    const mayAdopt = answered && !d.more && this.droppedSinceDone === 0
    if (answered && (d.leg === 'final' || this.awaiting)) this.recovery.answerEnded(d.leg === 'final', mayAdopt)
    const moved = this.movedSinceDone
    this.droppedSinceDone = this.movedSinceDone = 0
    if (d.leg === 'final') {
      // Leg 3 arrived: the initiator answered our reply digest.
      if (mayAdopt) this.adopt(d.entries, d.ack !== undefined)
      // Records to send in full go in an exchange of ours, started now.
      if (((mayAdopt && this.compareFingerprints(d)) || recover || this.inbound.refetchDue) && this.pacing.again()) this.port.wantExchange()
      this.finalOwed = false
      if (this.heldRequest !== null) {
        this.owedAnswer = this.heldRequest
        this.heldRequest = null
        this.payDebts()
      }
      return
    }
    if (d.leg === 'request' && this.finalOwed) {
      this.stats.requestsHeld++ // an exchange we answered is still open: the latest request waits for its final
      const resync = resyncRequest ? digest : null
      this.heldRequest = () => this.answer(resync, resync === null ? this.judgeClock(d, digest) : false, d.rates)
      return
    }
    if (d.leg !== 'request' && !this.awaiting) {
      // A reply to no request of ours (or a second one): claims noted, only a bare final closes it.
      this.stats.repliesUnasked++
      return this.send(encodeDone(true, false, true, this.view.acks(), false, false))
    }
    // Legs 1 and 2 carry the peer's whole clock and floors.
    const fingerprints = resyncRequest ? false : this.judgeClock(d, digest)
    if (d.leg === 'request') {
      const resync = resyncRequest ? digest : null
      this.owedAnswer = () => this.answer(resync, fingerprints, d.rates)
    } else {
      // The reply to our request: its rates (if any) complete the redistribution.
      if (this.awaiting) this.flow?.replied(d.rates)
      // Leg 2. After a resync nothing is adopted: it answered from how far the resync had come (maybe above our clock).
      // A cut resync answer that got nowhere (all of it refused, of sources we do not know) ends it.
      if (d.resync && (!d.more || moved === 0)) this.resync.done()
      if (mayAdopt && !d.resync) this.adopt(d.entries, d.ack !== undefined)
      if (mayAdopt) this.compareFingerprints(d)
      this.awaiting = false
      // Only a resync's cut reply asks again at once (it drains a backlog); other calls for more are paced.
      this.owedFinish = () => this.leg3(digest, (d.more && !d.stream && moved > 0) || recover, !d.resync || recover)
    }
    this.payDebts()
  }

  /** A leg 1 or 2 digest: gc floors judged; whether it carried fingerprints. */
  private judgeClock(d: Digest, digest: Map<Source, number>): boolean {
    this.view.judge(this.replica, digest, d.entries)
    return d.entries.some((e) => e.fp !== undefined)
  }

  /** A reply's or a final's fingerprints, after a whole response settled both sides: whether any source now goes in full. */
  private compareFingerprints(d: Digest): boolean {
    return this.responder.sendInFull(this.verification.compare(d.entries, this.replica.clock, this.replica.timeMs(), (src) => this.responder.heldBack(src)))
  }

  /**
   * Take on the peer's clock where the response that just ended reached us
   * whole (see the invariants).
   */
  private adopt(entries: readonly DigestMsg[], lossyPeer: boolean): void {
    const clock = this.replica.clock
    for (const e of entries) {
      const src = clock.find(e.source_id, e.gen)
      if (src === undefined) continue
      if (e.upto === undefined ? lossyPeer : src.clock < e.upto) continue // not vouched, or part of the response was lost
      if (e.gc > src.clock) continue // the peer forgot tombstones of this source that we may lack
      const v = this.inbound.cap(src, e.version)
      if (src.id === this.opts.peer?.id) this.replica.adoptFromSource(src, v)
      else this.replica.adopt(src, v)
    }
  }

  // ---- output ----

  /**
   * Leg 1 arrived: answer with updates, then our own digest (`reply`, with
   * fingerprints if the peer's had them, and our rates if we took the peer's).
   */
  private answer(resync: Map<Source, number> | null, fingerprints: boolean, rates: RateClaim | undefined): void {
    this.view.upto.clear()
    const { truncated } = this.respond(resync)
    // A cut answer to an ordinary digest goes on by itself as the link drains.
    this.streamingResponse = truncated && resync === null
    if (this.open < 2) this.open++ // leg 3 may arrive inside our reply's sends
    this.sendDigest(true, truncated, resync !== null, this.streamingResponse, fingerprints, this.flow?.answer(rates))
    if (this.opts.answerAfterFinal === true) this.finalOwed = true
  }

  /**
   * Leg 3: what the responder lacks, our clock entries and the `final` marker. `again`: its answer
   * was cut and will not stream, so another exchange is needed (`paced`: at the answer pacing).
   */
  private leg3(digest: Map<Source, number>, again: boolean, paced: boolean): void {
    this.view.upto.clear()
    const { truncated } = this.respond(null)
    this.streamingResponse = truncated
    this.responder.finalEntries(digest, truncated, this.recovery.asking, this.verifying)
    this.verifying = false
    this.send(encodeDone(true, truncated, true, this.view.acks(), false, truncated))
    if (again && (!paced || this.pacing.again())) this.port.wantExchange()
  }

  /** One response (legs 2 and 3, and parts of a streamed one); AIMD counts the legs' (`leg`). */
  private respond(exact: Map<Source, number> | null, leg = true): { sent: number; truncated: boolean } {
    const r = this.responder.respond(exact)
    this.stats.updatesSent += r.sent
    if (leg) this.flow?.sent(r.wanted, this.opts.mtu)
    return r
  }

  /**
   * Our digest; `answersResync`: it ends our answer to the peer's resync;
   * `stream`: our cut answer goes on by itself; `fingerprints`: each entry
   * carries the fingerprint of our live records of its source; `rates`: our
   * (ρ, τ) for flow control.
   */
  private sendDigest(reply: boolean, more: boolean, answersResync: boolean, stream: boolean, fingerprints: boolean, rates?: RateClaim): void {
    const sources = shuffle(Array.from(this.replica.clock.values()), this.opts.random)
    const resync = !reply && this.resync.active
    const fp = fingerprints && !resync
    const asks = this.recovery.sending(reply, !resync)
    // The peer answers a leg 1 digest with a response (leg 2), which over synchronous pipes arrives inside these sends.
    if (!reply && this.open < 2) this.open++
    for (const s of sources) {
      const version = resync ? this.resync.versionFor(s) : asks && s === this.replica.self ? 0 : reply ? this.replica.clock.holes.vouched(s) : s.clock
      this.send(encodeDigest(s.id, version, s.gen, s.gc, reply ? this.view.uptoFor(s, more, s === this.replica.self) : undefined, fp ? s.fp.toString() : undefined))
    }
    this.send(encodeDone(reply, more, false, this.view.acks(), resync || answersResync, stream, rates))
    this.stats.digestsSent++
  }

  private send(msg: WireMessage): void {
    this.view.sent++
    this.port.send(msg)
  }

  private sendLinked(rec: Rec, prev: number): void {
    this.view.sent++
    if (this.port.sendLinked !== undefined) this.port.sendLinked(rec, prev)
    else this.port.send(encodePush(rec, prev))
  }
}
