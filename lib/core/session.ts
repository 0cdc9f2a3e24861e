import type { Source } from './clock.ts'
import { selectDelta, type Candidate } from './delta.ts'
import { shuffle } from './random.ts'
import { RefusedError, type LocalListener, type Replica } from './replica.ts'
import type { DeltaOrder, PeerLabel, RandomFn, Rec } from './types.ts'
import { sourceKey } from './types.ts'
import { encodeDigest, encodeDone, encodePush, type DigestMsg, type DoneMsg, type Message, type WireMessage } from '../protocol/messages.ts'
import { decode, readUpdate, type Limits, type UpdateSlot } from '../protocol/validate.ts'

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
  /** A peer object was refused; `reason` says why. */
  invalid(reason: string, obj: unknown): void
  /** Some updates could not go out now: start another exchange when there is room. */
  wantExchange(): void
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
  /** Who is at the other end, for the replica's `accept` hook. */
  readonly peer?: PeerLabel
  /**
   * How often (ms, replica time) a digest we start carries per-source
   * fingerprints, so that records a peer's lies or a writer's different
   * stories kept from us are found and exchanged. Default 60,000.
   */
  readonly verifyInterval?: number
  /**
   * The link may lose, duplicate or reorder messages: every update carries
   * its chain link (`prev`) and every end of digest an `ack`. On a reliable,
   * ordered link (the default) responses keep the seed's exact shapes and
   * their order is the chain.
   */
  readonly lossy?: boolean
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
}

/** Records of a streamed response between two of its part markers, at least. */
const PART = 1000

/** The refusal that means this node will never take the record (its `accept` said no). */
const NOT_ACCEPTED = 'not accepted'

/** One whole digest from the peer: its entries and the marker that ended them. */
interface Digest {
  readonly entries: DigestMsg[]
  readonly end: DoneMsg
}

/**
 * The protocol with one peer, as a pure state machine: messages in, messages
 * out through `port`, no I/O of its own. Correct over links that lose,
 * duplicate or reorder messages; efficient over reliable ordered ones.
 *
 * An exchange is push-pull in three legs:
 *   1. initiator -> its digest;
 *   2. responder -> the updates the initiator lacks, then its own digest
 *      marked `reply` (and `more` if the updates were cut at `mtu`);
 *   3. initiator -> the updates the responder lacks, then the clock entries
 *      it just brought the responder up to, closed by a `final` marker.
 *
 * Invariants:
 * - Every update is a link in a chain: all records of its source in
 *   (prev, version] that the sender vouches for were sent, this one last.
 *   `prev` is explicit on lossy links and on pushes; inside a response on a
 *   reliable link it is the record of the same source before it in the
 *   response. A clock moves only along links whose `prev` it covers, and an
 *   update without `prev` that is not part of a response to one of our
 *   digests moves no clock. A refused update breaks its chain.
 * - Nobody vouches across a tombstone it forgot: a responder whose `gc`
 *   floor for a source is above the peer's floor sends that source's
 *   records unlinked, and a receiver never adopts a clock entry whose `gc`
 *   is above its own clock. Nothing a peer says makes a node drop a record.
 * - Updates from a peer that is behind one of our `gc` floors, with a
 *   version at or below that floor, are dropped: they may be records a
 *   forgotten tombstone deleted.
 * - A response starts above what the peer claims (its digests) or what is
 *   still on its way to it (sent, not yet acknowledged by its `ack` count):
 *   nothing is sent twice on a sound link, and anything lost is sent again.
 * - A peer's clock is adopted only from the marker that ends a complete
 *   response, and per source only when our clock reached the `upto` the
 *   peer announced for it (all of the response arrived).
 */
