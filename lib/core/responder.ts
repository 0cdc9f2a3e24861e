import type { Source } from './clock.ts'
import { selectDelta, type Candidate } from './delta.ts'
import type { PeerView } from './peer-view.ts'
import type { Replica } from './replica.ts'
import type { DeltaOrder, RandomFn, Rec } from './types.ts'
import { encodeDigest, encodePush, type WireMessage } from '../protocol/messages.ts'

/**
 * Answering a peer from state (ALGORITHM.md rules 1 and 2).
 *
 * Per source, records go in ascending version from the peer's floor, and
 * only a suffix is left for later. A record is *vouched* (linked in a chain
 * the receiver's clock may follow) when our clock covers it and we forgot
 * no tombstone of its source above the floor (`gc`), nor are we behind the
 * peer's floors (`hold`); otherwise it goes linked to its own version minus
 * one, so it cannot move anyone's clock across a gap, nor across a
 * record we passed over without holding it (a hole: holes.ts).
 */

/** The records a peer lacks, source by source, from the floors given. */
export interface Planned {
  readonly candidates: Candidate[]
  /** Records that wanted to go out (vouched ones; those held above our clock never count). */
  readonly total: number
}

/**
 * `floorOf(src)`: what the peer holds of `src`. `exact`: a resync asks from
 * exactly its floors and takes everything; `hold`: our records at or below
 * it are not vouched for, and those of other sources than our own are held
 * back; `sentOf(src)`: how far unvouched records already went.
 */
export function plan(replica: Replica, floorOf: (src: Source) => number, exact: boolean, hold: number, sentOf: (src: Source) => number): Planned {
  const candidates: Candidate[] = []
  let total = 0
  for (const src of replica.clock.values()) {
    const f = floorOf(src)
    const start = exact || (src.gc <= f && hold <= f && !replica.clock.holes.above(src, f)) ? f : Math.max(f, sentOf(src), src === replica.self ? 0 : hold)
    const log = src.log
    if (log.size === 0 || log.maxVersion <= start) continue
    const from = log.firstAfter(start)
    const count = exact ? log.liveFrom(from) : log.liveFrom(from) - log.liveFrom(log.firstAfter(src.clock))
    if (count > 0) {
      candidates.push({ src, from, count })
      total += count
    }
  }
  return { candidates, total }
}

/**
 * Records held above our clock (their predecessors never reached us; after
 * a node lost its data, perhaps never will), from `startOf(src)` on, at most
 * `budget`, to `out`; returns how many.
 */
export function heldAbove(replica: Replica, startOf: (src: Source) => number, budget: number, out: (rec: Rec, src: Source) => void): number {
  let sent = 0
  const recs: Rec[] = []
  for (const src of replica.clock.values()) {
    if (budget <= 0) break
    const log = src.log
    const floor = Math.max(src.clock, startOf(src))
    if (log.size === 0 || log.maxVersion <= floor) continue
    recs.length = 0
    log.take(log.firstAfter(floor), budget, recs)
    for (const rec of recs) out(rec, src)
    budget -= recs.length
    sent += recs.length
  }
  return sent
}

/** Lossy links: the wait before the forgotten tombstones go to a peer again, from its least to its most (ms). */
export const FORGOTTEN_RESEND_MIN_MS = 60_000
export const FORGOTTEN_RESEND_MAX_MS = 64 * 60_000

/** Where a responder writes. */
export interface Outgoing {
  send(msg: WireMessage): void
  sendLinked(rec: Rec, prev: number): void
}

export interface ResponderOptions {
  readonly mtu: number
  readonly order: DeltaOrder
  readonly random: RandomFn
  readonly lossy: boolean
}

/**
 * The responses of one session, over what the session knows of its peer.
 * Beyond the rules above: records held above our clock go to the peer once
 * per session when a response has room left; records of sources found
 * different by verification (`full`) go in full, unlinked, likewise.
 */
export class Responder {
  /** Remembered forgotten tombstones still to offer a peer behind our floors (`sendForgotten`); null once all were. */
  private forgotten: IterableIterator<Rec> | null | undefined = undefined
  /** Lossy links: when the last pass over them ended (`replica.timeMs()`), and the wait before the next (0 before the first ended). */
  private forgottenAt = -Infinity
  private forgottenWait = 0
  /**
   * Per source to send in full (unlinked), how far it went: every record
   * below version `v` and the first `k` at `v` (a writer that reused a
   * version has several records there; a cut between them must not skip one).
   */
  private readonly full = new Map<Source, { v: number; k: number }>()

