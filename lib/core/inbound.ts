/** What becomes of each update a peer sends: applied, lost under `resolve`, dropped as old, or refused (and the chain broken). */
import { refusedForGood } from './admission.ts'
import { BAD_SIGNATURE } from './refusals.ts'
import { Holes } from './holes.ts'
import { isLimitReason, isVersion } from '../protocol/validate.ts'
import type { Source } from './clock.ts'
import { RefusedError, type LocalListener, type Replica } from './replica.ts'
import { compareValues } from './resolve.ts'
import type { PeerLabel, Rec } from './types.ts'
import { sourceKey } from './types.ts'

/** The wait between refetches on one link, from its least to its most (see `Inbound`). */
const REFETCH_MIN_MS = 1000
const REFETCH_MAX_MS = 60_000

/** Ids of sources this node does not know that one link keeps chain state for, at most (until the next refetch). */
export const MAX_STRANGERS = 1024

/** What became of one update from the peer. */
export type Outcome =
  /** Applied (`applied`), or lost under `resolve`: either way taken into account. */
  | { readonly taken: Source; readonly applied: boolean }
  /** Dropped on purpose: the peer is behind our gc floors and the record is old. */
  | { readonly dropped: true }
  /** Refused, and why. */
  | { readonly refused: string }

/**
 * How one peer's updates move this node's clocks.
 *
 * Invariants:
 * - A clock moves only along a link whose `prev` it covers: explicit, or
 *   inside a response on a reliable link the record of the same source the
 *   peer sent before it on this link (`heads`, from 0; with `linkedHeads`,
 *   explicitly linked records count among those sent before).
 * - Links inside a response are `earned` and take effect only when the peer
 *   ends the response (or a part of it) with a marker (`commit`): an update
 *   pushed into a response that never ends moves nothing.
 * - Outside a response an explicit link (a push or a relay, linked to what
 *   the sender knows we hold) moves the clock at once; an update without
 *   one moves nothing.
 * - A record not taken breaks its chain: later links of its source on this
 *   link do not pass it, no clock entry of the peer is adopted at or above
 *   it (`cap`), and a refetch is due. Refetches back off: the next comes
 *   no sooner than `wait` after the last began, doubling from 1 s to a
 *   minute while records keep being refused, and starting again from 1 s
 *   after a minute without a refusal (on `replica.timeMs()`, where a step
 *   back of the wall clock is no time: wait-clock.ts). So a record
 *   refused for a while is fetched soon after it can be taken, and records refused for good (or
 *   two nodes refusing each other's) cost a refetch a minute, never a
 *   loop. A record this node's own `accept` refuses, or one of a source
 *   `verify` holds no key for, breaks nothing: it will never be taken,
 *   and is passed over as if held (`passOver`). Nor does one with a bad
 *   signature (a relay of a record signed with a key this node does not
 *   hold cannot be told from a forgery): it is passed over inside a
 *   response only, where the responder could have left it out anyway.
 * - Chain state is bounded: per known source (at most `maxSources`), and
 *   for at most `MAX_STRANGERS` ids this node does not know (forgotten at
 *   each refetch). Past that, a record of an unknown source that is not
 *   taken sets `unknownBroken` instead (and a refetch is due): until the
 *   refetch no response record of a source without a head here moves a
 *   clock, and no clock entry above our own clock is adopted for a source
 *   without a recorded break.
 */
export class Inbound {
  /** Per source key, the implicit `prev` of the peer's next response record of that source. */
  private readonly heads = new Map<string, number>()
  /** Per source, how far the links of the response in progress carry our clock. */
  private readonly earned = new Map<Source, number>()
  /** Per source key, the lowest version of a record not taken since the last refetch. */
  private readonly broken = new Map<string, number>()
  /** A record was not taken since the last refetch began. */
  private broke = false
  /** When the last refetch began, and the wait before the next (0 before the first); when a record was last not taken. */
  private refetchAt = -Infinity
  private wait = 0
  private brokeAt = -Infinity
  /** A record of a source not known here was not taken since the last refetch, and not recorded (see the invariants). */
  private unknownBroken = false
  /** Keys of unknown sources with chain state here (at most MAX_STRANGERS). */
  private readonly strangers = new Set<string>()