export class Session implements LocalListener {
  readonly stats: SessionStats = {
    digestsSent: 0,
    digestsReceived: 0,
    updatesSent: 0,
    updatesReceived: 0,
    pushesSent: 0,
    invalid: 0,
    staleDropped: 0,
  }
  /** Objects sent and received on this link; the peer's `ack` counts ours. */
  private sent = 0
  private received = 0
  private acked = 0
  /** Per source, the highest version the peer's digests claimed. */
  private readonly peerClock = new Map<Source, number>()
  /** Per source, the highest vouched version sent to the peer and the message that carried it. */
  private readonly inflight = new Map<Source, { v: number; seq: number }>()
  /** Per source, where the current response (all its parts) leaves the peer (for `upto`). */
  private readonly upto = new Map<Source, number>()
  private streamingResponse = false
  private pending: DigestMsg[] = []
  private overflow = false
  private readonly scratch: Message[] = []
  private readonly slot: UpdateSlot = { rec: null as unknown as Rec, prev: undefined, rprev: undefined }
  /** An exchange we started is waiting for the peer's reply digest. */
  private awaiting = false
  /**
   * Answers owed to the peer, written when our output has room again: the
   * latest leg-1 digest to answer, and our leg 3. Output never grows by more
   * than one answer of each while the peer does not read, and input is
   * always read, so two nodes whose outputs are both full cannot wait on
   * each other.
   */
  private owedAnswer: (() => void) | null = null
  private owedFinish: (() => void) | null = null
  /** Responses of the peer to our digests that have not ended yet. */
  private open = 0
  /**
   * Per source key, the highest version the peer sent us on this link as a
   * response record, or that we did not take: the implicit `prev` of its
   * next response record of that source.
   */
  private readonly heads = new Map<string, number>()
  /**
   * Per source, how far the links of the response in progress carry our
   * clock; taken on when the peer ends the response (or a part of it) with
   * a marker.
   */
  private readonly earned = new Map<Source, number>()
  /** Records sent in the current streamed response since its last part marker. */
  private sinceMarker = 0
  private closed = false
  /** The peer is behind our gc floors: its updates at or below this version are dropped. */
  private peerLimit = 0
  /**
   * We are behind the peer's gc floors: it forgot tombstones we never got, so
   * our records at or below this version may be ones those deleted. We hold
   * them back from it (it would drop them) and vouch for nothing below it.
   */
  private selfLimit = 0
  private droppedSinceDone = 0
  /**
   * Full resyncs: after a node lost its data, our clocks may claim records
   * we skipped because something since lost beat them; so we ask each peer
   * once for everything. `resyncSeen`: the generation changes already
   * covered; `resyncing`: the one being covered now (-1: none).
   */
  private resyncSeen: number
  private resyncing = -1
  private readonly resyncFloor = new Map<Source, number>()
  /** When we last sent a digest with fingerprints (replica time, ms). */
  private lastVerify = -Infinity
  /**
   * Sources whose fingerprints differed from the peer's at an equal clock,
   * with what was compared: the same difference at the next verification
   * means the records of that source are sent in full (`fullSend`).
   */
  private readonly suspects = new Map<Source, string>()
  /** Per source to send in full (unlinked), the version sent up to. */
  private readonly fullSend = new Map<Source, number>()
  /**
   * Per source key, the lowest version of a record not taken from this peer
   * since the last refetch: clock entries are adopted only below it.
   */
  private readonly broken = new Map<string, number>()
  /** A record was not taken: the next exchange we start asks from exactly our clock. */
  private refetchDue = false
  /** Per source whose tombstones we forgot above the peer's floor, the highest record sent it unlinked. */
  private readonly unlinkedSent = new Map<Source, number>()
  /** Per source, the highest record held above our clock already sent to this peer. */
  private readonly heldAboveSent = new Map<Source, number>()

  constructor(
    private readonly replica: Replica,
    private readonly port: SessionPort,
    private readonly opts: SessionOptions,
  ) {
    replica.subscribe(this)
    const recent = replica.recentGenerationChange(opts.repairWindow ?? 3_600_000)
    this.resyncSeen = recent ? -1 : replica.clock.generationChanges
  }

