/**
 * How often a peer's requests (leg 1) are answered: at most once per
 * `interval` ms of the injected `now`. A request that comes sooner waits
 * (a later one replaces it) until the next input, read or exchange on the
 * link at or after that time. So a peer that loops requests gets answers
 * at the node's own pace, as an honest peer would, however cheap its
 * requests: each answer costs the node its whole clock and a response.
 */
export interface Pacing {
  readonly interval: number
  readonly now: () => number
}

export class AnswerPacing {
  private last = -Infinity

  constructor(private readonly pacing: Pacing | undefined) {}

  /** Whether an answer may go now; if so, it is counted. */
  take(): boolean {
    if (this.pacing === undefined) return true
    const t = this.pacing.now()
    if (t - this.last < this.pacing.interval) return false
    this.last = t
    return true
  }
}
