/**
 * Flow control of update rates, as in the Scuttlebutt paper (van Renesse et
 * al., LADIS 2008, section 4): when the network cannot carry every update,
 * participants agree on how fast each of them may write.
 *
 * Every participant p has a *desired* rate ρ_p (how fast the application
 * would like to write) and an *allowed* rate τ_p; it writes at min(ρ_p, τ_p).
 * Rates are in updates per second.
 *
 * Two mechanisms move τ:
 * - **Pairwise redistribution** at every exchange (`share`, `redistribute`):
 *   both sides learn (ρ, τ) of the other and split their joint allowance
 *   S = τ_p + τ_q so that each gets its desire plus half of the surplus,
 *   τ'_p = ρ_p + (S − ρ_p − ρ_q) / 2. Where the surplus is negative (the pair
 *   wants more than S) the split is max-min fair instead: both get S/2 when
 *   both want at least that much, otherwise the smaller desire is granted in
 *   full and the other side gets the rest. Invariants: one side is
 *   computed and the other is S minus it, so τ'_p + τ'_q = S (exactly,
 *   except where a granted desire leaves a rest that needs rounding); a
 *   granted desire is granted exactly; the split does not depend on which
 *   side computes it; no τ' is negative when τ_p, τ_q, ρ_p, ρ_q are not.
 *   Redistribution never changes the cluster's total allowance.
 * - **AIMD** on the total (`FlowControl.sent`): after each message a node
 *   sends, it compares how many deltas it wanted to send (the candidates)
 *   with the MTU. φ1 consecutive overflows (candidates > MTU) multiply τ by
 *   α; φ2 consecutive messages that fit (candidates ≤ MTU) add β. Either
 *   event resets both counters; an overflow breaks a run of fits and a fit
 *   breaks a run of overflows. τ stays positive: α is in (0, 1], β ≥ 0.
 *
 * Units: β is an amount of rate (updates per second) added at each increase
 * event, as in the paper; it is not multiplied by elapsed time. With one
 * exchange started per second, a node sends about two delta messages per
 * second (its own exchange and the one a random peer starts with it).
 *
 * Pure: no timers, no clock, no randomness. Time enters only as the `dt`
 * of `allowance`, given by the caller.
 */

export interface FlowOptions {
  /** Multiplicative decrease factor, in (0, 1]. Default 0.75. */
  readonly alpha?: number
  /** Additive increase, in updates per second, per increase event. Default 0.05. */
  readonly beta?: number
  /** Consecutive overflowing messages that trigger a decrease. Default 3. */
  readonly phi1?: number
  /** Consecutive messages that fit that trigger an increase. Default 3. */
  readonly phi2?: number
}

/** The paper's parameters (section 4, Figure 3). */
export const FLOW_DEFAULTS: Readonly<Required<FlowOptions>> = Object.freeze({ alpha: 0.75, beta: 0.05, phi1: 3, phi2: 3 })

/** One participant's rates, as carried by an exchange. */
export interface Rates {
  /** ρ: the rate the application would like to write at. */
  readonly desired: number
  /** τ: the rate it may write at. */
  readonly allowed: number
}

/** What one call to `FlowControl.sent` did to τ. */
export type AimdEvent = 'decrease' | 'increase' | null

/** The rate a participant actually writes at: min(ρ, τ). */
export function effectiveRate(r: Rates): number {
  return Math.min(r.desired, r.allowed)
}

/**
 * The new allowed rate of `self` after an exchange with `peer`: the first
 * of `redistribute(self, peer)`. Each side computes its own share from the
 * same four numbers, and `share(q, p)` is the second of `redistribute(p,
 * q)`: the two sides' shares add up as `redistribute` says.
 */
export function share(self: Rates, peer: Rates): number {
  return redistribute(self, peer)[0]
}

/**
 * Both new allowed rates of a pair. One side's rate is computed directly
 * and the other's as the total minus it, the side chosen from the four
 * numbers alone (not from the order of the arguments), so
 * `redistribute(q, p)` is exactly the swap of `redistribute(p, q)`:
 * - equal desires, or capacity short and both wanting at least half: both
 *   get S/2;
 * - capacity short otherwise: the smaller desire is granted exactly, and
 *   the other side gets S minus it (rounded to the nearest double: the two
 *   add up to S within that rounding, which no split that grants a desire
 *   exactly can always avoid);
 * - enough capacity: the side with the larger desire gets its desire plus
 *   half the surplus (at least S/2), the other S minus that; S minus a
 *   number in [S/2, S] is exact, so the two add up to S exactly.
 * Neither is negative when the inputs are not.
 */
