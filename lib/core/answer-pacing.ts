/**
 * How often a peer's requests (leg 1) are answered: at most once per
 * `interval` ms of the injected `now`. A request that comes sooner waits
 * (a later one replaces it) until the next input, read or exchange on the
 * link at or after that time. So a peer that loops requests gets answers
 * at the node's own pace, as an honest peer would, however cheap its
 * requests: each answer costs the node its whole clock and a response.
 * Likewise the exchanges of ours that a peer's response calls for (ask
 * again after a cut reply, recover our own records, send a source in
 * full): at most one per interval, the rest owed until then, so that a
 * peer cannot make us start exchanges in a loop either. (Resync replies,
 * which drain a backlog a cut at a time, go at once: see Session.)
 */
export interface Pacing {
  readonly interval: number
  readonly now: () => number
  /** Asked before the first answer; false: it waits (the node serves new sessions of that peer's host at a pace). */
  readonly first?: () => boolean
}

export class AnswerPacing {
  private last = -Infinity
  private lastAgain = -Infinity
  /** An exchange of ours waits for its time (`again`). */
  private againOwed = false
  private first: (() => boolean) | undefined

  constructor(private readonly pacing: Pacing | undefined) {
    this.first = pacing?.first
  }

  /** Whether an answer may go now; if so, it is counted. */
  take(): boolean {
    if (this.pacing === undefined) return true
    if (this.first !== undefined && !this.first()) return false
    this.first = undefined
    const t = this.pacing.now()
    if (t - this.last < this.pacing.interval) return false
    this.last = t
    return true
  }

  /** Whether an exchange of ours a response called for may start now; if not, it is owed (`owedAgain`). */
  again(): boolean {
    const t = this.pacing?.now() ?? 0
    if (this.pacing !== undefined && t - this.lastAgain < this.pacing.interval) return !(this.againOwed = true)
    this.lastAgain = t
    this.againOwed = false
    return true
  }

  /** Whether an owed exchange of ours may start now. */
  owedAgain(): boolean {
    return this.againOwed && this.again()
  }
}
