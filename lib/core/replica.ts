import { Clock, type Source } from './clock.ts'
import { History } from './history.ts'
import { FAST, type FastResolve } from './resolve.ts'
import type { AcceptFn, ClockFn, JsonValue, PeerLabel, Rec, ResolveFn, ResolveHost, SignFn, SortFn, VerifyFn, Versioned } from './types.ts'
import { isVersion, makeRec } from '../protocol/validate.ts'

export interface ReplicaOptions {
  readonly id: string
  /** Incarnation of this node's source; see ALGORITHM.md, restarts. */
  readonly gen?: string
  readonly resolve: ResolveFn
  readonly sort: SortFn
  readonly maxHistory: number
  /** Physical time floor for new versions (a hybrid logical clock); off when absent. */
  readonly now?: ClockFn
  /** Caller-supplied key/value object: loaded at start, written through on every change. */
  readonly state?: Record<string, unknown>
  /** Milliseconds, for tombstone ages. Default: always 0 (nothing ever ages). */
  readonly time?: ClockFn
  /** Signs this node's own records. */
  readonly sign?: SignFn
  /** Checks a remote record's signature; records that fail are refused. */
  readonly verify?: VerifyFn
  /** Admits (true) or refuses a remote update, knowing who sent it. */
  readonly accept?: AcceptFn
  /**
   * A remote version may be at most this far above the highest version seen
   * (or the physical clock). Default 2^40.
   */
  readonly maxVersionJump?: number
}

/** A source's progress, as saved and restored. */
export interface SourceState {
  readonly id: string
  readonly gen: string | undefined
  readonly clock: number
  readonly gc: number
}

/** What `Replica.restore` loads. */
export interface RestoreSnapshot {
  readonly records: Iterable<Rec>
  readonly sources: Iterable<SourceState>
  /** New local versions go above this. */
  readonly version: number
}

/** Why a record left state without being superseded. */
export type DropReason = 'collected' | 'reset'

/** One peer conversation, as the replica sees it (implemented by `Session`). */
export interface LocalListener {
  /** A local write happened; false when it could not go out now. */
  pushLocal(rec: Rec, prev: number): boolean
  /** A record this replica's clock already covered arrived and won: pass it on (`from` sent it). */
  pushRepair(rec: Rec, from: LocalListener | null): void
}

export interface ReplicaStats {
  /** Tombstones forgotten after their grace period. */
  collected: number
  /** Records dropped by a reset (deleted elsewhere, tombstone already forgotten). */
  reset: number
  /** Records received again after a node lost its data, and passed on. */
  repaired: number
  /** Updates applied (local and remote). */
  applied: number
  /** Remote updates refused by `resolve` (stale or losing). */
  rejected: number
  /** Remote updates that were already covered (duplicates of something held). */
  redundant: number
}

const ABSENT: Versioned = Object.freeze({ version: -Infinity, value: null }) as Versioned