export function redistribute(p: Rates, q: Rates): [number, number] {
  const total = p.allowed + q.allowed
  const wanted = p.desired + q.desired
  const half = total / 2
  if (p.desired === q.desired) return [half, half]
  const pLarger = p.desired > q.desired
  let small: number
  if (wanted <= total) {
    const large = (pLarger ? p.desired : q.desired) + (total - wanted) / 2
    // In [S/2, S] as a real; kept there against rounding, so that S − large is exact.
    const big = large > half ? (large < total ? large : total) : half
    small = total - big
    return pLarger ? [big, small] : [small, big]
  }
  // Short: max-min fairness over [0, S].
  small = pLarger ? q.desired : p.desired
  if (small >= half) return [half, half]
  const big = total - small
  return pLarger ? [big, small] : [small, big]
}

function check(name: string, v: number, ok: boolean): void {
  if (!ok) throw new RangeError(`flow control: ${name} is out of range (${v})`)
}

/** A rate: a non-negative finite number (of updates per second). */
function checkRate(name: string, v: number): number {
  check(name, v, typeof v === 'number' && v >= 0 && Number.isFinite(v))
  return v
}

/**
 * One participant's flow-control state: ρ, τ and the AIMD counters.
 *
 * Invariants: `desired` and `allowed` are finite and ≥ 0 (the setters
 * refuse anything else), and `allowed` > 0 while it and every desire it meets
 * are (a participant that desires nothing may be granted nothing); `over`
 * < φ1 and `under` < φ2 between calls; at most one of them is non-zero.
 */
export class FlowControl implements Rates {
  private rho: number
  private tau: number
  /** Consecutive overflowing messages since the last event. */
  over = 0
  /** Consecutive messages that fit since the last event. */
  under = 0
  readonly alpha: number
  readonly beta: number
  readonly phi1: number
  readonly phi2: number
  /** Fractional writes owed by `allowance`, in [0, 1); a caller may seed it to spread writes. */
  credit = 0

  constructor(desired: number, allowed: number, opts: FlowOptions = {}) {
    this.alpha = opts.alpha ?? FLOW_DEFAULTS.alpha
    this.beta = opts.beta ?? FLOW_DEFAULTS.beta
    this.phi1 = opts.phi1 ?? FLOW_DEFAULTS.phi1
    this.phi2 = opts.phi2 ?? FLOW_DEFAULTS.phi2
    check('alpha', this.alpha, this.alpha > 0 && this.alpha <= 1)
    check('beta', this.beta, this.beta >= 0 && Number.isFinite(this.beta))
    check('phi1', this.phi1, Number.isInteger(this.phi1) && this.phi1 >= 1)
    check('phi2', this.phi2, Number.isInteger(this.phi2) && this.phi2 >= 1)
    this.rho = checkRate('desired', desired)
    this.tau = checkRate('allowed', allowed)
  }

  /** ρ: a non-negative finite number of updates per second; setting anything else throws a `RangeError`. */
  get desired(): number {
    return this.rho
  }

  set desired(v: number) {
    this.rho = checkRate('desired', v)
  }

  /** τ: a non-negative finite number of updates per second; setting anything else throws a `RangeError`. */
  get allowed(): number {
    return this.tau
  }

  set allowed(v: number) {
    this.tau = checkRate('allowed', v)
  }

  /** min(ρ, τ): the rate this participant writes at. */
  get rate(): number {
    return Math.min(this.desired, this.allowed)
  }

  /** (ρ, τ) as carried by an exchange. */
  rates(): Rates {
    return { desired: this.desired, allowed: this.allowed }
  }

  /** Take this side's share after an exchange in which the peer carried `peer`. */
  exchange(peer: Rates): void {
    checkRate('the peer\'s desired', peer.desired)
    checkRate('the peer\'s allowed', peer.allowed)
    this.allowed = share(this, peer)
  }

  /** Redistribute between two participants that just exchanged (a simulator sees both). */
  static pair(p: FlowControl, q: FlowControl): void {
    const [a, b] = redistribute(p, q)
    p.allowed = a
    q.allowed = b
  }

  /**
   * A message just went out: `candidates` deltas wanted to go, `mtu` could.
   * Applies AIMD and says what it did. `candidates` is a non-negative
   * integer, `mtu` a non-negative integer or Infinity (no limit: every
   * message fits); anything else throws a `RangeError` and changes nothing.
   */
  sent(candidates: number, mtu: number): AimdEvent {
    check('candidates', candidates, Number.isSafeInteger(candidates) && candidates >= 0)
    check('mtu', mtu, mtu === Infinity || (Number.isSafeInteger(mtu) && mtu >= 0))
    if (candidates > mtu) {
      this.under = 0
      if (++this.over < this.phi1) return null
      this.over = 0
      this.tau *= this.alpha
      return 'decrease'
    }
    this.over = 0
    if (++this.under < this.phi2) return null
    this.under = 0
    this.tau = Math.min(Number.MAX_VALUE, this.tau + this.beta)
    return 'increase'
  }

  /**
   * How many writes this participant may make in the next `dt` seconds at
   * min(ρ, τ); fractions carry over to the next call, so over any run of
   * calls the count is the integral of the rate, rounded down.
   */
  allowance(dt: number): number {
    this.credit += this.rate * dt
    const n = Math.floor(this.credit)
    this.credit -= n
    return n
  }
}
