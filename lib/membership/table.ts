/**
 * The member table: every life (id, generation) this node knows, its
 * record, its heartbeat and what the failure detector makes of it.
 *
 * - Records are written only by their owner (a node writes its own record,
 *   and a signed cluster refuses any record not signed by its id's key).
 *   No record, and no message at all, says that another node is dead:
 *   death is this node's own conclusion from the silence of the heartbeats.
 * - A peer's word cannot end a life this node holds alive. A record that
 *   says `left`, or a later generation that would replace the life, is
 *   taken only when it is signed (signed clusters) or arrives from the
 *   node itself, on its own link (`direct`); relayed unsigned, it waits
 *   until this node holds the member dead by its own detector.
 * - An earlier generation than a life held or buried is over, unless it
 *   shows otherwise. Generations are start times, and any peer can relay
 *   a later one (within the clock offset) that no node lived: taken while
 *   the member is not held alive, it would otherwise keep the member's
 *   real life out until its burial expires. So an earlier life comes back
 *   (the later one buried, the earlier spared) on the word of the member
 *   itself, on its own link, over a life the member never confirmed there
 *   (`confirmed`); or, over a life held dead or buried, by its counter
 *   rising `REVIVE_RISES` times (graveyard.ts), which no laggard's does.
 *   Invariant: what a relay says of a member never outranks what the
 *   member says of itself on its own link, nor its rising heartbeats.
 * - Heartbeats are counters a node raises every round; this node learns
 *   them directly or through others, and each rise is an arrival for the
 *   detector. Every rise gets a local sequence number (beat-log.ts), so
 *   that the heartbeats a peer has not been sent yet are found in O(changes).
 *   Bytes from the member itself on its own link end its silence too, for
 *   a bounded time past its last arrival (`heardFrom`, detector.ts).
 * - Dead and left members are kept `grace` ms, then collected; a collected
 *   life is buried (see graveyard.ts) so that no laggard resurrects it,
 *   while a new generation of the same id joins. Past half the grace period
 *   they leave the summary, so nodes stop spreading them.
 * - The summary is the XOR of 64-bit hashes of the records in it
 *   (summary.ts): equal summaries, equal records.
 * - Records are held with their metadata as text (held-record.ts): what a
 *   peer can make the table hold grows with the bytes it sent, not with
 *   the objects they parse into.
 */
import { ArrivalWindow, verdict } from './detector.ts'
import { Graveyard, risen, watch, type Watch } from './graveyard.ts'
import { heldRecord, hold, memberOf, metaText, type RecordFields } from './held-record.ts'
import { bucketHash, MAX_MEMBER_V, OWN_CHANGES, signatureProblem } from './record.ts'
import { BeatLog } from './beat-log.ts'
import { RecordSummary } from './summary.ts'
import type { Beats, DetectorOptions, Member, MemberEventKind, MemberLimits, MemberRecord, MemberState } from './types.ts'

export interface TableOptions {
  readonly detector: DetectorOptions
  readonly limits: MemberLimits
  /** Dead and left members are kept this long (ms), then collected. */
  readonly grace: number
  /** A collected life is remembered (refused) this long, ms. */
  readonly buryFor: number
  /** Sign this node's records (signed clusters). */
  readonly sign?: (r: MemberRecord) => string
  /** Check a peer's record signature; when set, unsigned records are refused. */
  readonly verify?: (r: MemberRecord) => boolean
}

/** What this node holds about one member. */
export interface MemberEntry {
  record: MemberRecord
  hb: number
  /** Local sequence number of the last heartbeat rise. */
  seq: number
  /** The link the last rise came from (not sent back there). */
  from: unknown
  state: MemberState
  since: number
  readonly window: ArrivalWindow
  inSummary: boolean
  h0: number
  h1: number
  /** Hash of the id that picks its bucket. */
  readonly slot: number
  /** A record of this life arrived from the member itself, on its own link. */
  confirmed: boolean
  /** While it is dead or left: an earlier life's counter, watched (see the rule on earlier generations). */
  lower: Watch | null
}

/** Outcome of a record from a peer. */
export type RecordOutcome = 'applied' | 'known' | 'stale' | 'buried' | 'full' | 'refuted' | 'unsigned' | 'bad signature' | 'not ours' | 'not authority'