  /**
   * `linkedHeads`: inside a response, a record with an explicit link is
   * also the head its source's next unlinked record chains from (the
   * Engine's responses link each source's first record to the digest they
   * answer, the rest implicitly). Sessions leave it off: there the heads
   * follow what the responder noted as sent on the link, which records
   * sent outside their chain are not.
   */
  constructor(
    private readonly replica: Replica,
    private readonly peer: PeerLabel,
    private readonly from: LocalListener | null,
    private readonly linkedHeads = false,
  ) {}

  /**
   * One validated update. `inResponse`: a response of the peer to a digest
   * of ours is open; `dropAtOrBelow`: the peer is behind our gc floors.
   */
  take(rec: Rec, prev: number | undefined, inResponse: boolean, dropAtOrBelow: number): Outcome {
    if (rec.version <= dropAtOrBelow) {
      // Dropped on purpose (it may be a record a forgotten tombstone deleted): not asked for again.
      this.stopChain(rec.source_id, rec.gen, rec.version)
      return { dropped: true }
    }
    const replica = this.replica
    // A copy of the record held is admitted as it was (no signature check
    // again: a resent answer costs no crypto); it changes nothing. A copy
    // means the same content too: one with the held record's identity and
    // signature but another value (or deletedness) is a forgery until
    // `verify` and `accept` say otherwise.
    const held = replica.record(rec.key)
    const same =
      held !== undefined &&
      held.version === rec.version &&
      held.source_id === rec.source_id &&
      held.gen === rec.gen &&
      held.sig === rec.sig &&
      (held.deleted === true) === (rec.deleted === true) &&
      compareValues(held.value, rec.value) === 0
    const refused = same ? null : replica.admit(rec, this.peer)
    const src = refused === null ? replica.admitSource(rec) : undefined
    if (refused !== null || src === undefined) {
      // A bad signature is passed over without moving a clock: inside a
      // response the next record's link passes it (as it would a record
      // the responder left out), and outside one nothing moves, since a
      // forger's link could otherwise carry our clock past real records.
      if (refused === BAD_SIGNATURE) {
        if (inResponse && !this.unprovenHole(rec.source_id, rec.gen, rec.key, rec.version)) this.breakChain(rec.source_id, rec.gen, rec.version)
        return { refused }
      }
      if (refused === null || !refusedForGood(refused) || !this.hole(rec.source_id, rec.gen, rec.key, rec.version)) this.breakChain(rec.source_id, rec.gen, rec.version)
      else if (prev !== undefined && !inResponse) this.passOver(rec, prev)
      return { refused: refused ?? `too many sources (limits.maxSources is ${replica.maxSources})` }
    }
    // Share one copy of the id: records from a parser each carry their own.
    ;(rec as { source_id: string }).source_id = src.id
    replica.clock.holes.taken(src, rec.key, rec.version)
    let link = prev
    let own = false
    if (inResponse) {
      if (link === undefined || this.linkedHeads) {
        const head = this.heads.get(src.key)
        if (link === undefined) link = head ?? (this.unknownBroken ? undefined : 0)
        if (head === undefined || rec.version > head) this.heads.set(src.key, Math.max(head ?? 0, rec.version))
      }
    } else own = link !== undefined
    let applied: boolean
    try {
      applied = replica.applyRemote(rec, src, this.from)
    } catch (err) {
      if (!(err instanceof RefusedError)) throw err
      this.breakKnown(src.key, rec.version)
      return { refused: err.reason }
    }
    if (link !== undefined) {
      if (own) {
        if (src.clock >= link) replica.advance(src, rec.version)
      } else {
        const reach = Math.max(src.clock, this.earned.get(src) ?? 0)
        if (reach >= link && rec.version > reach) this.earned.set(src, rec.version)
      }
    }
    // Passed on at once to the other peers that lack it (prompt relay).
    if (applied) replica.relayFrom(rec, src, this.from)
    return { taken: src, applied }
  }

  /**
   * An object from the peer failed validation: whether it counts against
   * the link. One over a limit of ours does not (a peer's limits may be
   * larger): a record is passed over as one refused for good, noted as a
   * hole (inside a response the next record's link passes it).
   */
  invalid(reason: string, obj: unknown): boolean {
    if (!isLimitReason(reason)) return true
    const o = obj as { key?: unknown; source_id?: unknown; gen?: unknown; version?: unknown } | null
    if (o === null || typeof o !== 'object' || typeof o.source_id !== 'string' || !isVersion(o.version)) return false
    const gen = typeof o.gen === 'string' ? o.gen : undefined
    const key = typeof o.key === 'string' && !reason.startsWith('update key') ? o.key : Holes.keyless(o.version)
    if (!this.unprovenHole(o.source_id, gen, key, o.version)) this.breakChain(o.source_id, gen, o.version)
    return false
  }