  /** Begin an exchange: send our digest. */
  start(): void {
    if (this.closed) return
    this.droppedSinceDone = 0
    this.upto.clear()
    const changes = this.replica.clock.generationChanges
    if (this.resyncing === -1 && (changes > this.resyncSeen || this.refetchDue)) {
      // After a node lost its data: everything, from version 0. After a
      // record was not taken: from our clock.
      const full = changes > this.resyncSeen
      this.resyncing = Math.max(changes, this.resyncSeen)
      this.resyncFloor.clear()
      if (!full) for (const src of this.replica.clock.values()) if (src.clock > 0) this.resyncFloor.set(src, src.clock)
      this.refetchDue = false
      this.broken.clear()
    }
    const now = this.replica.timeMs()
    const verify = now - this.lastVerify >= (this.opts.verifyInterval ?? 60_000)
    if (verify) this.lastVerify = now
    this.sendDigest(false, false, false, false, verify)
    this.awaiting = true
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
    this.received++
    // Updates, by far the most common, skip the message objects.
    if (typeof obj === 'object' && obj !== null && !Array.isArray(obj) && (obj as { digest?: unknown }).digest === undefined) {
      const slot = this.slot
      const reason = readUpdate(obj as Record<string, unknown>, this.opts.limits, fresh, slot)
      if (reason !== null) this.refuse(reason, obj)
      else this.onUpdate(slot.rec, slot.prev, slot.rprev)
      return
    }
    const msgs = this.scratch
    msgs.length = 0
    const reason = decode(obj, this.opts.limits, msgs, fresh)
    if (reason !== null) return this.refuse(reason, obj)
    for (let i = 0; i < msgs.length; i++) this.handle(msgs[i])
  }

  /** A peer object failed validation: count it and report why. */
  private refuse(reason: string, obj: unknown): void {
    this.stats.invalid++
    this.port.invalid(reason, obj)
  }

  /** Feed one validated message. */
  handle(msg: Message): void {
    if (this.closed) return
    switch (msg.type) {
      case 'update':
        this.onUpdate(msg.rec, msg.prev, msg.rprev)
        return
      case 'digest':
        if (this.pending.length >= this.opts.maxDigestEntries) this.overflow = true
        else this.pending.push(msg)
        return
      case 'done': {
        const entries = this.pending
        this.pending = []
        this.onDigest({ entries, end: msg })
        return
      }
    }
  }

  /** A local write: push it now if the peer is known to hold our previous one. */
  pushLocal(rec: Rec, prev: number): boolean {
    if (this.closed) return true
    // Until the peer has told us where it stands, the next exchange carries our writes.
    if (this.stats.digestsReceived === 0) return this.port.room()
    const self = this.replica.self
    if (this.floor(self) < prev) return this.port.room()
    if (!this.port.room()) {
      this.port.wantExchange()
      return false
    }
    this.sendLinked(rec, prev)
    this.noteSent(self, rec.version)
    this.stats.pushesSent++
    return true
  }