export type MemberListener = (kind: MemberEventKind, member: Member, reason: string) => void

export interface TableStats {
  recordsApplied: number
  recordsRefused: number
  beatsApplied: number
  /** Records or heartbeats of this node's own life that claimed more than it wrote (forged), answered by a higher one (or its next generation). */
  refuted: number
  collected: number
}

export { MAX_BUCKETS } from './summary.ts'

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

export class MemberTable {
  readonly selfId: string
  readonly stats: TableStats = { recordsApplied: 0, recordsRefused: 0, beatsApplied: 0, refuted: 0, collected: 0 }
  onEvent: MemberListener | null = null
  /** Called when this node moved to a new generation (`renew`): its record, to be sent to every peer at once. */
  onRenew: ((rec: MemberRecord) => void) | null = null
  private readonly entries = new Map<string, MemberEntry>()
  private readonly self: MemberEntry
  private readonly graveyard: Graveyard
  /** Heartbeat rises in order: the entries and the sequence numbers they rose at. */
  private readonly log = new BeatLog<MemberEntry>()
  private readonly sums = new RecordSummary()
  /** Ids whose buried life came back by its heartbeats, until its record is taken again. */
  private readonly revived = new Set<string>()

  constructor(self: { id: string; gen: number; addr: string; meta?: MemberRecord['meta'] }, readonly opts: TableOptions, now: number) {
    this.selfId = self.id
    this.graveyard = new Graveyard(opts.buryFor, opts.limits.maxMembers)
    const record = this.signed({ id: self.id, gen: self.gen, v: 1, addr: self.addr, st: 'up' }, self.meta === undefined ? undefined : JSON.stringify(self.meta))
    this.self = { record, hb: 0, seq: 0, from: null, state: 'alive', since: now, window: new ArrivalWindow(), inSummary: false, h0: 0, h1: 0, slot: bucketHash(self.id), confirmed: true, lower: null }
    this.entries.set(self.id, this.self)
    this.include(this.self)
  }

  get selfRecord(): MemberRecord {
    return this.self.record
  }

  get heartbeat(): number {
    return this.self.hb
  }

  get size(): number {
    return this.entries.size
  }

  /** The latest local sequence number (a peer sent everything up to it is up to date). */
  get seq(): number {
    return this.log.seq
  }

  get(id: string): MemberEntry | undefined {
    return this.entries.get(id)
  }

  all(): IterableIterator<MemberEntry> {
    return this.entries.values()
  }

  /** This node's heartbeat rises: once a round. */
  beat(): void {
    this.self.hb++
    this.rose(this.self, null)
  }

  /** Heartbeats from a peer (`from` tags its link); returns how many rose. */
  applyBeats(beats: Readonly<Beats>, now: number, from: unknown): number {
    let rose = 0
    const d = this.opts.detector
    for (let i = 0; i + 2 < beats.length; i += 3) {
      const n = beats[i + 2] as number
      const gen = beats[i + 1] as number
      const e = this.entries.get(beats[i] as string)
      if (e === undefined) {
        if (this.graveyard.size > 0 && this.graveyard.beat(beats[i] as string, gen, n)) this.revive(beats[i] as string)
        continue
      }
      if (e.record.gen !== gen) {
        if (gen < e.record.gen && (e.state === 'dead' || e.state === 'left') && e !== this.self) e.lower = watch(e.lower, gen, n)
        continue
      }
      if (n < e.hb) continue
      if (n === e.hb) {
        // The peer holds what we hold: no need to send it this one.
        if (e.seq > 0) e.from = from
        continue
      }
      if (e === this.self) {
        // Only this node raises its counter: a higher one is forged. Catch up with it: the next beat rises above it.
        this.self.hb = n
        this.stats.refuted++
        continue
      }
      e.hb = n
      this.rose(e, from)
      rose++
      if (e.state === 'alive') e.window.arrival(now, d)
      else if (e.state === 'dead') {
        // The silence that made it dead is no interval between heartbeats: count afresh from now.
        e.window.start(now)
        this.change(e, 'alive', now, 'up', 'heartbeats resumed')
      } else if (e.state === 'suspect') {
        e.window.arrival(now, d)
        this.change(e, 'alive', now, null, '')
      }
    }
    this.stats.beatsApplied += rose
    return rose
  }