  constructor(
    private readonly replica: Replica,
    private readonly view: PeerView,
    private readonly opts: ResponderOptions,
    private readonly out: Outgoing,
  ) {}

  /** Whether records of `src` are held back from the peer (at or below `selfLimit`; never our own): only a full send offers them. */
  heldBack(src: Source): boolean {
    const log = src.log
    const hold = this.view.holdOf(src, this.replica.self)
    return hold > 0 && log.size > 0 && log.liveFrom(0) > log.liveFrom(log.firstAfter(hold))
  }

  /**
   * Send what the peer lacks (from exactly `exact`'s floors, for a resync);
   * returns how many records went, whether some were left for later, and
   * how many wanted to go (the candidates before the MTU cut).
   */
  respond(exact: Map<Source, number> | null): { sent: number; truncated: boolean; wanted: number } {
    const view = this.view
    const hold = view.selfLimit
    const floors = new Map<Source, number>()
    const floorOf = (src: Source): number => {
      const f = exact !== null ? (exact.get(src) ?? 0) : view.floor(src)
      floors.set(src, f)
      if (exact === null && src.gc <= f && hold <= f && f > (view.claimed.get(src) ?? 0)) view.upto.set(src, f)
      return f
    }
    const { candidates, total } = plan(this.replica, floorOf, exact !== null, hold, (src) => view.unlinkedSent.get(src) ?? 0)
    const sel = candidates.length === 0 ? null : selectDelta(candidates, this.opts.mtu, this.opts.order, this.opts.random)
    const recs = sel?.recs ?? []
    const rprevs = exact !== null ? new Map(floors) : null
    for (const rec of recs) this.sendRecord(rec, floors, rprevs)
    let sent = recs.length
    const truncated = sel?.truncated === true
    if (exact === null && !truncated) {
      const budget = () => this.opts.mtu - sent
      sent += heldAbove(this.replica, (src) => Math.max(view.claimed.get(src) ?? 0, view.heldAboveSent.get(src) ?? 0, view.holdOf(src, this.replica.self)), budget(), (rec, src) => {
        this.out.sendLinked(rec, rec.version - 1)
        view.heldAboveSent.set(src, rec.version)
      })
      sent += this.sendFull(budget())
      if (view.peerLimit > 0) sent += this.sendForgotten(budget())
    }
    return { sent, truncated, wanted: total }
  }

  /**
   * Clock entries (with `upto`) for what a response just brought the peer
   * up to. `askOwn`: we are getting our own earlier records back
   * (self-recovery.ts), so our own source is claimed at 0, as in our digests.
   * `fingerprints`: every source's entry, with its fingerprint (the final
   * of an exchange that verifies: the peer compares after our response).
   */
  finalEntries(digest: Map<Source, number> | null, cut: boolean, askOwn: boolean, fingerprints = false): void {
    const view = this.view
    for (const src of this.replica.clock.values()) {
      const u = view.uptoFor(src, cut, src === this.replica.self)
      if (askOwn && src === this.replica.self) {
        this.out.send(encodeDigest(src.id, 0, src.gen, src.gc, u))
        continue
      }
      const v = this.replica.clock.holes.vouched(src)
      const behind = digest === null ? v > (view.claimed.get(src) ?? 0) : v > (digest.get(src) ?? 0)
      if (view.upto.has(src) || behind || fingerprints) this.out.send(encodeDigest(src.id, v, src.gen, src.gc, u, fingerprints ? src.fp.toString() : undefined))
    }
  }

  /**
   * The peer is behind our gc floors: it may hold records that tombstones
   * we forgot deleted, and no chain from us takes it past them (only their
   * writer's can, and the writer may not be its peer). So the forgotten
   * tombstones we still remember go to it, those of sources it is behind
   * on and above what it holds of them, unlinked (they move no clock):
   * the deletes reach it whoever its peers are. One pass per session, over
   * a live cursor; in a signed cluster, only those that kept a signature.
   * On a lossy link, where some are lost and nothing says which, the pass
   * starts again once a wait has passed since the last one ended: 60 s,
   * doubling with each pass up to 64 min (on `replica.timeMs()`).
   */
  private sendForgotten(budget: number): number {
    if (this.forgotten === null && this.opts.lossy && this.replica.timeMs() - this.forgottenAt >= this.forgottenWait) this.forgotten = undefined
    if (this.forgotten === undefined) this.forgotten = this.replica.collected.values()
    let sent = 0
    while (this.forgotten !== null && sent < budget) {
      const next = this.forgotten.next()
      if (next.done === true) this.passEnded()
      else if (this.forgottenDue(next.value)) {
        this.out.sendLinked(next.value, next.value.version - 1)
        sent++
      }
    }
    return sent
  }

