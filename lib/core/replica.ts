import { Admission, describe } from './admission.ts'
import { deepFreeze } from './values.ts'
import { Clock, type Source } from './clock.ts'
import { History } from './history.ts'
import { Records } from './records.ts'
import { futureEntry, recordOfEntry, undoWrite, writeQuietly, writeThrough } from './state-object.ts'
import { DEFAULT_MAX_OFFSET_US, RefusedError, type DropReason, type Forgotten, type Journal, type LocalListener, type ReplicaOptions, type ReplicaStats, type RestoreSnapshot, type SourceState } from './replica-types.ts'
import { askResolve, FAST, type FastResolve } from './resolve.ts'
import { forgottenView } from './forgotten-view.ts'
import { Collected, MAX_COLLECTED, Tombstones } from './tombstones.ts'
import { OwnLife } from './own-life.ts'
import { LocalWrites } from './local-writes.ts'
import { WaitClock } from './wait-clock.ts'
import type { ClockFn, JsonValue, PeerLabel, Rec, ResolveFn, ResolveHost, SignFn, SortFn, Versioned } from './types.ts'
import { isVersion, makeRec, MAX_SIG_LENGTH } from '../protocol/validate.ts'

// Everything a replica's callers name comes with it.
export * from './replica-types.ts'

const ABSENT: Versioned = Object.freeze({ version: -Infinity, value: null }) as Versioned
/**
 * The replicated key/value state of one node: the pure core.
 *
 * Invariants:
 * - `map` holds, per key, the winning record under `resolve`; each record in
 *   `map` is in exactly one source log (its source's), and nothing else is.
 * - `version` is the highest version seen, local or remote; a local write
 *   takes a version above it and at least `now()`, so each source's versions
 *   strictly increase and follow physical time.
 * - No remote version above `now() + maxOffset` is admitted, so no sequence of
 *   messages can carry versions toward the end of the safe integers.
 * - A change happens whole or not at all: every user function and the
 *   journal run before state is touched, and one that throws refuses it.
 * - This node keeps its own tombstones (only other sources' are collected),
 *   so a peer that missed one of its deletes can always get it from it.
 * - The clock of a source only advances along ordered paths (see Session).
 *
 * No I/O, timers or randomness happen here.
 */
export class Replica implements ResolveHost {
  readonly id: string
  readonly gen: string | undefined
  readonly clock = new Clock()
  readonly history: History
  readonly self: Source
  readonly sort: SortFn
  readonly stats: ReplicaStats = { applied: 0, rejected: 0, redundant: 0, collected: 0, repaired: 0, listenerErrors: 0 }
  /** Highest version seen, local or remote. */
  version = 0
  /** What `resolve` receives as its first argument. */
  host: ResolveHost = this
  /** Called when a record leaves state without being superseded. */
  onDrop: ((rec: Rec, reason: DropReason) => void) | null = null
  /** Called when a history listener throws. */
  onListenerError: ((err: unknown, event: 'update' | 'compaction') => void) | null = null
  /** Records every change before it happens; null when nothing is persisted. */
  journal: Journal | null = null
  /** `timeMs()` when a node last showed up with a new generation; -Infinity if never. */
  lastGenerationChange = -Infinity
  readonly maxOffset: number
  readonly maxSources: number

  private readonly map: Records
  private readonly listeners = new Set<LocalListener>()
  private readonly resolveFn: ResolveFn
  private readonly fast: FastResolve | undefined
  readonly now: ClockFn
  /** Whether `now` was given (without one, versions count 1, 2, 3 and the clock reads 0). */
  private readonly clocked: boolean
  private readonly userState: Record<string, unknown> | undefined
  private readonly time: ClockFn
  private readonly waits = new WaitClock(() => this.time()) // `time` for waits: never runs back
  private readonly sign: SignFn | undefined
  private readonly admission: Admission
  private readonly tombs = new Tombstones()
  /** Tombstones forgotten here, by key (tombstones.ts). */
  readonly collected = new Collected(MAX_COLLECTED)
  /** Own writes from their commit to their announcement (local-writes.ts). */
  private readonly writes = new LocalWrites(
    (rec, cur) => this.commit(rec, this.self, cur, true),
    (rec) => this.announce(rec),
  )
  /** What this node knows of its own earlier lives (own-life.ts). */
  readonly ownLife = new OwnLife()