  /**
   * Bytes came at `now` from member `id` itself, on a link whose identity
   * the caller trusts as the member's (the transport's rule): a sign of
   * life, no heartbeat (detector.ts). It keeps a member held alive or
   * suspect from being judged silent while its heartbeats wait behind its
   * data, up to `heardBound` past its last one (a member whose membership
   * stalled while its replica answers is then judged on its heartbeats);
   * it brings back no member held dead or left (its heartbeats do).
   */
  heardFrom(id: string, now: number): void {
    const e = this.entries.get(id)
    if (e !== undefined && e !== this.self && (e.state === 'alive' || e.state === 'suspect')) e.window.heard(now)
  }

  /**
   * The heartbeats that rose after `mark` (a sequence number), except those
   * that came from `from`; at most `max`. Returns them and the new mark.
   */
  beatsSince(mark: number, from: unknown, max: number): { beats: Beats; mark: number } {
    return this.log.since(mark, from, max)
  }

  /**
   * A record from a peer: validated already (readRecord); checked here
   * against what is held. `direct`: it arrived from the node it describes,
   * on that node's own link (see the authority rule above).
   */
  applyRecord(rec: MemberRecord, now: number, direct = false): RecordOutcome {
    const e = this.entries.get(rec.id)
    if (e === this.self) return this.aboutSelf(rec)
    // An earlier life comes back on its member's own word, or by its rising counter (see the rule above).
    const owner = direct && rec.st === 'up'
    if (this.graveyard.holds(rec.id, rec.gen, owner)) return this.refused('buried')
    const earlier = e !== undefined && rec.gen < e.record.gen
    if (earlier && !(owner && !e.confirmed) && !(rec.st === 'up' && (e.state === 'dead' || e.state === 'left') && risen(e.lower, rec.gen))) return this.refused('stale')
    if (e !== undefined && rec.gen === e.record.gen && rec.v <= e.record.v) {
      if (direct) e.confirmed = true
      return 'known'
    }
    if (e === undefined && this.entries.size >= this.opts.limits.maxMembers) return this.refused('full')
    const sigBad = signatureProblem(this.opts.verify, rec)
    if (sigBad !== null) return this.refused(sigBad)
    if (e !== undefined && !direct && this.opts.verify === undefined && ends(e, rec)) return this.refused('not authority')
    this.stats.recordsApplied++
    if (e !== undefined && rec.gen === e.record.gen) {
      this.exclude(e)
      e.record = hold(rec)
      if (direct) e.confirmed = true
      if (!(e.state === 'dead' || e.state === 'left') || now - e.since < this.opts.grace / 2) this.include(e)
      if (rec.st === 'left' && e.state !== 'left') this.change(e, 'left', now, 'leave', 'left the cluster')
      else if (rec.st === 'up' && e.state === 'left') {
        this.change(e, 'alive', now, 'up', 'its record says up again')
      }
      return 'applied'
    }
    let reason = 'new member'
    if (earlier) {
      // The member's real life, back over a later one that was not its own: that one is buried, this one spared.
      const how = owner ? 'its own record, on its own link' : 'its heartbeats rose'
      reason = `generation ${rec.gen}, not ${e.record.gen} (${how})`
      this.remove(e)
      this.graveyard.bury(rec.id, e.record.gen, now, e.hb, { confirmed: e.confirmed, alive: rec.gen })
      this.emit('leave', e, now, `replaced by generation ${rec.gen} (${how})`)
    } else if (e !== undefined) {
      // A later life of a known id: the earlier one is over, and buried.
      reason = `restarted (generation ${rec.gen} after ${e.record.gen})`
      this.remove(e)
      this.graveyard.bury(rec.id, e.record.gen, now, e.hb, { confirmed: e.confirmed })
      this.emit('leave', e, now, `restarted as generation ${rec.gen}`)
    } else if (this.revived.delete(rec.id)) {
      reason = 'back: its heartbeats rose past where it was collected'
    }
    if (owner) this.graveyard.spare(rec.id, rec.gen)
    const fresh: MemberEntry = { record: hold(rec), hb: 0, seq: 0, from: null, state: rec.st === 'left' ? 'left' : 'alive', since: now, window: new ArrivalWindow(), inSummary: false, h0: 0, h1: 0, slot: bucketHash(rec.id), confirmed: direct, lower: null }
    this.entries.set(rec.id, fresh)
    this.include(fresh)
    if (fresh.state !== 'left') this.emit('join', fresh, now, reason)
    return 'applied'
  }

