import type { Source } from './clock.ts'
import { checkDeltaOptions, selectDelta } from './delta.ts'
import { Inbound } from './inbound.ts'
import { Replica, type ReplicaOptions } from './replica.ts'
import { heldAbove, plan } from './responder.ts'
import { resolution, sort } from './resolve.ts'
import type { DeltaOrder, JsonValue, PeerLabel, RandomFn, Rec, Versioned } from './types.ts'
import { sourceKey } from './types.ts'
import { frozenJson } from './values.ts'
import { encodePush, type WirePush } from '../protocol/messages.ts'
import { DEFAULT_LIMITS, checkNodeId, limitsOf, readUpdate, reservedKey, reservedKeyError, type Limits, type UpdateSlot } from '../protocol/validate.ts'

/**
 * A public sans-I/O core: the Scuttlebutt exchange as four pure operations
 * over one replica, for embedding the protocol in another transport or a
 * simulator. A push-pull exchange between p and q is
 *
 *     const dq = q.digest()
 *     const toQ = p.deltasFor(dq, { mtu, order, random })   // p -> q
 *     q.apply(toQ.deltas)
 *     const toP = q.deltasFor(p.digest(), { mtu, order, random })
 *     p.apply(toP.deltas)
 *
 * (the paper's three legs: q's digest, p's deltas with p's digest, q's
 * deltas). Nothing here does I/O, reads a clock or draws randomness of its
 * own: time is the replica's injected `now`, randomness the `random` given.
 *
 * Rules kept (ALGORITHM.md; the same as `Session` for a digest answered
 * from state):
 * - A response holds, per source, the records above the peer's digest entry
 *   up to our clock, in ascending version; when more than `mtu` want to go,
 *   each source keeps a prefix (only a suffix is cut), sources chosen by
 *   `order` (`selectDelta`).
 * - Each source's first record carries an explicit chain link, `prev`,
 *   to the peer's digest entry for that source (the version the response
 *   answers); the source's later records go without `prev` and chain from
 *   the one before them. So a response computed for another digest (or
 *   another node's) moves no clock across a gap: it moves only clocks that
 *   cover the entries it answers.
 * - Records we cannot vouch for go out with an explicit chain link to their
 *   own version minus one, so they move nobody's clock: records held above
 *   our clock (they arrived out of order), and those of a source whose
 *   tombstones we forgot above the peer's entry. Held-above records never
 *   cut a response and go only when it was not cut.
 * - On receipt, a record without `prev` chains from the record of the same
 *   source before it in the same response, linked or not (a source's first
 *   record without `prev` chains from 0: it is trusted to answer our
 *   current digest); a record moves our clock only if the clock covers its
 *   link, through the records before it in the response. A record refused
 *   (invalid, not admitted, or a user function threw) breaks its source's
 *   chain for the rest of the response.
 *
 * Not covered here (use `Session`): per-connection memory of what the peer
 * already holds, pushes of new writes, adoption of the peer's clock after a
 * complete response, resyncs after data loss and resets of stale peers.
 */

/** One entry of a digest: "of this source I hold everything up to `version`". */
export interface DigestEntry {
  readonly source_id: string
  readonly gen?: string
  readonly version: number
  /** Highest version of this source's tombstones the sender collected; absent means 0. */
  readonly gc?: number
}

/** An update as it goes on the wire: a record, or a record with its explicit chain link. */
export type Delta = Rec | WirePush

export interface DeltaOptions {
  /** Most deltas in the response: a non-negative integer, or Infinity (no limit). */
  readonly mtu: number
  /** Which sources go first when not everything fits: 'depth' (default) or 'breadth'. */
  readonly order?: DeltaOrder
  /** Breaks ties; uniform in [0, 1) (a draw outside it is clamped). */
  readonly random: RandomFn
}

export interface DeltaSet {
  /** The response, in the order to send and apply it. */
  readonly deltas: Delta[]
  /** How many deltas wanted to go out (records the peer lacks that we vouch for), before the MTU cut. */
  readonly candidates: number
  /** Some candidate was left for a later exchange. */
  readonly truncated: boolean
}

export interface ApplyResult {
  /** Records that entered state. */
  applied: number
  /** Records `resolve` turned down (an older or losing write). */
  rejected: number
  /** Records already covered or held here: sent for nothing (they are counted among `rejected` too). */
  redundant: number
  /** Records refused before `resolve`: invalid, not admitted, or a user function threw. */
  refused: number
  /** Sources whose clock the response moved. */
  advanced: number
  /** Why each refused record was refused, in order. */
  reasons: string[]
}

