import type { OwnLife } from './own-life.ts'

/**
 * Getting this node's own earlier writes back from one peer (see
 * own-life.ts). When the peer's digest shows our own source where we lack
 * records, our next digest on this link claims nothing of our own source,
 * so the peer's answer carries every record of it the peer holds; the
 * whole answer to that digest ends the recovery. Digests are otherwise
 * exact: a node with nothing to recover claims its clock, as always.
 */
export class SelfRecovery {
  /** The highest claim of the peer that showed a loss; 0 when none is pending. */
  private wanted = 0
  /** A digest of ours claimed nothing of our own source since the loss was seen. */
  private asked = false

  constructor(private readonly life: OwnLife) {}

  /** The peer claims our own source at `version`. Returns true when that newly shows a loss. */
  seen(version: number): boolean {
    if (!this.life.lacks(version)) return false
    const fresh = this.wanted === 0
    if (version > this.wanted) this.wanted = version
    return fresh
  }

  /** The version a digest of ours claims for our own source, whose clock is `clock`. */
  claim(clock: number): number {
    if (this.wanted === 0) return clock
    this.asked = true
    return 0
  }

  /**
   * A whole answer to a digest of ours arrived. The first after one that
   * claimed nothing of ours ends the recovery: the peer sent all it held.
   * (An answer to an earlier digest crossing it ends it too soon; the
   * fingerprint checks then find what is still missing, later.)
   */
  answered(): void {
    if (!this.asked) return
    this.life.recovered(this.wanted)
    this.wanted = 0
    this.asked = false
  }
}