  /**
   * A live record of the peer's was not taken, of a key we hold nothing of:
   * when we remember a forgotten tombstone of that key (it beat the record),
   * the tombstone goes to the peer, unlinked (it moves no clock), so the
   * peer's copy of the deleted key goes too, whether or not the peer is
   * behind our floors (a writer may have told it its clock covered the
   * delete). In a signed cluster, only one that kept its signature. One
   * tombstone per record the peer sent: a peer cannot make us send more
   * than it does. Returns whether one went.
   */
  answerBeaten(rec: Rec): boolean {
    if (rec.deleted === true || this.replica.record(rec.key) !== undefined) return false
    const t = this.replica.collected.get(rec.key)
    if (t === undefined || (t.sig === undefined && this.replica.verifies)) return false
    this.out.sendLinked(t, t.version - 1)
    return true
  }

  /** A pass over the forgotten tombstones ended: the next waits (lossy links), twice as long as the last. */
  private passEnded(): void {
    this.forgotten = null
    this.forgottenAt = this.replica.timeMs()
    this.forgottenWait = this.forgottenWait === 0 ? FORGOTTEN_RESEND_MIN_MS : Math.min(2 * this.forgottenWait, FORGOTTEN_RESEND_MAX_MS)
  }

  private forgottenDue(t: Rec): boolean {
    const src = this.replica.clock.find(t.source_id, t.gen)
    if (src === undefined || (t.sig === undefined && this.replica.verifies)) return false
    const f = this.view.floor(src)
    return src.gc > f && t.version > f
  }

  /** One record of a response, linked as the rules say. */
  private sendRecord(rec: Rec, floors: Map<Source, number>, rprevs: Map<Source, number> | null): void {
    const view = this.view
    const src = this.replica.sourceOf(rec)
    const rprev = rprevs?.get(src)
    if (rprevs !== null) rprevs.set(src, rec.version)
    const prev = floors.get(src)!
    if (rec.version <= src.clock && src.gc <= prev && view.selfLimit <= prev && !this.replica.clock.holes.between(src, prev, rec.version)) {
      this.out.send(this.opts.lossy || rprev !== undefined ? encodePush(rec, prev, rprev) : rec)
      floors.set(src, rec.version)
      view.noteSent(src, rec.version)
      view.upto.set(src, rec.version)
    } else {
      this.out.send(encodePush(rec, rec.version - 1, rprev))
      if (rec.version <= src.clock) view.unlinkedSent.set(src, rec.version)
    }
  }

  /** Send these sources in full from the next response on; whether there were any. */
  sendInFull(sources: readonly Source[]): boolean {
    for (const src of sources) if (!this.full.has(src)) this.full.set(src, { v: 0, k: 0 })
    return sources.length > 0
  }

  /** Records of the sources in `full`, all of them, unlinked, within `budget`; they go on in later responses. */
  private sendFull(budget: number): number {
    let sent = 0
    const recs: Rec[] = []
    for (const [src, at] of this.full) {
      if (budget <= 0) break
      recs.length = 0
      const log = src.log
      const budget0 = budget
      log.take(log.firstAt(at.v), budget + at.k, recs)
      const skip = Math.min(at.k, recs.length)
      // Even those held back (`holdOf`): the peer refuses the ones its forgotten tombstones beat, by key.
      for (let i = skip; i < recs.length; i++) this.out.sendLinked(recs[i], recs[i].version - 1)
      budget -= recs.length - skip
      sent += recs.length - skip
      if (recs.length < budget0 + at.k) {
        // The log's end was reached.
        this.full.delete(src)
        continue
      }
      // `recs` began at the first record of version `at.v`: the records at its last version are all counted in it.
      const last = recs[recs.length - 1].version
      let k = 0
      for (const r of recs) if (r.version === last) k++
      this.full.set(src, { v: last, k })
    }
    return sent
  }
}