  /**
   * Run the detector at `now`: alive, suspect and dead by phi; dead and
   * left members collected after the grace period (a member never heard
   * to beat, after `maxInterval` dead: nothing says it ever lived).
   * `stalled`: ms of the time since the last tick that this node did not
   * run (detector.ts, `stallOf`): overlooked, it is no member's silence.
   */
  tick(now: number, stalled = 0): void {
    const d = this.opts.detector
    const grace = this.opts.grace
    for (const e of this.entries.values()) {
      if (e === this.self) continue
      if (e.state === 'alive' || e.state === 'suspect') {
        e.window.overlook(stalled, now)
        // A member never heard to beat is judged after maxInterval (a stale record of a dead node goes then).
        const v = verdict(e.window, e.since, now, d)
        if (v === null || v.state === e.state) continue
        if (v.state === 'dead') e.window.reset()
        this.change(e, v.state, now, v.state === 'dead' ? 'down' : null, v.reason)
        continue
      }
      const age = now - e.since
      const never = e.state === 'dead' && Number.isNaN(e.window.last)
      if (e.inSummary && (age >= grace / 2 || never)) this.exclude(e)
      if (age >= grace || (never && age >= d.maxInterval)) {
        this.remove(e)
        this.graveyard.bury(e.record.id, e.record.gen, now, e.hb, { confirmed: e.confirmed })
        this.stats.collected++
        if (e.state === 'dead') this.emit('leave', e, now, `collected after ${seconds(age)} dead`)
      }
    }
    this.graveyard.expire(now)
  }

  /** This node leaves: its record says so (returned, to be sent at once). */
  leave(): MemberRecord {
    this.rewriteSelf({ st: 'left' })
    this.self.state = 'left'
    return this.self.record
  }

  /** Change this node's advertised address or metadata (a new record version). */
  update(change: { addr?: string; meta?: MemberRecord['meta'] }): MemberRecord {
    this.rewriteSelf(change)
    return this.self.record
  }

  /** The records summary: 16 hex digits; equal summaries, equal records. */
  summary(): string {
    return this.sums.hex
  }

  /** Records in the summary. */
  get summarized(): number {
    return this.sums.count
  }

  /** Per bucket (of `count`, a power of two up to 256), the XOR of its records' hashes, as hex. */
  buckets(count: number): string[] {
    return this.sums.buckets(count)
  }

  /** The records in the summary whose bucket (of `count`) is in `wanted`. */
  recordsIn(count: number, wanted: ReadonlySet<number>): MemberRecord[] {
    const out: MemberRecord[] = []
    const mask = count - 1
    for (const e of this.entries.values()) if (e.inSummary && wanted.has(e.slot & mask)) out.push(e.record)
    return out
  }

  /** Whether life `gen` of `id` was collected here. */
  isBuried(id: string, gen: number): boolean {
    return this.graveyard.holds(id, gen)
  }

  /** The application's view of one entry (its metadata parsed when the application reads it). */
  view(e: MemberEntry, now: number): Member {
    const self = e === this.self
    const r = e.record
    const phi = self || e.state === 'left' || e.state === 'dead' ? 0 : e.window.phi(now, this.opts.detector)
    return memberOf({ id: r.id, generation: r.gen, address: r.addr, state: e.state, heartbeat: e.hb, phi, since: e.since }, r, self)
  }