  /** A record that repaired a gap here: offer it to this peer too (it moves no clock). */
  pushRepair(rec: Rec): void {
    if (this.closed || rec.version <= this.selfLimit || !this.port.room()) return
    this.sendLinked(rec, rec.version - 1)
    this.stats.pushesSent++
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.replica.unsubscribe(this)
    this.pending = []
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Our `ack` for the peer: objects received so far (lossy links only). */
  private ackCount(): number | undefined {
    return this.opts.lossy === true ? this.received : undefined
  }

  private send(msg: WireMessage): void {
    this.sent++
    this.port.send(msg)
  }

  private sendLinked(rec: Rec, prev: number): void {
    this.sent++
    if (this.port.sendLinked !== undefined) this.port.sendLinked(rec, prev)
    else this.port.send(encodePush(rec, prev))
  }

  /**
   * The version of `src` the peer holds or is about to: what it claimed, or
   * what we sent it that it has not acknowledged yet. A send it acknowledged
   * without its clock showing it was lost (or could not be linked): it is
   * forgotten, so the next response sends it again.
   */
  private floor(src: Source): number {
    const claimed = this.peerClock.get(src) ?? 0
    const f = this.inflight.get(src)
    if (f === undefined) return claimed
    if (f.v > claimed && f.seq > this.acked) return f.v
    this.inflight.delete(src)
    return claimed
  }

  private noteSent(src: Source, v: number): void {
    const f = this.inflight.get(src)
    if (f === undefined || f.v < v) this.inflight.set(src, { v, seq: this.sent })
  }

  private onUpdate(rec: Rec, prev: number | undefined, rprev: number | undefined): void {
    this.stats.updatesReceived++
    if (rec.version <= this.peerLimit) {
      this.stats.staleDropped++
      this.droppedSinceDone++
      // Dropped on purpose (it may be a record a forgotten tombstone deleted): not asked for again.
      const key = sourceKey(rec.source_id, rec.gen)
      if ((this.heads.get(key) ?? 0) < rec.version) this.heads.set(key, rec.version)
      return
    }
    const replica = this.replica
    const refused = replica.admit(rec, this.opts.peer ?? {})
    const src = refused === null ? replica.admitSource(rec) : undefined
    if (refused !== null || src === undefined) {
      // Refused by this node's own policy: the record will never be taken,
      // so its chain goes on past it. Any other refusal may pass (a clock
      // that catches up, a genuine copy from an honest peer).
      if (refused !== NOT_ACCEPTED) this.breakChain(sourceKey(rec.source_id, rec.gen), rec.version)
      this.refuse(refused ?? `too many sources (limits.maxSources is ${replica.maxSources})`, rec)
      return
    }
    // Share one copy of the id: records from a parser each carry their own.
    ;(rec as { source_id: string }).source_id = src.id
    // Inside a response on a reliable link the chain is implicit: the record
    // of the same source the peer sent before it on this link. An update with
    // no `prev` that answers nothing we asked moves no clock.
    // Outside a response, an explicit link counts only from the source
    // itself (its own writes, pushed in order): a node passing on someone
    // else's record cannot vouch that nothing of it came in between.
    // Links inside a response move the clock only once the peer ends the
    // response with a marker: an update pushed into a response that never
    // ends moves nothing.
    let link = prev
    let own = false
    if (this.open > 0) {
      if (link === undefined) {
        link = this.heads.get(src.key) ?? 0
        if (rec.version > link) this.heads.set(src.key, rec.version)
      }
    } else if (link !== undefined) {
      if (rec.source_id === this.opts.peer?.id) own = true
      else link = undefined
    }
    try {
      replica.applyRemote(rec, src, this)
    } catch (err) {
      if (!(err instanceof RefusedError)) throw err
      this.breakChain(src.key, rec.version)
      this.refuse(err.reason, rec)
      return
    }
    if (rprev !== undefined && this.resyncing !== -1 && (this.resyncFloor.get(src) ?? 0) >= rprev) this.resyncFloor.set(src, rec.version)
    if (link === undefined) return
    if (own) {
      if (src.clock >= link) replica.advance(src, rec.version)
      return
    }
    const reach = Math.max(src.clock, this.earned.get(src) ?? 0)
    if (reach >= link && rec.version > reach) this.earned.set(src, rec.version)
  }

  /** The peer ended (part of) a response: the clock moves its links earned take effect. */
  private commit(): void {
    for (const [src, v] of this.earned) this.replica.advance(src, v)
    this.earned.clear()
  }

  /**
   * An update of this source was not taken: the peer's later records of it
   * on this link (which count it as sent) must not carry our clock past it,
   * nor may its clock entries, until a refetch has asked for it again
   * (the next exchange we start asks from exactly our clock).
   */
  private breakChain(key: string, version: number): void {
    if ((this.heads.get(key) ?? 0) < version) this.heads.set(key, version)
    const b = this.broken.get(key)
    if (b === undefined || version < b) this.broken.set(key, version)
    this.refetchDue = true
  }

  /** A whole digest arrived: its entries, then the marker `end`. */
  private onDigest(d: Digest): void {
    const end = d.end
    this.stats.digestsReceived++
    // A sender on a lossy link acknowledges; its digest entries may have
    // been reordered with another digest's, so only entries that say what
    // they vouch for (`upto`) are adopted from it.
    if (end.ack !== undefined && end.ack > this.acked) this.acked = end.ack
    // A `reply` or `final` marker ends one response of the peer to a digest
    // of ours, unless the response goes on by itself (`more` with `stream`).
    // Only such a marker may be adopted from.
    const answer = (end.reply || end.final) && this.open > 0
    if (answer) this.commit()
    // A part marker of a streamed response (`final` with `more` and `stream`)
    // only commits what its part earned.
    if (end.final && end.more && end.stream) return
    const ends = (end.reply || end.final) && !(end.more && end.stream)
    const answered = ends && this.open > 0
    if (answered) this.open--
    if (this.overflow) {
      this.overflow = false
      this.refuse(`digest longer than ${this.opts.maxDigestEntries} entries`, null)
      return
    }
    const resyncRequest = end.resync && !end.reply
    const clock = this.replica.clock
    const digest = new Map<Source, number>()
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
      // A resync request's versions are the peer's progress, not its clock.
      if (!resyncRequest && (this.peerClock.get(src) ?? 0) < e.version) this.peerClock.set(src, e.version)
    }
    // A marker ending a complete response is adopted from, unless some of it was dropped.
    const mayAdopt = answered && !end.more && this.droppedSinceDone === 0
    this.droppedSinceDone = 0

    if (end.final) {
      // Leg 3 arrived: the initiator answered our reply digest.
      if (mayAdopt) this.adopt(d.entries, end.ack !== undefined)
      return
    }
    // Legs 1 and 2 carry the peer's whole clock and floors: who is behind whom is decided here.
    let verify = false
    if (!resyncRequest) {
      this.peerLimit = this.behind(digest)
      this.selfLimit = this.ahead(d.entries)
      verify = this.verify(d.entries)
    }
    if (!end.reply) {
      const resync = resyncRequest ? digest : null
      this.owedAnswer = () => this.answer(resync, verify)
    } else {
      this.finish(d, mayAdopt)
      this.owedFinish = () => this.leg3(digest, end.more && !end.stream)
    }
    this.payDebts()
  }