  constructor(opts: ReplicaOptions) {
    this.id = opts.id
    this.gen = opts.gen
    this.sort = opts.sort
    this.resolveFn = opts.resolve
    this.fast = (opts.resolve as Partial<Record<typeof FAST, FastResolve>>)[FAST]
    this.now = opts.now ?? (() => 0)
    this.clocked = opts.now !== undefined
    this.maxOffset = opts.maxOffset ?? DEFAULT_MAX_OFFSET_US
    this.maxSources = opts.maxSources ?? Infinity
    this.map = new Records(this.clock)
    this.history = new History(opts.maxHistory, opts.sort)
    this.history.onListenerError = (err, event) => {
      this.stats.listenerErrors++
      this.onListenerError?.(err, event)
    }
    this.self = this.clock.intern(opts.id, opts.gen)
    this.userState = opts.state
    this.time = opts.time ?? (() => 0)
    this.sign = opts.sign
    this.admission = new Admission(this.now, this.maxOffset, opts.verify, opts.accept, opts.maxValueBytes)
    this.clock.timeMs = () => this.timeMs()
    this.clock.onNewGeneration = () => void (this.lastGenerationChange = this.timeMs())
    if (opts.state !== undefined) this.load(opts.state)
    this.ownLife.restored(this.self.clock)
  }

  // ---- reading ----

  get(key: string): Versioned {
    const r = this.map.get(key)
    return r === undefined || r.deleted === true ? ABSENT : { version: r.version, value: r.value }
  }

  record(key: string): Rec | undefined {
    return this.map.get(key)
  }

  /** Keys with a live (not deleted) value. */
  *keys(): IterableIterator<string> {
    for (const [k, r] of this.map.entries()) if (r.deleted !== true) yield k
  }

  /** Every record held, tombstones included. */
  records(): IterableIterator<Rec> {
    return this.map.values()
  }

  /** Whether records must be signed (`verify` is set). */
  get verifies(): boolean {
    return this.admission.signed
  }

  /** Number of records held, tombstones included. */
  get size(): number {
    return this.map.size
  }

  // ---- writing ----

  /**
   * A local write: stamps a new version and applies it through `resolve`.
   * Returns the record and whether it was applied; listeners hear of applied
   * writes. `value` must already be validated and owned by this replica
   * (`frozenJson` gives both: a frozen copy). Throws a `RefusedError` (state
   * unchanged) when `sign`, `resolve`, `sort` or the journal throws.
   */
  writeLocal(key: string, value: JsonValue, deleted = false): { rec: Rec; applied: boolean; sent: boolean } {
    let version = this.version + 1
    const t = Math.floor(this.now())
    if (t > version) version = t
    if (!isVersion(version)) throw new RangeError(`version ${version} is beyond the safe integer range`)
    // Taken before any user function runs, so a write made from inside one
    // (a history listener, `sign`, the state object) gets a later version.
    this.version = version
    const bare = makeRec(key, deleted ? null : value, this.id, version, this.gen, deleted)
    let rec = bare
    if (this.sign !== undefined) {
      let sig: string
      try {
        sig = this.sign(bare)
      } catch (err) {
        throw new RefusedError(`config.sign threw: ${describe(err)}`, { cause: err })
      }
      if (typeof sig !== 'string' || sig.length > MAX_SIG_LENGTH) throw new RefusedError(`config.sign must return a string of at most ${MAX_SIG_LENGTH} characters (peers and the log refuse others), got ${typeof sig === 'string' ? `${sig.length} characters` : typeof sig}`)
      rec = makeRec(key, bare.value, this.id, version, this.gen, deleted, sig)
    }
    const refusal = this.admission.local(rec, this.id)
    if (refusal !== null) throw new RefusedError(refusal)
    const cur = this.map.get(key)
    if (!this.decide(cur, rec, this.self)) return { rec, applied: false, sent: true }
    const sent = this.writes.write(rec, cur)
    return { rec, applied: true, sent }
  }

