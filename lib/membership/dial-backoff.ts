/**
 * Dialling members without becoming a reflector. Pure: time and randomness
 * are passed in, addresses come normalised (one key per host and port; the
 * transport's `addressKey`).
 *
 * A member's address is whatever its record says, and in a cluster without
 * signed records any peer can gossip records (one per invented id) naming
 * any address. Three rules bound what that can make a node dial, whatever
 * the number of such records (after memberlist's and chitchat's choice of
 * dialling only what the node itself decides, at its own pace):
 *
 * - **Backoff per address.** A dial that fails, or whose hello shows
 *   another node than the record's id, holds its address back for a delay
 *   that doubles from `initial` to `max`, less up to half of it at random
 *   (so nodes that lost the same member do not redial together). A hello
 *   with the expected id clears it. At most `maxAddresses` addresses are
 *   remembered (the oldest go first) and one unused for `max` past its
 *   delay is forgotten.
 * - **One member per address.** Of the ids that claim one address, one is
 *   dialled: none while the address is linked, dialled, or this node's.
 * - **A rate.** New member dials take a token from a bucket of `burst`
 *   tokens refilled at `perRound` a round: a flood of records cannot raise
 *   a node's dial rate above it. Seeds (the operator's list) are not
 *   counted, so no flood can keep a node from its seeds.
 */
import type { RandomFn } from '../core/types.ts'

export interface DialLimits {
  /** First delay after a failed dial of an address, ms (the shortest is half of it). */
  readonly initial: number
  /** Longest delay, ms. */
  readonly max: number
  /** New member dials allowed a round, sustained. */
  readonly perRound: number
  /** New member dials allowed at once (the bucket's size). */
  readonly burst: number
  /** Addresses whose failures are remembered. */
  readonly maxAddresses: number
}

/** Defaults; `burst` defaults to the view's size where a view is known. */
export const DIAL_LIMITS: DialLimits = Object.freeze({ initial: 1000, max: 300_000, perRound: 1, burst: 6, maxAddresses: 4096 })

/** Check dial limits; returns a complete, frozen copy. */
export function dialLimits(given: Partial<DialLimits> = {}, base: DialLimits = DIAL_LIMITS): DialLimits {
  const o: DialLimits = { ...base, ...given }
  for (const [k, v] of Object.entries(o)) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`dial ${k} must be a positive number, got ${String(v)}`)
  }
  if (o.max < o.initial) throw new RangeError('dial max must be at least initial')
  if (!Number.isInteger(o.maxAddresses)) throw new RangeError('dial maxAddresses must be an integer')
  return Object.freeze(o)
}

/** The delay's ceiling after `failures` (1, 2, ...) failures in a row: min(max, initial * 2^(failures - 1)). */
export function delayCeiling(failures: number, limits: DialLimits): number {
  return Math.min(limits.max, limits.initial * Math.pow(2, Math.min(Math.max(failures, 1) - 1, 64)))
}

/** The delay after `failures` failures in a row: between half of its ceiling and all of it. */
export function dialDelay(failures: number, random: RandomFn, limits: DialLimits): number {
  const c = delayCeiling(failures, limits)
  return Math.ceil(c / 2 + random() * (c / 2))
}

/**
 * The most dials of one address within `span` ms, each but the last
 * failing: the first at once, each next one after the shortest delay.
 */
export function maxAttemptsWithin(span: number, limits: DialLimits): number {
  let n = 1
  for (let t = delayCeiling(1, limits) / 2; t <= span; t += delayCeiling(n, limits) / 2) n++
  return n
}

/** The most new member dials in `rounds` rounds of `interval` ms: the bucket full at the start, then the refill. */
export function maxDialsWithin(rounds: number, limits: DialLimits): number {
  return Math.floor(limits.burst + rounds * limits.perRound)
}

interface Held {
  failures: number
  /** Not dialled before this time, ms. */
  until: number
}

/** One node's dial backoff (per address key) and dial rate. */
export class DialGate {
  private readonly held = new Map<string, Held>()
  private tokens: number
  private last: number

  constructor(
    readonly limits: DialLimits,
    /** The round interval, ms (the rate is per round). */
    private readonly interval: number,
    now: number,
  ) {
    this.tokens = limits.burst
    this.last = now
  }

  /** Whether `key` is held back at `now`. */
  holds(key: string, now: number): boolean {
    const h = this.held.get(key)
    if (h === undefined) return false
    if (now < h.until) return true
    if (now - h.until >= this.limits.max) this.held.delete(key)
    return false
  }

  /** Failures in a row of `key` (0 when none is remembered). */
  failures(key: string): number {
    return this.held.get(key)?.failures ?? 0
  }

  /** When `key` may be dialled again (-Infinity when it is not held). */
  until(key: string): number {
    return this.held.get(key)?.until ?? Number.NEGATIVE_INFINITY
  }

  /** A dial of `key` failed (or reached another node) at `now`; returns the delay it is held back for. */
  failed(key: string, now: number, random: RandomFn): number {
    const failures = this.failures(key) + 1
    const delay = dialDelay(failures, random, this.limits)
    this.held.delete(key) // re-insert: the map's order is the order of the last failure
    this.held.set(key, { failures, until: now + delay })
    while (this.held.size > this.limits.maxAddresses) this.held.delete(this.held.keys().next().value as string)
    return delay
  }

  /** A dial of `key` reached the node expected there: no backoff from now on. */
  succeeded(key: string): void {
    this.held.delete(key)
  }

  /** Addresses remembered. */
  get size(): number {
    return this.held.size
  }

  /** New member dials the bucket allows at `now` (whole ones). */
  budget(now: number): number {
    this.refill(now)
    return Math.floor(this.tokens)
  }

  /** Take `n` dials from the bucket. */
  spend(n: number, now: number): void {
    this.refill(now)
    this.tokens = Math.max(0, this.tokens - n)
  }

  private refill(now: number): void {
    if (now > this.last) this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.last) * this.limits.perRound) / this.interval)
    this.last = Math.max(this.last, now)
  }
}

/** A member the view might dial: its id and its address key. */
export interface Addressed {
  readonly id: string
  readonly addr: string
}

export interface Barred {
  /** Member ids not to dial this round. */
  readonly ids: Set<string>
  /** Addresses held back by their backoff. */
  readonly held: number
  /** Ids passed over because another node is at, or another id was picked for, their address. */
  readonly shared: number
}

/**
 * The members not to dial this round: those whose address is held back,
 * and all but one of the ids that claim one address. `members` in order of
 * preference (live before dead: the first id of an address is the one
 * kept); `taken`, the addresses already linked (to the id given), dialled
 * (to the id given, null for a seed) or this node's own (null).
 */
export function barred(members: Iterable<Addressed>, connected: ReadonlySet<string>, taken: ReadonlyMap<string, string | null>, gate: DialGate, now: number): Barred {
  const ids = new Set<string>()
  const picked = new Map<string, string | null>(taken)
  const heldKeys = new Set<string>()
  let shared = 0
  for (const m of members) {
    if (connected.has(m.id)) continue
    const at = picked.get(m.addr)
    if (at !== undefined) {
      ids.add(m.id)
      if (at !== m.id) shared++
    } else if (heldKeys.has(m.addr) || gate.holds(m.addr, now)) {
      ids.add(m.id)
      heldKeys.add(m.addr)
    } else picked.set(m.addr, m.id)
  }
  return { ids, held: heldKeys.size, shared }
}