  members(now: number): Member[] {
    return [...this.entries.values()].map((e) => this.view(e, now)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** Counts by state (this node included, as alive). */
  counts(): Record<MemberState, number> {
    const c: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 }
    for (const e of this.entries.values()) c[e.state]++
    return c
  }

  /**
   * A record of this node's own id. Another generation is 'not ours', a
   * later one too: this node does not jump above it, since generations are
   * start times and its next restart would then be an earlier one, refused
   * everywhere; its own record on its links and its rising heartbeats win
   * instead (see the rule on earlier generations).
   */
  private aboutSelf(rec: MemberRecord): RecordOutcome {
    const own = this.self.record
    if (rec.gen !== own.gen || rec.v < own.v) return 'not ours'
    if (rec.v === own.v && rec.st === own.st && rec.addr === own.addr) return 'known'
    if (signatureProblem(this.opts.verify, rec) !== null) return this.refused('bad signature')
    // A record of this very life that this node did not write: re-assert ours above it, if that leaves room for our own changes.
    if (rec.v > MAX_MEMBER_V - OWN_CHANGES) return this.renew()
    this.stats.refuted++
    this.rewriteSelf({}, rec.v + 1)
    return 'refuted'
  }

  /**
   * A record of this life that this node did not write, at a version it
   * cannot rise above (within `OWN_CHANGES` of the bound): answered by a
   * new life, as SWIM raises an incarnation; the forged record dies with
   * the old one. Generation + 1 is still a start time no later than now,
   * so the next restart stays later. Peers take it as a restart (`leave`,
   * `join`): those linked to this node at once (`onRenew` sends it on
   * each link), the others once they hold the old life dead.
   */
  private renew(): RecordOutcome {
    if (this.self.state === 'left') return this.refused('not ours')
    this.stats.refuted++
    const r = this.self.record
    this.exclude(this.self)
    this.self.record = this.signed({ id: r.id, gen: r.gen + 1, v: 1, addr: r.addr, st: r.st }, metaText(r))
    this.include(this.self)
    this.onRenew?.(this.self.record)
    return 'refuted'
  }

  private revive(id: string): void {
    if (this.revived.size >= this.opts.limits.maxMembers) this.revived.clear()
    this.revived.add(id)
  }

  private refused(why: RecordOutcome): RecordOutcome {
    this.stats.recordsRefused++
    return why
  }

  private rewriteSelf(change: { addr?: string; meta?: MemberRecord['meta']; st?: 'up' | 'left' }, v = this.self.record.v + 1): void {
    const r = this.self.record
    const meta = change.meta === undefined ? metaText(r) : JSON.stringify(change.meta)
    this.exclude(this.self)
    this.self.record = this.signed({ id: r.id, gen: r.gen, v, addr: change.addr ?? r.addr, st: change.st ?? r.st }, meta)
    this.include(this.self)
  }

  /** This node's record of `fields` and metadata `meta` (JSON text), signed in a signed cluster. */
  private signed(fields: RecordFields, meta: string | undefined): MemberRecord {
    const bare = heldRecord(fields, meta)
    const sign = this.opts.sign
    return sign === undefined ? bare : heldRecord({ ...fields, sig: sign(bare) }, meta)
  }

  private change(e: MemberEntry, state: MemberState, now: number, event: MemberEventKind | null, reason: string): void {
    const wasOut = (e.state === 'dead' || e.state === 'left') && !e.inSummary
    e.state = state
    e.since = now
    if (state === 'alive') e.lower = null // an earlier life's rises count only against a life held dead or left
    if (wasOut && (state === 'alive' || state === 'suspect')) this.include(e)
    if (event !== null) this.emit(event, e, now, reason)
  }

  private emit(kind: MemberEventKind, e: MemberEntry, now: number, reason: string): void {
    this.onEvent?.(kind, this.view(e, now), reason)
  }

  private rose(e: MemberEntry, from: unknown): void {
    this.log.rose(e, from, this.entries.size)
  }

  private include(e: MemberEntry): void {
    this.sums.include(e)
  }

  private exclude(e: MemberEntry): void {
    this.sums.exclude(e)
  }

  private remove(e: MemberEntry): void {
    this.exclude(e)
    this.entries.delete(e.record.id)
    e.seq = -1 // its log entries are stale now
  }
}

/** Whether `rec` would end the life `e` holds while this node holds it alive: a leave, or a later generation. */
function ends(e: MemberEntry, rec: MemberRecord): boolean {
  if (e.state !== 'alive' && e.state !== 'suspect') return false
  return rec.gen > e.record.gen || (rec.st === 'left' && e.record.st !== 'left')
}
