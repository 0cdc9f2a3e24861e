import { Holes } from './holes.ts'
import { Fingerprint } from './fingerprint.ts'
import { SourceLog } from './source-log.ts'
import { sourceKey } from './types.ts'

/**
 * One replication source: a writer id and its incarnation (`gen`).
 *
 * `clock` is the highest version of this source that the replica holds in the
 * sense of the paper's invariant (Eq. 2): every update of this source with a
 * version at or below `clock` is held, or superseded by something held or
 * still owed. It only moves forward, and only along ordered paths: a digest
 * response (ascending, suffix-truncated) or a push whose predecessor is
 * already covered.
 */
export class Source {
  readonly key: string
  clock = 0
  /**
   * Highest version of this source's records this node has actually seen
   * (admitted, whether or not it won). The clock is never adopted above it:
   * no peer's word can make this node claim versions no record showed it.
   */
  seen = 0
  /** Fingerprint of this source's live records held (see fingerprint.ts). */
  readonly fp = new Fingerprint()
  /**
   * Highest version of this source's tombstones collected here. A peer whose
   * clock for the source is below it may still hold records those tombstones
   * deleted: it is stale, and is reset rather than trusted.
   */
  gc = 0
  readonly log = new SourceLog()
  constructor(
    readonly id: string,
    readonly gen: string | undefined,
  ) {
    this.key = sourceKey(id, gen)
  }
}

/** Generations of one id that digests alone may announce (see `Clock.announce`). */
const MAX_ANNOUNCED = 2
/**
 * A new generation counts as a change (every session resyncs) at most once
 * per this many ms: a peer inventing generations of known ids cannot make
 * the cluster resync at its rate. One resync catches up with every change
 * before it; a change inside the window is repaired by verification.
 */
export const GENERATION_QUIET_MS = 60_000

/** The replica's vector clock: every source it knows, by identity. */
export class Clock {
  /** Records passed over without being held, which this node must not vouch for (holes.ts). */
  readonly holes = new Holes()
  private readonly byKey = new Map<string, Source>()
  /** Every source of a node id, one per generation seen. */
  private readonly byId = new Map<string, Source[]>()
  /** How many times a node id showed up with one more generation (a node that lost its data). */
  generationChanges = 0
  /** Called when that happens. */
  onNewGeneration: (() => void) | null = null
  /** The clock GENERATION_QUIET_MS is measured on, ms (the replica's `timeMs`: never running back). */
  timeMs: () => number = () => 0
  private lastCounted = -Infinity

  /** Count a generation change, unless one was counted within GENERATION_QUIET_MS. */
  private generationChanged(): void {
    const now = this.timeMs()
    if (now - this.lastCounted < GENERATION_QUIET_MS) return
    this.lastCounted = now
    this.generationChanges++
    this.onNewGeneration?.()
  }
  /**
   * Generations of known ids that digests named before any record of theirs
   * arrived, at most MAX_ANNOUNCED per id (a peer cannot make us resync at
   * will); a generation leaves this set when its first record arrives.
   */
  private readonly announced = new Map<string, Set<string>>()

  /** The source for (id, gen), created on first sight. */
  intern(id: string, gen: string | undefined): Source {
    const key = gen === undefined ? id : sourceKey(id, gen)
    let s = this.byKey.get(key)
    if (s === undefined) {
      s = new Source(id, gen)
      this.byKey.set(key, s)
      const all = this.byId.get(id)
      const n = all?.length ?? 0
      if (all === undefined) this.byId.set(id, [s])
      else all.push(s)
      const known = gen !== undefined && this.announced.get(id)?.delete(gen) === true
      if (n > 0 && !known) this.generationChanged()
    }
    return s
  }

  /**
   * A digest named generation `gen` of a node id we know under other
   * generations, and we hold nothing of it: that node lost its data and came
   * back. It counts as a generation change (once), so sessions resync and
   * records its loss left covered-but-missing here come back, even when no
   * record of the new generation ever reaches us. The source itself is not
   * registered.
   */
  announce(id: string, gen: string | undefined): void {
    if (gen === undefined || !this.byId.has(id) || this.byKey.has(sourceKey(id, gen))) return
    let seen = this.announced.get(id)
    if (seen === undefined) {
      seen = new Set()
      this.announced.set(id, seen)
    }
    if (seen.has(gen) || seen.size >= MAX_ANNOUNCED) return
    seen.add(gen)
    this.generationChanged()
  }

  find(id: string, gen?: string): Source | undefined {
    return this.byKey.get(gen === undefined ? id : sourceKey(id, gen))
  }

  /**
   * Highest version held for a source, `-Infinity` when unknown (the seed's
   * convention). Without `gen`: the source without a generation when there
   * is one (the seed's sources; what `resolve` asks for a record without
   * `gen`), else the node id under any of its generations (a node with
   * `config.generation`, or a durable one, is found by its id alone).
   */
  get(id: string, gen?: string): number {
    const exact = this.find(id, gen)
    let v = exact?.clock ?? 0
    if (exact === undefined && gen === undefined) for (const s of this.byId.get(id) ?? []) if (s.clock > v) v = s.clock
    return v === 0 ? -Infinity : v
  }

  /** Advance a source's clock; never moves it backwards. */
  advance(source: Source, version: number): void {
    if (version > source.clock) source.clock = version
  }

  get size(): number {
    return this.byKey.size
  }

  values(): IterableIterator<Source> {
    return this.byKey.values()
  }

  /** The clock as a plain object `{source_key: version}` (for inspection and tests). */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = Object.create(null)
    for (const s of this.byKey.values()) out[s.key] = s.clock
    return out
  }
}