  /** One local write committed: the clock moves over it and listeners hear of it. */
  private announce(rec: Rec): boolean {
    this.ownLife.wrote(rec.version)
    // A response may have taken the clock over this write already (a
    // listener that gossips before it is announced): the link stays below it.
    const prev = Math.min(this.self.clock, rec.version - 1)
    this.clock.advance(this.self, rec.version)
    let sent = true
    for (const l of this.listeners) if (!l.pushLocal(rec, prev)) sent = false
    return sent
  }

  /**
   * A remote update (already admitted): decided by `resolve` and stored if
   * it wins. Moves no clock except `version`: the caller knows whether it
   * arrived along an ordered path. Throws a `RefusedError` (state unchanged)
   * when `resolve`, `sort` or the journal throws.
   */
  applyRemote(rec: Rec, src: Source, from: LocalListener | null = null): boolean {
    if (rec.version > this.version) this.version = rec.version
    if (rec.version > src.seen) src.seen = rec.version
    const cur = this.map.get(rec.key)
    const covered = rec.version <= src.clock
    const gone = cur === undefined ? this.collected.get(rec.key) : undefined
    if (cur === undefined && this.buried(rec, covered, gone)) {
      // Absent, and beaten by a tombstone since forgotten: refused, so deleted keys stay deleted.
      this.stats.redundant++
      this.stats.rejected++
      return false
    }
    if (covered || (cur !== undefined && cur.version === rec.version && cur.source_id === rec.source_id && cur.gen === rec.gen)) {
      this.stats.redundant++
    }
    if (!this.decide(cur, rec, src, gone)) {
      this.stats.rejected++
      return false
    }
    if (!this.commit(rec, src, cur, false)) return false
    if (covered) {
      // Our clock claimed this record's place, yet it won: whatever had beaten
      // it here is gone (a node lost its data). Pass it on, so the peers whose
      // clocks skipped it too get it back.
      this.stats.repaired++
      for (const l of this.listeners) if (l !== from) l.pushRepair(rec, from)
    }
    return true
  }

  /** Why a remote update must be refused outright, or null to go on to `resolve` (admission.ts). */
  admit(rec: Rec, peer: PeerLabel): string | null {
    return this.admission.admit(rec, peer)
  }

  /** Whether a version a peer claims is within `maxOffset` of our physical clock. */
  plausible(version: number): boolean {
    return this.admission.plausible(version)
  }

  /** The clock waits and repair windows are measured on, ms: the wall clock (`time`), never running back (wait-clock.ts). */
  timeMs(): number {
    return this.waits.now()
  }

  /** Whether a node showed up with a new generation within the last `window` ms (of `timeMs`). */
  recentGenerationChange(window: number): boolean {
    return this.timeMs() - this.lastGenerationChange < window
  }

  /**
   * Whether a record of a key not held is refused before `resolve`, as one
   * a forgotten tombstone may have beaten (see `Collected`): one the clock
   * covers at or below the floor, or, under a user's `resolve`, at or below
   * the key's remembered tombstone `gone` too. Past this, `resolve` decides
   * against `gone` as if it were held (`decide`).
   */
  private buried(rec: Rec, covered: boolean, gone: Rec | undefined): boolean {
    if (!covered) return false
    const floor = this.collected.floor
    if (gone === undefined) return rec.version <= floor
    return this.fast === undefined && rec.version <= Math.max(gone.version, floor)
  }

  /**
   * Take on a peer's clock for a source, never above a version a record of
   * that source showed this node (see `Source.seen`).
   */
  adopt(src: Source, version: number): void {
    this.advance(src, version < src.seen ? version : src.seen)
  }

  /**
   * A clock the source itself claims for its own records, at the end of a
   * response: taken above what its records showed (it may hold none up
   * there), but never beyond the physical bound (a lie there would end this
   * node's version space) and, in a signed cluster, where a hello's id
   * proves nothing, never above what signed records showed.
   */
  adoptFromSource(src: Source, version: number): void {
    if (!this.plausible(version)) return
    if (this.admission.signed) this.adopt(src, version)
    else this.advance(src, version)
  }