/**
 * The replicated key/value state of one node: the pure core.
 *
 * Invariants:
 * - `map` holds, per key, the winning record under `resolve`; each record in
 *   `map` is in exactly one source log (its source's), and nothing else is.
 * - `version` is the highest version seen, local or remote; a local write
 *   takes a version above it (and above `now()` when a physical clock is set),
 *   so each source's versions strictly increase.
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
  readonly stats: ReplicaStats = { applied: 0, rejected: 0, redundant: 0, collected: 0, reset: 0, repaired: 0 }
  /** Highest version seen, local or remote. */
  version = 0
  /** What `resolve` receives as its first argument. */
  host: ResolveHost = this
  /** Called when a record leaves state without being superseded. */
  onDrop: ((rec: Rec, reason: DropReason) => void) | null = null
  /** `time()` when a node last showed up with a new generation; -Infinity if never. */
  lastGenerationChange = -Infinity

  private readonly map = new Map<string, Rec>()
  private readonly listeners = new Set<LocalListener>()
  private readonly resolveFn: ResolveFn
  private readonly fast: FastResolve | undefined
  private readonly now: ClockFn | undefined
  private readonly userState: Record<string, unknown> | undefined
  private readonly time: ClockFn
  private readonly sign: SignFn | undefined
  private readonly verify: VerifyFn | undefined
  private readonly accept: AcceptFn | undefined
  private readonly maxJump: number
  /** Tombstones in the order they were applied, with the time they were applied. */
  private tombs: Rec[] = []
  private tombTimes: number[] = []
  private tombHead = 0

  constructor(opts: ReplicaOptions) {
    this.id = opts.id
    this.gen = opts.gen
    this.sort = opts.sort
    this.resolveFn = opts.resolve
    this.fast = (opts.resolve as Partial<Record<typeof FAST, FastResolve>>)[FAST]
    this.now = opts.now
    this.history = new History(opts.maxHistory, opts.sort)
    this.self = this.clock.intern(opts.id, opts.gen)
    this.userState = opts.state
    this.time = opts.time ?? (() => 0)
    this.sign = opts.sign
    this.verify = opts.verify
    this.accept = opts.accept
    this.maxJump = opts.maxVersionJump ?? 2 ** 40
    this.clock.onNewGeneration = () => {
      this.lastGenerationChange = this.time()
    }
    if (opts.state !== undefined) this.load(opts.state)
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
    for (const [k, r] of this.map) if (r.deleted !== true) yield k
  }

  /** Every record held, tombstones included. */
  records(): IterableIterator<Rec> {
    return this.map.values()
  }

  /** Number of records held, tombstones included. */
  get size(): number {
    return this.map.size
  }

  // ---- writing ----

  /**
   * A local write: stamps a new version and applies it through `resolve`.
   * Returns the record and whether it was applied; listeners hear of applied
   * writes. `value` must already be validated.
   */
  writeLocal(key: string, value: JsonValue, deleted = false): { rec: Rec; applied: boolean; sent: boolean } {
    let version = this.version + 1
    if (this.now !== undefined) {
      const t = Math.floor(this.now())
      if (t > version) version = t
    }
    if (!isVersion(version)) throw new RangeError(`version ${version} is beyond the safe integer range`)
    const bare = makeRec(key, deleted ? null : value, this.id, version, this.gen, deleted)
    const rec = this.sign === undefined ? bare : makeRec(key, bare.value, this.id, version, this.gen, deleted, this.sign(bare))
    const cur = this.map.get(key)
    if (!this.decide(cur, rec, this.self)) return { rec, applied: false, sent: true }
    const prev = this.self.clock
    this.version = version
    this.clock.advance(this.self, version)
    this.store(rec, this.self, cur)
    let sent = true
    for (const l of this.listeners) if (!l.pushLocal(rec, prev)) sent = false
    return { rec, applied: true, sent }
  }

  /**
   * A remote update (already validated): decided by `resolve` and stored if it
   * wins. Does not move any clock except `version`: the caller knows whether
   * it arrived along an ordered path.
   */
  applyRemote(rec: Rec, src: Source, from: LocalListener | null = null): boolean {
    if (rec.version > this.version) this.version = rec.version
    const cur = this.map.get(rec.key)
    const covered = rec.version <= src.clock
    if (covered && cur === undefined && rec.version <= this.maxGc()) {
      // Covered by the clock yet absent, and old enough to have lost to a
      // tombstone since collected: refused, so deleted keys stay deleted.
      this.stats.redundant++
      this.stats.rejected++
      return false
    }
    if (rec.version <= src.clock || (cur !== undefined && cur.version === rec.version && this.sort(cur, rec) === 0)) {
      this.stats.redundant++
    }
    if (!this.decide(cur, rec, src)) {
      this.stats.rejected++
      return false
    }
    this.store(rec, src, cur)
    if (covered) {
      // Our clock claimed this record's place, yet it won: whatever had beaten
      // it here is gone (a node lost its data). Pass it on, so the peers whose
      // clocks skipped it too get it back.
      this.stats.repaired++
      for (const l of this.listeners) if (l !== from) l.pushRepair(rec, from)
    }
    return true
  }

  /**
   * Why a remote update must be refused outright, or null to go on to
   * `resolve`: a version implausibly far ahead (a forged one would burn the
   * version space), a bad or missing signature, or the `accept` hook's no.
   */
  admit(rec: Rec, peer: PeerLabel): string | null {
    if (!this.plausible(rec.version)) return 'version too far ahead'
    if (this.verify !== undefined && !this.verify(rec)) return rec.sig === undefined ? 'unsigned update' : 'bad signature'
    if (this.accept !== undefined && !this.accept(rec, peer)) return 'not accepted'
    return null
  }

  /** Whether a version a peer claims is within reach of what we have seen. */
  plausible(version: number): boolean {
    let base = this.version
    if (this.now !== undefined) {
      const t = this.now()
      if (t > base) base = t
    }
    return version <= base + this.maxJump
  }

  /** Whether a node showed up with a new generation within the last `window` ms. */
  recentGenerationChange(window: number): boolean {
    return this.time() - this.lastGenerationChange < window
  }

  /** Highest version of any tombstone collected here. */
  maxGc(): number {
    let m = 0
    for (const s of this.clock.values()) if (s.gc > m) m = s.gc
    return m
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

  subscribe(l: LocalListener): void {
    this.listeners.add(l)
  }

  unsubscribe(l: LocalListener): void {
    this.listeners.delete(l)
  }

  get listenerCount(): number {
    return this.listeners.size
  }

  private decide(cur: Rec | undefined, rec: Rec, src: Source): boolean {
    return this.fast !== undefined ? this.fast(cur, rec, src.clock) : this.resolveFn(this.host, rec) === true
  }

  private store(rec: Rec, src: Source, cur: Rec | undefined): void {
    if (cur !== undefined) {
      const old = cur.source_id === src.id && cur.gen === src.gen ? src : this.clock.find(cur.source_id, cur.gen)
      old?.log.remove(cur)
    }
    src.log.insert(rec)
    this.map.set(rec.key, rec)
    this.stats.applied++
    if (rec.deleted === true) this.noteTombstone(rec)
    if (this.userState !== undefined) writeThrough(this.userState, rec)
    this.history.write(rec)
  }

  private noteTombstone(rec: Rec): void {
    this.tombs.push(rec)
    this.tombTimes.push(this.time())
  }

  /**
   * Forget tombstones applied at least `grace` ms before `now` that still
   * hold their key. Each raises its source's `gc` floor. Returns how many.
   */
  collect(now: number, grace: number): number {
    let n = 0
    const tombs = this.tombs
    while (this.tombHead < tombs.length && this.tombTimes[this.tombHead] + grace <= now) {
      const t = tombs[this.tombHead++]
      if (this.map.get(t.key) !== t) continue
      const src = this.sourceOf(t)
      if (t.version > src.gc) src.gc = t.version
      this.remove(t, src, 'collected')
      this.stats.collected++
      n++
    }
    if (this.tombHead > 1024 && this.tombHead * 2 > tombs.length) {
      this.tombs = tombs.slice(this.tombHead)
      this.tombTimes = this.tombTimes.slice(this.tombHead)
      this.tombHead = 0
    }
    return n
  }

  /** Tombstones held (not yet collected). */
  get tombstones(): number {
    let n = 0
    for (let i = this.tombHead; i < this.tombs.length; i++) if (this.map.get(this.tombs[i].key) === this.tombs[i]) n++
    return n
  }

  /**
   * Drop a record a reset showed to be deleted elsewhere (its tombstone
   * already forgotten there). No tombstone is written: the peer that reset
   * us covers it.
   */
  dropForReset(rec: Rec): void {
    if (this.map.get(rec.key) !== rec) return
    this.remove(rec, this.sourceOf(rec), 'reset')
    this.stats.reset++
  }

  private remove(rec: Rec, src: Source, reason: DropReason): void {
    src.log.remove(rec)
    this.map.delete(rec.key)
    if (this.userState !== undefined && Object.prototype.hasOwnProperty.call(this.userState, rec.key)) {
      delete this.userState[rec.key]
    }
    this.onDrop?.(rec, reason)
  }

  /**
   * Load a saved replica: its records, its sources' clocks and gc floors, and
   * a version floor (new local writes go above it). Call before any session
   * exists. Records replace what is held for their keys; no history events.
   */
  restore(snapshot: RestoreSnapshot): void {
    if (this.listeners.size > 0) throw new Error('restore() must run before any stream is created')
    for (const rec of snapshot.records) {
      const src = this.clock.intern(rec.source_id, rec.gen)
      const cur = this.map.get(rec.key)
      if (cur !== undefined) this.sourceOf(cur).log.remove(cur)
      src.log.insert(rec)
      this.map.set(rec.key, rec)
      if (rec.deleted === true) this.noteTombstone(rec)
      if (rec.version > this.version) this.version = rec.version
    }
    for (const s of snapshot.sources) {
      const src = this.clock.intern(s.id, s.gen)
      this.clock.advance(src, s.clock)
      if (s.gc > src.gc) src.gc = s.gc
    }
    // Every write of this node's own source is held here.
    let own = 0
    for (const r of this.self.log) if (r.version > own) own = r.version
    this.clock.advance(this.self, own)
    if (snapshot.version > this.version) this.version = snapshot.version
  }

  /** Clocks and gc floors of every known source, for saving. */
  sources(): SourceState[] {
    const out: SourceState[] = []
    for (const s of this.clock.values()) out.push({ id: s.id, gen: s.gen, clock: s.clock, gc: s.gc })
    return out
  }

  /** Index a caller-supplied state object: its records become held, its sources covered. */
  private load(state: Record<string, unknown>): void {
    for (const key of Object.keys(state)) {
      const e = state[key] as Partial<Rec> | null
      if (typeof e !== 'object' || e === null || !isVersion(e.version)) {
        throw new TypeError(`state[${JSON.stringify(key)}] must be {value, version} with a positive integer version`)
      }
      const source_id = typeof e.source_id === 'string' && e.source_id !== '' ? e.source_id : this.id
      const gen = typeof e.gen === 'string' ? e.gen : source_id === this.id ? this.gen : undefined
      const rec = makeRec(key, (e.value ?? null) as JsonValue, source_id, e.version, gen, e.deleted === true, typeof e.sig === 'string' ? e.sig : undefined)
      const src = this.clock.intern(source_id, gen)
      const cur = this.map.get(key)
      if (cur !== undefined) this.sourceOf(cur).log.remove(cur)
      src.log.insert(rec)
      this.map.set(key, rec)
      // Every record of a source up to the highest one held is held: the
      // snapshot came from a replica whose own clock covered at least that.
      this.clock.advance(src, rec.version)
      if (rec.version > this.version) this.version = rec.version
    }
  }
}

/** Store a record into a caller-supplied object without touching its prototype. */
function writeThrough(state: Record<string, unknown>, rec: Rec): void {
  if (rec.key === '__proto__') {
    Object.defineProperty(state, rec.key, { value: rec, writable: true, enumerable: true, configurable: true })
  } else {
    state[rec.key] = rec
  }
}
