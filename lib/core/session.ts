import type { Source } from './clock.ts'
import { selectDelta, type Candidate } from './delta.ts'
import { shuffle } from './random.ts'
import type { LocalListener, Replica } from './replica.ts'
import type { DeltaOrder, RandomFn, Rec } from './types.ts'
import { encodeDigest, encodeDone, encodePush, encodeReset, type DigestMsg, type Message, type ResetMsg, type WireMessage } from '../protocol/messages.ts'
import { decode, type Limits } from '../protocol/validate.ts'

/** What a session needs from the stream (or simulator) that carries it. */
export interface SessionPort {
  /** Queue a message for the peer. */
  send(msg: WireMessage): void
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
}

export interface SessionStats {
  digestsSent: number
  digestsReceived: number
  updatesSent: number
  updatesReceived: number
  pushesSent: number
  invalid: number
  /** Updates dropped because the peer was stale (behind a collected tombstone). */
  staleDropped: number
}

/**
 * The protocol with one peer, as a pure state machine: messages in, messages
 * out through `port`, no I/O of its own.
 *
 * An exchange is push-pull in three legs:
 *   1. initiator -> its digest;
 *   2. responder -> the updates the initiator lacks, then its own digest
 *      marked `reply` (and `more` if the updates were cut at `mtu`);
 *   3. initiator -> the updates the responder lacks, then the clock entries
 *      it just brought the responder up to, closed by a `final` marker.
 *
 * Invariants:
 * - `known[s]` is a version of source `s` up to which the peer holds
 *   everything (from its digests, from what this session sent it in order on
 *   this reliable, ordered link, and from what it sent us). Responses start
 *   above `max(digest, known)`, so nothing the peer holds is sent again.
 * - A source's clock advances on a response update (responses are ascending
 *   per source and suffix-truncated), to what the peer vouches for once a
 *   complete response from it ends (a `reply` or `final` marker without
 *   `more`), or on a push whose `prev` the clock already covers.
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
  private readonly known = new Map<Source, number>()
  private pending: DigestMsg[] = []
  private overflow = false
  private readonly scratch: Message[] = []
  /** Digests we sent that have not been answered by a reply digest. */
  private awaiting = 0
  private closed = false
  /**
   * The peer is behind a tombstone we collected: it may hold records that
   * were deleted, so its updates are dropped until a reset has swept it.
   */
  private peerStale = false
  /** We are behind a tombstone the peer collected: we send nothing and accept its reset. */
  private selfStale = false
  /** Per source, how far the reset of a stale peer has gone (null: no reset running). */
  private resetCursor: Map<Source, number> | null = null
  /** Keys received per source since that source's last reset marker. */
  private readonly sinceMarker = new Map<Source, Set<string>>()
  /**
   * While stale, clock advances wait here until the reset completes: a clock
   * may only claim a source once every stale record, of any source, that a
   * collected tombstone of it deleted has been swept.
   */
  private readonly deferred = new Map<Source, number>()
  /** Updates dropped from a stale peer since the last end of digest: no adopting its clock then. */
  private droppedSinceDone = 0
  /** The peer's collected-tombstone floors, from its last whole digest. */
  private peerGc = new Map<Source, number>()

  constructor(
    private readonly replica: Replica,
    private readonly port: SessionPort,
    private readonly opts: SessionOptions,
  ) {
    replica.subscribe(this)
  }

  /** Begin an exchange: send our digest. */
  start(): void {
    if (this.closed) return
    // The peer answers our digest knowing our gc floors, and holds its
    // updates back itself if it is stale; whether it is stale in our eyes is
    // decided again from the digest it sends after them.
    this.peerStale = false
    this.droppedSinceDone = 0
    this.sendDigest(false, false)
    this.awaiting++
  }

  /** Whether an exchange we started is still waiting for the peer's reply digest. */
  get inFlight(): boolean {
    return this.awaiting > 0
  }

  /** Feed one untrusted object from the peer. Never throws for bad input. */
  receive(obj: unknown): void {
    if (this.closed) return
    const msgs = this.scratch
    msgs.length = 0
    const reason = decode(obj, this.opts.limits, msgs)
    if (reason !== null) {
      this.stats.invalid++
      this.port.invalid(reason, obj)
      return
    }
    for (let i = 0; i < msgs.length; i++) this.handle(msgs[i])
  }

  /** Feed one validated message. */
  handle(msg: Message): void {
    if (this.closed) return
    switch (msg.type) {
      case 'update':
        this.onUpdate(msg.rec, msg.prev)
        return
      case 'digest':
        if (this.pending.length >= this.opts.maxDigestEntries) this.overflow = true
        else this.pending.push(msg)
        return
      case 'done':
        this.onDone(msg.reply, msg.more, msg.final)
        return
      case 'reset':
        this.onReset(msg)
        return
    }
  }

  /** A local write: push it now if the peer is known to hold our previous one. */
  pushLocal(rec: Rec, prev: number): boolean {
    if (this.closed) return true
    if (this.selfStale) return this.port.room()
    const self = this.replica.self
    // Not known to hold our previous write (or no exchange yet told us what
    // the peer holds): the next exchange carries this one.
    const k = this.known.get(self)
    if (k === undefined || k < prev) return this.port.room()
    if (!this.port.room()) {
      this.port.wantExchange()
      return false
    }
    this.port.send(encodePush(rec, prev))
    this.known.set(self, rec.version)
    this.stats.pushesSent++
    return true
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

  private onUpdate(rec: Rec, prev: number | undefined): void {
    this.stats.updatesReceived++
    if (this.peerStale) {
      this.stats.staleDropped++
      this.droppedSinceDone++
      return
    }
    const replica = this.replica
    const src = replica.sourceOf(rec)
    // Share one copy of the id: records from a parser each carry their own.
    ;(rec as { source_id: string }).source_id = src.id
    replica.applyRemote(rec, src)
    if (prev === undefined) {
      // A response update: the responder sent every record of this source
      // between our digest and this one, and vouches for all of them.
      if (this.selfStale) {
        this.defer(src, rec.version)
        let keys = this.sinceMarker.get(src)
        if (keys === undefined) this.sinceMarker.set(src, (keys = new Set()))
        keys.add(rec.key)
      } else if (this.stats.digestsSent > 0) {
        replica.advance(src, rec.version)
      }
    } else if (src.clock >= prev) {
      replica.advance(src, rec.version)
    }
  }

  /**
   * End of a reset chunk: the peer sent all its records of the source in
   * (from, to]. Ours in that range that it did not send were deleted there
   * (their tombstone is gone): drop them. Only a node that is stale with
   * respect to this peer accepts a reset.
   */
  private onReset(m: ResetMsg): void {
    if (!this.selfStale) {
      this.stats.invalid++
      this.port.invalid('reset from a peer we are not stale with', m)
      return
    }
    const replica = this.replica
    const src = replica.clock.intern(m.source_id, m.gen)
    const kept = this.sinceMarker.get(src)
    this.sinceMarker.delete(src)
    const log = src.log
    const doomed: Rec[] = []
    const found: Rec[] = []
    let slot = log.firstAfter(m.from)
    while (true) {
      found.length = 0
      slot = log.take(slot, 1, found)
      const r = found[0]
      if (r === undefined || r.version > m.to) break
      if (kept === undefined || !kept.has(r.key)) doomed.push(r)
    }
    for (const r of doomed) replica.dropForReset(r)
    this.defer(src, m.to)
  }

  private defer(src: Source, version: number): void {
    if ((this.deferred.get(src) ?? 0) < version) this.deferred.set(src, version)
  }

  private onDone(reply: boolean, more: boolean, final: boolean): void {
    this.stats.digestsReceived++
    const entries = this.pending
    this.pending = []
    this.sinceMarker.clear()
    if (this.overflow) {
      this.overflow = false
      this.stats.invalid++
      this.port.invalid(`digest longer than ${this.opts.maxDigestEntries} entries`, null)
      return
    }
    const clock = this.replica.clock
    const known = this.known
    const digest = new Map<Source, number>()
    // Entries of a marker that ends a complete response are adopted below, so
    // a source we have never seen is registered then; otherwise it is skipped
    // (nothing of it is held here, so there is nothing to send).
    const adopting = (reply || final) && !more
    let selfStale = false
    const peerGc = new Map<Source, number>()
    for (const e of entries) {
      const src = adopting || e.gc > 0 ? clock.intern(e.source_id, e.gen) : clock.find(e.source_id, e.gen)
      if (e.gc > (src?.clock ?? 0)) selfStale = true
      if (src === undefined) continue
      if (e.gc > 0) peerGc.set(src, e.gc)
      digest.set(src, e.version)
      if ((known.get(src) ?? 0) < e.version) known.set(src, e.version)
    }

    if (final) {
      // Leg 3 arrived: the initiator answered our reply digest. After a
      // reset, the markers already moved our clocks exactly as far as the
      // reset went, so nothing is adopted then.
      if (!more && !this.peerStale && !this.selfStale && this.droppedSinceDone === 0) this.adoptKnown()
      this.droppedSinceDone = 0
      if (!more) {
        // The peer's whole response (a reset, when it saw us stale) is in.
        for (const [src, v] of this.deferred) this.replica.advance(src, v)
        this.deferred.clear()
        this.selfStale = false
      }
      this.inheritGc()
      return
    }
    this.peerGc = peerGc
    // Legs 1 and 2 carry the peer's whole clock: staleness is decided here.
    let peerStale = this.isBehind(digest)
    if (selfStale && peerStale) {
      // Each side collected tombstones the other never saw. One must yield
      // or neither would move: the side whose newest collected tombstone is
      // older yields (on a tie, both wait).
      const mine = this.maxGc()
      let theirs = 0
      for (const e of entries) if (e.gc > theirs) theirs = e.gc
      if (mine > theirs) selfStale = false
      else if (theirs > mine) peerStale = false
    }
    this.selfStale = selfStale
    this.peerStale = peerStale
    if (!peerStale) this.resetCursor = null

    if (!reply) {
      // Leg 1 arrived: answer with updates, then our own digest. A stale
      // side sends nothing (and says `more`, so nothing is adopted); the
      // healthy side starts its own exchange to reset the stale one.
      const holdBack = this.selfStale || this.peerStale
      const truncated = holdBack ? true : this.respond(digest)
      this.sendDigest(true, truncated)
      if (this.peerStale) this.port.wantExchange()
      return
    }
    // Leg 2 arrived: the responder's updates, then its digest.
    if (!more && !this.peerStale && !this.selfStale && this.droppedSinceDone === 0) this.adoptKnown()
    this.droppedSinceDone = 0
    this.inheritGc()
    const truncated = this.selfStale ? true : this.peerStale ? this.respondReset() : this.respond(digest)
    const port = this.port
    if (!this.selfStale) {
      for (const src of clock.values()) {
        if (src.clock > (digest.get(src) ?? 0)) port.send(encodeDigest(src.id, src.clock, src.gen))
      }
    }
    port.send(encodeDone(true, truncated, true))
    if (this.awaiting > 0) this.awaiting--
    if ((truncated && !this.selfStale) || (more && !this.selfStale)) port.wantExchange()
  }

  /**
   * Where our clock has caught up with a peer's collected-tombstone floor, we
   * take the floor on: we may have caught up through that peer, which no
   * longer holds those tombstones, so we must not let anyone below the floor
   * pass for current either.
   */
  private inheritGc(): void {
    for (const [src, g] of this.peerGc) if (src.clock >= g && src.gc < g) src.gc = g
  }

  private maxGc(): number {
    let m = 0
    for (const src of this.replica.clock.values()) if (src.gc > m) m = src.gc
    return m
  }

  /** The peer's clock (its digest) is below a tombstone we collected. */
  private isBehind(digest: Map<Source, number>): boolean {
    for (const src of this.replica.clock.values()) {
      if (src.gc > 0 && (digest.get(src) ?? 0) < src.gc) return true
    }
    return false
  }

  /**
   * Send a stale peer the next chunk of a reset: for every source, all our
   * records up to our clock, in version ranges, each range closed by a marker
   * telling the peer to drop what it holds in the range and we did not send.
   * Returns whether more chunks remain.
   */
  private respondReset(): boolean {
    const clock = this.replica.clock
    if (this.resetCursor === null) {
      this.resetCursor = new Map()
      for (const src of clock.values()) if (src.clock > 0) this.resetCursor.set(src, 0)
    }
    const port = this.port
    let budget = this.opts.mtu
    const recs: Rec[] = []
    for (const [src, from] of this.resetCursor) {
      const log = src.log
      const start = log.firstAfter(from)
      const count = log.liveFrom(start) - log.liveFrom(log.firstAfter(src.clock))
      if (count > 0 && budget === 0) break
      const n = Math.min(count, budget)
      recs.length = 0
      log.take(start, n, recs)
      for (const r of recs) port.send(r)
      this.stats.updatesSent += n
      budget -= n
      const to = n === count ? src.clock : recs[n - 1].version
      port.send(encodeReset(src.id, src.gen, from, to))
      // The peer's clock for the source moves to `to` at the marker.
      if ((this.known.get(src) ?? 0) < to) this.known.set(src, to)
      if (to >= src.clock) this.resetCursor.delete(src)
      else this.resetCursor.set(src, to)
    }
    if (this.resetCursor.size > 0) return true
    // The peer sweeps as it reads this: from here on it is current.
    this.resetCursor = null
    this.peerStale = false
    return false
  }

  /**
   * The peer just finished a complete response: everything it vouched for
   * (its clock, as known here) is now held here too.
   */
  private adoptKnown(): void {
    for (const [src, v] of this.known) this.replica.advance(src, v)
  }

  /**
   * Send what the peer lacks; returns whether some of it was left for later.
   * Records up to a source's clock go as response updates (the receiver's
   * clock may follow them); a record held above the clock (it arrived out of
   * order) goes as a push that cannot move the receiver's clock past a gap.
   */
  private respond(digest: Map<Source, number>): boolean {
    const candidates: Candidate[] = []
    const known = this.known
    const idle: Source[] = []
    for (const src of this.replica.clock.values()) {
      const d = digest.get(src) ?? 0
      const k = known.get(src) ?? 0
      const floor = d > k ? d : k
      const log = src.log
      let count = 0
      let from = 0
      if (log.size > 0 && log.maxVersion > floor) {
        from = log.firstAfter(floor)
        count = log.liveFrom(from)
      }
      if (count > 0) candidates.push({ src, from, count })
      else if (src.clock > k || !known.has(src)) idle.push(src)
    }
    const sel = candidates.length === 0 ? null : selectDelta(candidates, this.opts.mtu, this.opts.order, this.opts.random)
    if (sel !== null) {
      const port = this.port
      for (const rec of sel.recs) {
        const src = this.replica.sourceOf(rec)
        if (rec.version <= src.clock) {
          port.send(rec)
          if ((known.get(src) ?? 0) < rec.version) known.set(src, rec.version)
        } else {
          // Held above what the clock vouches for (it arrived out of order):
          // sent, but as a push whose predecessor is the version just below,
          // so the receiver's clock cannot jump a gap on our word.
          port.send(encodePush(rec, rec.version - 1))
        }
      }
      this.stats.updatesSent += sel.recs.length
      if (sel.truncated) return true
    }
    // A complete response: once the peer reads the marker that ends it (our
    // reply digest, or our final), it adopts our clock for every source.
    for (const src of idle) known.set(src, src.clock)
    for (const c of candidates) if ((known.get(c.src) ?? 0) < c.src.clock) known.set(c.src, c.src.clock)
    return false
  }

  private sendDigest(reply: boolean, more: boolean): void {
    const sources = shuffle(Array.from(this.replica.clock.values()), this.opts.random)
    const port = this.port
    for (const s of sources) port.send(encodeDigest(s.id, s.clock, s.gen, s.gc))
    port.send(encodeDone(reply, more))
    this.stats.digestsSent++
  }
}