  /**
   * Move a source's clock forward to `version`. Having covered everything up
   * to it counts as having seen it: later local writes go above it (so a
   * write made after catching up with a delete, even one whose tombstone is
   * already forgotten, is ordered after that delete).
   */
  advance(src: Source, version: number): void {
    this.clock.advance(src, version)
    if (version > this.version) this.version = version
  }

  /** Source for a record's (source_id, gen), created on first sight. */
  sourceOf(rec: Rec): Source {
    return this.clock.intern(rec.source_id, rec.gen)
  }

  /** Like `sourceOf`, but undefined when the source is new and `maxSources` are already tracked. */
  admitSource(rec: Rec): Source | undefined {
    const known = this.clock.find(rec.source_id, rec.gen)
    if (known !== undefined) return known
    if (this.clock.size >= this.maxSources) return undefined
    return this.clock.intern(rec.source_id, rec.gen)
  }

  /** A remote record `from` sent was applied: offer it to every other peer (sessions decide). */
  relayFrom(rec: Rec, src: Source, from: LocalListener | null): void {
    for (const l of this.listeners) if (l !== from) l.relay(rec, src)
  }

  subscribe(l: LocalListener): void {
    this.listeners.add(l)
  }

  unsubscribe(l: LocalListener): void {
    this.listeners.delete(l)
  }

  get listenerCount(): number {
    return this.listeners.size
  }

  /** Whether `rec` wins over `cur`; `gone`: the key's forgotten tombstone (it decides as if held, forgotten-view.ts). */
  private decide(cur: Rec | undefined, rec: Rec, src: Source, gone?: Rec): boolean {
    if (this.fast !== undefined) return this.fast(cur ?? gone, rec, src.clock)
    return askResolve(this.resolveFn, gone === undefined ? this.host : forgottenView(this.host, gone), rec)
  }

  /**
   * Store `rec` over `cur`: user functions and the journal first, then state,
   * whole. Returns false, storing nothing more, when a user function (`sign`,
   * `resolve`, the state object) wrote the key itself meanwhile: that later
   * write supersedes this one, which no listener or peer then hears of.
   */
  private commit(rec: Rec, src: Source, cur: Rec | undefined, local: boolean): boolean {
    if (!local) deepFreeze(rec.value) // a local value is a frozen copy already (frozenJson)
    Object.freeze(rec)
    if (this.map.get(rec.key) !== cur) return false
    const userState = this.userState
    if (userState !== undefined) {
      try {
        writeThrough(userState, rec.key, rec)
      } catch (err) {
        throw new RefusedError(`the state object threw: ${describe(err)}`, { cause: err })
      }
      if (this.map.get(rec.key) !== cur) return false
    }
    let pos: number
    try {
      pos = this.history.place(rec) // after the state object: writes it made went to history first
    } catch (err) {
      undoWrite(userState, rec.key, cur)
      throw new RefusedError(`config.sort threw: ${describe(err)}`, { cause: err })
    }
    try {
      this.journal?.append(rec)
    } catch (err) {
      undoWrite(userState, rec.key, cur)
      throw new RefusedError(`not stored: ${describe(err)}`, { cause: err })
    }
    this.map.replace(rec, src, cur)
    if (cur === undefined) this.collected.delete(rec.key)
    this.stats.applied++
    if (rec.deleted === true) this.tombs.note(rec, this.time())
    this.history.commit(rec, pos)
    return true
  }

  /**
   * Forget other sources' tombstones applied at least `grace` ms before
   * `now` that still hold their key. Each raises its source's `gc` floor.
   * This node's own tombstones are kept (left out of its fingerprint from
   * then on, like the forgotten ones elsewhere). Returns how many were
   * forgotten; stops early (to try again later) when the journal refuses a
   * removal.
   */
  collect(now: number, grace: number): number {
    let n = 0
    for (let t = this.tombs.peekDue(now, grace); t !== undefined; t = this.tombs.peekDue(now, grace)) {
      if (this.map.get(t.key) !== t) {
        this.tombs.pop()
        continue
      }
      const src = this.sourceOf(t)
      if (t.source_id === this.id && t.gen === this.gen) {
        this.map.age(t, src, this.tombs.pop())
        continue
      }
      if (this.journal !== null) {
        try {
          this.journal.remove(t, 'collected')
        } catch {
          break
        }
      }
      this.tombs.pop()
      if (t.version > src.gc) src.gc = t.version
      this.map.remove(t, src)
      this.collected.add(t)
      writeQuietly(this.userState, t.key, undefined) // a refusal leaves a forgotten tombstone there; state here is right
      this.stats.collected++
      n++
      this.onDrop?.(t, 'collected')
    }
    return n
  }

