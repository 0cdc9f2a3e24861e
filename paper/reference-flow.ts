/**
 * The paper's flow control (section 4) in plain arithmetic, written from its
 * definitions with none of the library's flow-control code: the yardstick
 * the library's `NodeFlow`/`FlowLink` run of Figure 3 is compared with.
 *
 * Per participant: ρ, τ, and the AIMD counters. An exchange between p and q
 * splits S = τ_p + τ_q: each gets its desire plus half the surplus when the
 * pair wants no more than S, else S/2 each (the max-min fair split when, as
 * in Figure 3, every participant desires the same ρ, the only case this
 * model covers). After each delta message a participant sends: `phi1` overflows in
 * a row (more deltas wanted than the MTU) multiply τ by α, `phi2` messages
 * in a row that fit add β; either event resets both counters. A
 * participant writes at min(ρ, τ), fractions carried over. No trust rule and
 * no throttles: the paper has neither.
 */
export class ReferenceFlow {
  readonly tau: Float64Array
  private readonly over: Int32Array
  private readonly under: Int32Array
  private readonly credit: Float64Array

  constructor(
    n: number,
    readonly desired: number,
    initial: number,
    credit: readonly number[],
    readonly alpha: number,
    readonly beta: number,
    readonly phi1: number,
    readonly phi2: number,
  ) {
    this.tau = new Float64Array(n).fill(initial)
    this.over = new Int32Array(n)
    this.under = new Int32Array(n)
    this.credit = Float64Array.from(credit)
  }

  /** Writes participant p makes in the next `dt` seconds. */
  allowance(p: number, dt: number): number {
    this.credit[p] += Math.min(this.desired, this.tau[p]) * dt
    const due = Math.floor(this.credit[p])
    this.credit[p] -= due
    return due
  }

  /** p and q exchanged (ρ, τ): both take their share of τ_p + τ_q (every participant desires the same ρ). */
  exchange(p: number, q: number): void {
    const sum = this.tau[p] + this.tau[q]
    const rho = this.desired
    const mine = 2 * rho <= sum ? rho + (sum - 2 * rho) / 2 : sum / 2
    this.tau[p] = mine
    this.tau[q] = sum - mine
  }

  /** Participant p sent a delta message for which `wanted` deltas were candidates. */
  sent(p: number, wanted: number, mtu: number): void {
    if (wanted > mtu) {
      this.under[p] = 0
      if (++this.over[p] >= this.phi1) {
        this.over[p] = 0
        this.tau[p] *= this.alpha
      }
    } else {
      this.over[p] = 0
      if (++this.under[p] >= this.phi2) {
        this.under[p] = 0
        this.tau[p] += this.beta
      }
    }
  }
}