  /** Whether an answer waits for room in our output (see `payDebts`). */
  get owes(): boolean {
    return this.owedAnswer !== null || this.owedFinish !== null
  }

  /**
   * Write the answers owed to the peer, as far as our output has room (or
   * regardless, when the reader just asked for more: `demand`).
   */
  payDebts(demand = false): void {
    if (this.closed) return
    if (this.owedFinish !== null && (demand || this.port.room())) {
      const f = this.owedFinish
      this.owedFinish = null
      f()
    }
    if (this.owedAnswer !== null && (demand || this.port.room())) {
      const f = this.owedAnswer
      this.owedAnswer = null
      f()
    }
  }

  /**
   * Leg 1 arrived: answer with updates, then our own digest (marked
   * `reply`; with fingerprints if the peer's carried them).
   */
  private answer(resync: Map<Source, number> | null, verify: boolean): void {
    this.upto.clear()
    const truncated = this.respond(resync)
    // A cut answer to an ordinary digest goes on by itself as the link drains.
    this.streaming = truncated && resync === null
    this.sendDigest(true, truncated, resync !== null, this.streaming, verify)
    if (this.open < 2) this.open++
  }

  /**
   * Compare the peer's per-source fingerprints (when its digest carries
   * them) with ours. A difference seen twice in a row with nothing changed
   * in between (both clocks and both fingerprints the same) is no write in
   * flight: it is real, and that source's records are sent in full.
   * Returns whether the digest carried fingerprints.
   */
  private verify(entries: DigestMsg[]): boolean {
    let carried = false
    const clock = this.replica.clock
    for (const e of entries) {
      if (e.fp === undefined) continue
      carried = true
      const src = clock.find(e.source_id, e.gen)
      if (src === undefined) continue
      const mine = src.fp.toString()
      if (mine === e.fp) {
        this.suspects.delete(src)
        continue
      }
      const what = `${src.clock}|${e.version}|${mine}|${e.fp}`
      if (this.suspects.get(src) === what) {
        this.suspects.delete(src)
        if (!this.fullSend.has(src)) this.fullSend.set(src, 0)
      } else this.suspects.set(src, what)
    }
    return carried
  }