  /**
   * Load a saved replica: its records, its sources' clocks and gc floors, and
   * a version floor (new local writes go above it). Call before any session
   * exists. Records replace what is held for their keys, in the state object
   * too (as an applied update is written there); no history events.
   */
  restore(snapshot: RestoreSnapshot): void {
    if (this.listeners.size > 0) throw new Error('restore() must run before any stream is created')
    const tombs: [Rec, number][] = []
    for (const rec of snapshot.records) {
      const src = this.clock.intern(rec.source_id, rec.gen)
      this.map.replace(rec, src, this.map.get(rec.key))
      writeQuietly(this.userState, rec.key, rec) // a refusal leaves the object behind; state here is right
      if (rec.deleted === true) tombs.push([rec, Math.min(this.time(), snapshot.appliedAt?.get(rec.key) ?? Infinity)])
      if (rec.version > this.version) this.version = rec.version
    }
    this.tombs.restored(tombs)
    for (const s of snapshot.sources) {
      const src = this.clock.intern(s.id, s.gen)
      this.clock.advance(src, s.clock)
      if (s.clock > src.seen) src.seen = s.clock
      if (s.gc > src.gc) src.gc = s.gc
      if (snapshot.forgotten === undefined) this.collected.raise(s.gc) // which keys those were is not saved
    }
    if (snapshot.forgotten !== undefined) {
      this.collected.raise(snapshot.forgotten.floor)
      for (const t of snapshot.forgotten.tombstones) if (this.map.get(t.key) === undefined) this.collected.add(t)
    }
    let own = 0 // every write of this node's own source is held here
    for (const r of this.self.log) if (r.version > own) own = r.version
    this.clock.advance(this.self, own)
    this.ownLife.restored(this.self.clock)
    if (snapshot.version > this.version) this.version = snapshot.version
  }

  /** The forgotten tombstones, for saving (the iterator is live: read it before state changes). */
  forgotten(): Forgotten {
    return { floor: this.collected.floor, tombstones: this.collected.values(), count: this.collected.size }
  }

  /** When each held tombstone was applied (ms of `time`), by key, own ones past the grace period included, for saving with `records()` (see `RestoreSnapshot.appliedAt`). */
  tombstoneTimes(): Map<string, number> {
    const out = this.tombs.timesOf((rec) => this.map.get(rec.key) === rec)
    for (const [rec, at] of this.map.agedTimes()) out.set(rec.key, at)
    return out
  }

  /** Clocks and gc floors of every known source, for saving. */
  sources(): SourceState[] {
    return Array.from(this.clock.values(), (s) => ({ id: s.id, gen: s.gen, clock: s.clock, gc: s.gc }))
  }

  /** Index a caller-supplied state object: its records become held, its sources covered; an entry a peer's record could not be (too far ahead) throws. */
  private load(state: Record<string, unknown>): void {
    for (const key of Object.keys(state)) {
      const rec = recordOfEntry(key, state[key], this.id, this.gen)
      if (!this.plausible(rec.version)) throw futureEntry(key, rec.version, this.now(), this.maxOffset, this.clocked)
      const src = this.clock.intern(rec.source_id, rec.gen)
      this.map.replace(rec, src, this.map.get(key))
      if (rec.deleted === true) this.tombs.note(rec, this.time())
      // Every record of a source up to the highest one held is held: the
      // snapshot came from a replica whose own clock covered at least that.
      this.clock.advance(src, rec.version)
      if (rec.version > this.version) this.version = rec.version
    }
  }
}