export interface EngineOptions extends Partial<Omit<ReplicaOptions, 'id'>> {
  readonly id: string
  /** Bounds on what `apply` accepts. Default `DEFAULT_LIMITS`. */
  readonly limits?: Limits
  /** Who the deltas come from, for the `accept` hook. */
  readonly peer?: PeerLabel
}

export class Engine {
  readonly replica: Replica
  private readonly limits: Limits
  private readonly peer: PeerLabel
  private readonly slot: UpdateSlot = { rec: null as unknown as Rec, prev: undefined, rprev: undefined }

  /**
   * Over a new replica (defaults: last write wins, the default sort, a
   * history of 10), or over an existing one, which may also serve sessions.
   */
  constructor(opts: EngineOptions | Replica) {
    if (opts instanceof Replica) {
      this.replica = opts
      this.limits = DEFAULT_LIMITS
      this.peer = {}
      return
    }
    if (typeof opts !== 'object' || opts === null) throw new TypeError('new Engine(opts): opts must be an object such as { id: "a" }, or a Replica')
    checkEngineOptions(opts)
    const limits = limitsOf(opts.limits, 'new Engine(opts): opts.limits')
    // Peers refuse records of an id (or generation) they cannot take: refused here as Gossip refuses them.
    checkNodeId(opts.id, limits.maxIdLength, 'Engine id')
    if (opts.gen !== undefined) checkNodeId(opts.gen, limits.maxIdLength, 'Engine gen')
    this.replica = new Replica({ resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, maxValueBytes: limits.maxValueBytes, ...opts })
    this.limits = limits
    this.peer = opts.peer ?? {}
  }

  get id(): string {
    return this.replica.id
  }

  /** This node's clock as a digest: every source it knows, with its version (and gc floor when any). */
  digest(): DigestEntry[] {
    const out: DigestEntry[] = []
    for (const s of this.replica.clock.values()) {
      const e: { source_id: string; version: number; gen?: string; gc?: number } = { source_id: s.id, version: s.clock }
      if (s.gen !== undefined) e.gen = s.gen
      if (s.gc > 0) e.gc = s.gc
      out.push(e)
    }
    return out
  }

  /**
   * What a peer whose digest is `peer` lacks, ordered and cut at `mtu` (see
   * the rules above). Throws a `RangeError` or `TypeError` for an `mtu`
   * that is not a non-negative integer or Infinity, an `order` other than
   * 'depth' or 'breadth', or a `random` that is not a function.
   */
  deltasFor(peer: Iterable<DigestEntry>, opts: DeltaOptions): DeltaSet {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('deltasFor(peer, opts): opts must be an object such as { mtu, order, random }')
    const order = checkDeltaOptions(opts.mtu, opts.order, opts.random)
    const theirs = new Map<string, number>()
    for (const e of peer) {
      const k = sourceKey(e.source_id, e.gen)
      const v = Number.isFinite(e.version) && e.version > 0 ? Math.floor(e.version) : 0
      if ((theirs.get(k) ?? 0) < v) theirs.set(k, v)
    }
    const floorOf = (src: Source) => theirs.get(src.key) ?? 0
    const { candidates, total } = plan(this.replica, floorOf, false, 0, () => 0)
    const mtu = opts.mtu
    const sel = candidates.length === 0 ? null : selectDelta(candidates, mtu, order, opts.random)
    const deltas: Delta[] = []
    const linked = new Set<Source>()
    for (const rec of sel?.recs ?? []) {
      const src = this.replica.sourceOf(rec)
      const floor = floorOf(src)
      if (src.gc > floor) {
        // Forgotten tombstones above the peer's entry: we cannot vouch for the gap.
        deltas.push(encodePush(rec, rec.version - 1))
      } else if (!linked.has(src)) {
        // The source's first record links to the digest entry it answers; the rest chain from it.
        linked.add(src)
        deltas.push(encodePush(rec, floor))
      } else deltas.push(rec)
    }
    const truncated = sel?.truncated === true
    if (!truncated) heldAbove(this.replica, floorOf, mtu - deltas.length, (rec) => deltas.push(encodePush(rec, rec.version - 1)))
    return { deltas, candidates: total, truncated }
  }