  /** Leg 2 arrived: the responder's updates, then its digest: adopt from it (leg 3 follows). */
  private finish(d: Digest, mayAdopt: boolean): void {
    const end = d.end
    // After a resync nothing is adopted: it answered from how far the resync
    // had come, which can be above our clock; its chain links still move
    // clocks. (The responder marks the end of its answer to a resync with `resync`.)
    if (end.resync && !end.more && this.resyncing !== -1) {
      this.resyncSeen = this.resyncing
      this.resyncing = -1
    }
    if (mayAdopt && !end.resync) this.adopt(d.entries, end.ack !== undefined)
    this.awaiting = false
  }

  /**
   * Leg 3: what the responder lacks, our clock entries and the `final`
   * marker. `again`: its answer was cut and will not stream, so another
   * exchange is needed.
   */
  private leg3(digest: Map<Source, number>, again: boolean): void {
    this.upto.clear()
    const truncated = this.respond()
    this.streaming = truncated
    this.sendFinalEntries(digest, truncated)
    this.send(encodeDone(true, truncated, true, this.ackCount(), false, this.streaming))
    if (again) this.port.wantExchange()
  }

  /** The highest of our gc floors that the peer's clock (its digest) is below; 0 when none. */
  private behind(digest: Map<Source, number>): number {
    let limit = 0
    for (const src of this.replica.clock.values()) {
      if (src.gc > limit && (digest.get(src) ?? 0) < src.gc) limit = src.gc
    }
    return limit
  }

  /** The highest of the peer's gc floors that our clock is below; 0 when none. */
  private ahead(entries: DigestMsg[]): number {
    const clock = this.replica.clock
    let limit = 0
    for (const e of entries) if (e.gc > limit && e.gc > (clock.find(e.source_id, e.gen)?.clock ?? 0)) limit = e.gc
    return limit
  }

  /** Clock entries (with `upto`) for what a response just brought the peer up to. */
  private sendFinalEntries(digest: Map<Source, number> | null, cut: boolean): void {
    for (const src of this.replica.clock.values()) {
      const u = this.uptoFor(src, cut)
      const behind = digest === null ? src.clock > (this.peerClock.get(src) ?? 0) : src.clock > (digest.get(src) ?? 0)
      if (this.upto.has(src) || behind) this.send(encodeDigest(src.id, src.clock, src.gen, src.gc, u))
    }
  }

  /** Whether a cut response is waiting to go on as the link drains. */
  get streaming(): boolean {
    return this.streamingResponse
  }

  private set streaming(v: boolean) {
    this.streamingResponse = v
  }