  /**
   * A hole for a record whose source and version nothing proves (a bad
   * signature, or an object refused before its signature was checked). In
   * a signed cluster none is made: anyone could claim any source's
   * version, and a hole, lasting while the node runs, would lower for good
   * the clock it vouches for an honest source. The record is passed over
   * all the same.
   */
  private unprovenHole(source_id: string, gen: string | undefined, key: string, version: number): boolean {
    return this.replica.verifies || this.hole(source_id, gen, key, version)
  }

  /** A record passed over without being held: a hole (false: none is left, and the record must not be passed over). */
  private hole(source_id: string, gen: string | undefined, key: string, version: number): boolean {
    const src = this.replica.clock.find(source_id, gen)
    return src === undefined || this.replica.clock.holes.add(src, key, version)
  }

  /**
   * A push or relay our own `accept` refused: it will never be taken, so it
   * is passed over as if held, and its link moves the clock past it (inside
   * a response, the next record's implicit link already passes over it).
   */
  private passOver(rec: Rec, prev: number): void {
    const src = this.replica.clock.find(rec.source_id, rec.gen)
    if (src !== undefined && src.clock >= prev && rec.version > src.clock) this.replica.advance(src, rec.version)
  }

  /** The peer ended (part of) a response: the clock moves its links earned take effect. Returns how many. */
  commit(): number {
    const n = this.earned.size
    for (const [src, v] of this.earned) this.replica.advance(src, v)
    this.earned.clear()
    return n
  }

  /** The highest version of `src` a clock entry of the peer may be adopted at: below any break. */
  cap(src: Source, version: number): number {
    const b = this.broken.get(src.key)
    if (b === undefined) return this.unknownBroken ? Math.min(version, src.clock) : version
    return b <= version ? b - 1 : version
  }

  /**
   * A record was not taken and the backoff since the last refetch has
   * passed: the next exchange should ask from exactly our clock (a node
   * whose peer starts every exchange starts one for it).
   */
  get refetchDue(): boolean {
    return this.broke && this.replica.timeMs() - this.refetchAt >= this.wait
  }

  /** A refetch is starting: records not taken are asked for again; the next waits twice as long. */
  refetching(): void {
    this.refetchAt = this.replica.timeMs()
    this.wait = this.wait === 0 ? REFETCH_MIN_MS : Math.min(2 * this.wait, REFETCH_MAX_MS)
    this.broke = false
    this.broken.clear()
    this.unknownBroken = false
    for (const key of this.strangers) this.heads.delete(key)
    this.strangers.clear()
  }

  /** A record of this source was not taken (see the invariants). */
  breakChain(source_id: string, gen: string | undefined, version: number): void {
    const key = this.chainKey(source_id, gen)
    if (key !== null) this.breakKnown(key, version)
  }

  private breakKnown(key: string, version: number): void {
    if ((this.heads.get(key) ?? 0) < version) this.heads.set(key, version)
    const b = this.broken.get(key)
    if (b === undefined || version < b) this.broken.set(key, version)
    this.refused()
  }

  /** A record was not taken: a refetch is due (after the backoff, which a minute without refusals resets). */
  private refused(): void {
    const now = this.replica.timeMs()
    if (now - this.brokeAt >= REFETCH_MAX_MS) this.wait = 0
    this.brokeAt = now
    this.broke = true
  }

  private stopChain(source_id: string, gen: string | undefined, version: number): void {
    const key = this.chainKey(source_id, gen)
    if (key !== null && (this.heads.get(key) ?? 0) < version) this.heads.set(key, version)
  }

  /** The key to keep chain state under, or null (unknownBroken set) past MAX_STRANGERS unknown ids. */
  private chainKey(source_id: string, gen: string | undefined): string | null {
    const src = this.replica.clock.find(source_id, gen)
    if (src !== undefined) return src.key
    const key = sourceKey(source_id, gen)
    if (this.strangers.has(key)) return key
    if (this.strangers.size < MAX_STRANGERS) {
      this.strangers.add(key)
      return key
    }
    this.unknownBroken = true
    this.refused()
    return null
  }
}