  /**
   * Apply a response to one of this node's digests (another engine's
   * `deltasFor`, in its order). Each object is validated as untrusted input;
   * the response's chain links move clocks once it is all applied.
   */
  apply(deltas: Iterable<unknown>): ApplyResult {
    const r: ApplyResult = { applied: 0, rejected: 0, redundant: 0, refused: 0, advanced: 0, reasons: [] }
    const replica = this.replica
    const redundantBefore = replica.stats.redundant
    const inbound = new Inbound(replica, this.peer, null, true)
    const slot = this.slot
    for (const obj of deltas) {
      const bad = typeof obj !== 'object' || obj === null || Array.isArray(obj) ? 'expected an update object' : readUpdate(obj as Record<string, unknown>, this.limits, false, slot)
      if (bad !== null) {
        r.refused++
        r.reasons.push(bad)
        // An invalid record of a known source still breaks that source's chain.
        const o = obj as { source_id?: unknown; gen?: unknown } | null
        if (o !== null && typeof o === 'object' && typeof o.source_id === 'string') {
          inbound.breakChain(o.source_id, typeof o.gen === 'string' ? o.gen : undefined, Infinity)
        }
        continue
      }
      const applied = replica.stats.applied
      const outcome = inbound.take(slot.rec, slot.prev, true, 0)
      if ('refused' in outcome) {
        r.refused++
        r.reasons.push(outcome.refused)
      } else if (replica.stats.applied > applied) r.applied++
      else r.rejected++
    }
    r.advanced = inbound.commit()
    r.redundant = replica.stats.redundant - redundantBefore
    return r
  }

  /**
   * A local write; returns the record (stamped with its version). A finite
   * number as `key` is taken as its string, as `Gossip.set` does; a key
   * over `limits.maxKeyLength` is refused (peers would refuse it).
   */
  set(key: string | number, value: JsonValue): Rec {
    return this.write(key, value, false)
  }

  /** A local delete (a tombstone); returns it. Keys as for `set`. */
  del(key: string | number): Rec {
    return this.write(key, null, true)
  }

  private write(key: string | number, value: JsonValue, deleted: boolean): Rec {
    if (typeof key === 'number' && Number.isFinite(key)) key = String(key)
    if (typeof key !== 'string') throw new TypeError(`key must be a string (or a finite number), got ${typeof key === 'number' ? key : typeof key}`)
    if (key.length > this.limits.maxKeyLength) throw new RangeError(`key longer than limits.maxKeyLength (${this.limits.maxKeyLength})`)
    if (reservedKey(key)) throw reservedKeyError()
    return this.replica.writeLocal(key, deleted ? null : frozenJson(value, this.limits.maxValueDepth, this.limits.maxValueBytes), deleted).rec
  }

  /** The value and version held for `key` (`{version: -Infinity, value: null}` when absent or deleted). */
  get(key: string | number): Versioned {
    return this.replica.get(String(key))
  }

  /** The version this node holds of `key`, tombstones included; 0 when it holds nothing. */
  versionOf(key: string | number): number {
    return this.replica.record(String(key))?.version ?? 0
  }

  /** The whole record held for `key`, tombstones included. */
  record(key: string | number): Rec | undefined {
    return this.replica.record(String(key))
  }

  /** This node's clock for a source; 0 when it holds nothing of it. */
  clockOf(source_id: string, gen?: string): number {
    return this.replica.clock.find(source_id, gen)?.clock ?? 0
  }
}

/** The functions and numbers of `EngineOptions`, checked as `Gossip` checks its config: a wrong type fails here, not at every record. */
function checkEngineOptions(opts: EngineOptions): void {
  for (const name of ['resolve', 'sort', 'now', 'time', 'sign', 'verify', 'accept'] as const) {
    const f = opts[name]
    if (f !== undefined && typeof f !== 'function') throw new TypeError(`new Engine(opts): opts.${name} must be a function, got ${f === null ? 'null' : typeof f}`)
  }
  const count = (name: 'maxHistory' | 'maxSources' | 'maxValueBytes', v: unknown) => {
    if (v !== undefined && !(v === Infinity || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1))) throw new RangeError(`new Engine(opts): opts.${name} must be a positive integer or Infinity, got ${String(v)}`)
  }
  count('maxHistory', opts.maxHistory)
  count('maxSources', opts.maxSources)
  count('maxValueBytes', opts.maxValueBytes)
  const offset = opts.maxOffset
  if (offset !== undefined && !(typeof offset === 'number' && offset >= 0 && !Number.isNaN(offset))) throw new RangeError(`new Engine(opts): opts.maxOffset must be a non-negative number of µs, got ${String(offset)}`)
}