  /**
   * Send the next part of a cut response (the link has room): from where the
   * peer stands, counting what is on its way. When nothing is left, close it
   * with our clock entries and a `final` marker.
   */
  continueStream(): void {
    if (!this.streamingResponse || this.closed) {
      this.streamingResponse = false
      return
    }
    const before = this.stats.updatesSent
    if (this.respond()) {
      // A long stream is cut into parts, so that a receiver's clock keeps up
      // with it (links move clocks only at markers).
      this.sinceMarker += this.stats.updatesSent - before
      if (this.sinceMarker >= PART) {
        this.sinceMarker = 0
        this.send(encodeDone(true, true, true, this.ackCount(), false, true))
      }
      return
    }
    this.sinceMarker = 0
    this.streamingResponse = false
    this.sendFinalEntries(null, false)
    this.send(encodeDone(true, false, true, this.ackCount()))
    this.upto.clear()
  }

  /**
   * Take on the peer's clock where the response that just ended reached us
   * whole, never above what records of each source showed us.
   */
  private adopt(entries: DigestMsg[], lossyPeer: boolean): void {
    const clock = this.replica.clock
    for (const e of entries) {
      const src = clock.find(e.source_id, e.gen)
      if (src === undefined) continue
      if (e.upto === undefined ? lossyPeer : src.clock < e.upto) continue // not vouched, or part of the response was lost
      // The peer forgot tombstones of this source that we may lack: it cannot vouch for them.
      if (e.gc > src.clock) continue
      // Never past a record this peer sent that we did not take.
      const b = this.broken.get(src.key)
      const v = b !== undefined && b <= e.version ? b - 1 : e.version
      // A source's own word about its own clock is taken whole; anyone
      // else's only as far as records of that source showed us.
      if (src.id === this.opts.peer?.id) this.replica.advance(src, v)
      else this.replica.adopt(src, v)
    }
  }

  /**
   * Send what the peer lacks; returns whether some of it was left for later.
   * Per source, records go in ascending version from the peer's floor, each
   * linked to the one before. Records up to our clock are linked in a chain
   * the receiver's clock may follow; a record held above our clock (it
   * arrived out of order), or of a source whose tombstones we forgot above
   * the peer's floor, is linked to its own version minus one, so it cannot
   * move anyone's clock across a gap.
   */
  private respond(exact: Map<Source, number> | null = null): boolean {
    const candidates: Candidate[] = []
    const floors = new Map<Source, number>()
    for (const src of this.replica.clock.values()) {
      // A resync asks from exactly its versions; otherwise from the floor.
      const f = exact !== null ? (exact.get(src) ?? 0) : this.floor(src)
      floors.set(src, f)
      const vouched = src.gc <= f && this.selfLimit <= f
      if (exact === null && vouched && f > (this.peerClock.get(src) ?? 0)) this.upto.set(src, f)
      // Records we cannot link for the peer go to it once per session; ours
      // at or below a floor of the peer's we are behind are held back.
      const start = vouched || exact !== null ? f : Math.max(f, this.unlinkedSent.get(src) ?? 0, this.selfLimit)
      const log = src.log
      if (log.size === 0 || log.maxVersion <= start) continue
      const from = log.firstAfter(start)
      // Normally only records our clock vouches for count (and may cut the
      // response); a resync takes everything.
      const count = exact !== null ? log.liveFrom(from) : log.liveFrom(from) - log.liveFrom(log.firstAfter(src.clock))
      if (count > 0) candidates.push({ src, from, count })
    }
    const sel = candidates.length === 0 ? null : selectDelta(candidates, this.opts.mtu, this.opts.order, this.opts.random)
    const recs = sel?.recs ?? []
    const resyncPrev = exact !== null ? new Map(floors) : null
    for (const rec of recs) this.sendRecord(rec, floors, resyncPrev)
    let sent = recs.length
    if (exact === null && sel?.truncated !== true) {
      sent += this.sendHeldAbove(this.opts.mtu - sent)
      sent += this.sendFull(this.opts.mtu - sent)
    }
    this.stats.updatesSent += sent
    return sel?.truncated === true
  }

  /** Send one record of a response, linked as `respond` says. */
  private sendRecord(rec: Rec, floors: Map<Source, number>, resyncPrev: Map<Source, number> | null): void {
    const src = this.replica.sourceOf(rec)
    const rprev = resyncPrev?.get(src)
    if (resyncPrev !== null) resyncPrev.set(src, rec.version)
    const prev = floors.get(src)!
    if (rec.version <= src.clock && src.gc <= prev && this.selfLimit <= prev) {
      this.send(this.opts.lossy === true || rprev !== undefined ? encodePush(rec, prev, rprev) : rec)
      floors.set(src, rec.version)
      this.noteSent(src, rec.version)
      this.upto.set(src, rec.version)
    } else {
      this.send(encodePush(rec, rec.version - 1, rprev))
      if (rec.version <= src.clock) this.unlinkedSent.set(src, rec.version)
    }
  }

  /**
   * Records held above our clock (their predecessors never reached us; after
   * a node lost its data, perhaps never will) go to each peer once per
   * session, when a response has room left, and never cut a response.
   */
  private sendHeldAbove(budget: number): number {
    let sent = 0
    const out: Rec[] = []
    for (const src of this.replica.clock.values()) {
      if (budget <= 0) break
      const log = src.log
      const floor = Math.max(src.clock, this.peerClock.get(src) ?? 0, this.heldAboveSent.get(src) ?? 0, this.selfLimit)
      if (log.size === 0 || log.maxVersion <= floor) continue
      out.length = 0
      log.take(log.firstAfter(floor), budget, out)
      for (const rec of out) {
        this.sendLinked(rec, rec.version - 1)
        this.heldAboveSent.set(src, rec.version)
      }
      budget -= out.length
      sent += out.length
    }
    return sent
  }

  /**
   * Records of sources whose fingerprints stayed different from the peer's
   * (see `verify`), all of them, unlinked, as budget allows; they never cut a
   * response, and go on in the next ones.
   */
  private sendFull(budget: number): number {
    let sent = 0
    const out: Rec[] = []
    for (const [src, upto] of this.fullSend) {
      if (budget <= 0) break
      out.length = 0
      const log = src.log
      log.take(log.firstAfter(upto), budget, out)
      for (const rec of out) if (rec.version > this.selfLimit) this.sendLinked(rec, rec.version - 1)
      budget -= out.length
      sent += out.length
      if (out.length === 0 || out[out.length - 1].version >= log.maxVersion) this.fullSend.delete(src)
      else this.fullSend.set(src, out[out.length - 1].version)
    }
    return sent
  }

  /**
   * The `upto` of a reply or final entry. On a lossy link every entry of a
   * complete response carries one (entries without it are not adopted) and
   * a cut response's carry none; on a reliable link only where the peer must
   * check that it received what we sent.
   */
  private uptoFor(src: Source, cut: boolean): number | undefined {
    if (this.opts.lossy !== true) return this.upto.get(src)
    if (cut) return undefined
    return this.upto.get(src) ?? this.peerClock.get(src) ?? 0
  }

  /**
   * Our digest; `answersResync`: it ends our answer to the peer's resync;
   * `stream`: our cut answer goes on by itself; `fingerprints`: each entry
   * carries the fingerprint of our live records of its source.
   */
  private sendDigest(reply: boolean, more: boolean, answersResync = false, stream = false, fingerprints = false): void {
    const sources = shuffle(Array.from(this.replica.clock.values()), this.opts.random)
    const resync = !reply && this.resyncing !== -1
    const fp = fingerprints && !resync
    for (const s of sources) {
      const version = resync ? (this.resyncFloor.get(s) ?? 0) : s.clock
      this.send(encodeDigest(s.id, version, s.gen, s.gc, reply ? this.uptoFor(s, more) : undefined, fp ? s.fp.toString() : undefined))
    }
    this.send(encodeDone(reply, more, false, this.ackCount(), resync || answersResync, stream))
    this.stats.digestsSent++
    // The peer answers this digest with a response (leg 2).
    if (!reply && this.open < 2) this.open++
  }
}
