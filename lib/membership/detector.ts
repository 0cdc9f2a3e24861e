/**
 * Phi accrual failure detection (Hayashibara et al., 2004), in the form
 * chitchat uses: phi is the time since the last heartbeat arrival divided by
 * the mean interval between arrivals, the mean smoothed towards a prior
 * (`priorWeight` intervals of `prior` ms) so that a member seen a few times
 * is judged leniently. Under exponentially distributed arrivals this phi is
 * -ln P(no arrival yet), so a threshold of 8 means "a silence this long had
 * a chance of about e^-8 = 1 in 3,000".
 *
 * An arrival is the moment this node learns a higher heartbeat counter of
 * the member, whether from the member itself or through others.
 *
 * Heartbeats share a link's byte stream with the replica's data, and on a
 * slow link they wait behind it. So bytes from the member itself, on its
 * own link, are a sign of life too (`heard`): silence is counted from the
 * later of the last arrival and the last such byte. They are no arrival:
 * the mean stays the mean interval between heartbeats (bytes come far more
 * often; a mean of them would convict a member the moment its data ends).
 * Which bytes may count is the caller's rule (table.ts, `heardFrom`).
 * Bytes end silence only within `heardBound` of the last arrival (of the
 * start, before any): a member whose replica still answers but whose
 * membership stalled sends bytes and never a heartbeat, and past the bound
 * it is judged on its heartbeats alone.
 *
 * Memory is three numbers per member: the mean is a running sum over the
 * last `window` intervals, which fades (each new interval replaces the
 * mean's share of one) once the window is full.
 *
 * Silence is judged on this node's own time, and this node can stop (its
 * process paused, its event loop held by a long task): the heartbeats
 * sent meanwhile wait unread in its socket buffers, and on waking it would
 * find every member silent for as long as it slept. So a stall (a round
 * that comes `STALL_FACTOR` intervals or more after the last) is
 * overlooked: its time beyond one interval counts neither as silence nor
 * in the interval the next arrival samples (`overlook`).
 */
import type { DetectorOptions } from './types.ts'

export class ArrivalWindow {
  private count = 0
  private sum = 0
  /** Time of the last arrival (ms), or NaN before the first. */
  last = Number.NaN
  /** Time the member was last heard otherwise (`heard`), or NaN. */
  lastHeard = Number.NaN

  /** A heartbeat arrived at `now`. */
  arrival(now: number, opts: DetectorOptions): void {
    if (!Number.isNaN(this.last)) {
      const interval = now - this.last
      if (interval >= 0 && interval <= opts.maxInterval) {
        if (this.count >= opts.window) this.sum -= this.sum / this.count
        else this.count++
        this.sum += interval
      }
    }
    if (Number.isNaN(this.last) || now > this.last) this.last = now
  }

  /** The member was heard at `now` by other means than a heartbeat: no sample, only the silence ends. */
  heard(now: number): void {
    if (!(now <= this.lastHeard)) this.lastHeard = now
  }

  /**
   * When the member was last heard from at `now`, by a heartbeat or by
   * bytes; the bytes count only while `now` is within `heardBound` of the
   * last arrival (past it, the last arrival). NaN if never.
   */
  quietSince(now: number, opts: DetectorOptions): number {
    return Number.isNaN(this.last) || now - this.last < heardBound(opts) ? this.latest : this.last
  }

  /** The later of the last arrival and the last time heard otherwise, whatever the bound; NaN if neither. */
  get latest(): number {
    return Number.isNaN(this.lastHeard) ? this.last : Number.isNaN(this.last) ? this.lastHeard : Math.max(this.last, this.lastHeard)
  }

  /**
   * This node did not run for `ms` of the time up to `now`: that time is no
   * silence of the member's. The last arrival (and the last time heard)
   * moves forward by it (never past `now`), so phi leaves it out and the
   * next arrival is not measured across it.
   */
  overlook(ms: number, now: number): void {
    if (!(ms > 0)) return
    if (!Number.isNaN(this.last)) this.last = Math.min(now, this.last + ms)
    if (!Number.isNaN(this.lastHeard)) this.lastHeard = Math.min(now, this.lastHeard + ms)
  }

  /** Start the clock without a sample (a member just learnt of). */
  start(now: number): void {
    this.last = now
  }

  /** The smoothed mean interval, ms. */
  mean(opts: DetectorOptions): number {
    return (this.sum + opts.priorWeight * opts.prior) / (this.count + opts.priorWeight)
  }

  /** Suspicion at `now`: the silence since it was last heard over the mean interval (0 before any arrival or start). */
  phi(now: number, opts: DetectorOptions): number {
    if (Number.isNaN(this.last)) return 0
    return Math.max(0, now - this.quietSince(now, opts)) / this.mean(opts)
  }

  /** Forget the samples (a member declared dead starts afresh if it comes back). */
  reset(): void {
    this.count = 0
    this.sum = 0
    this.lastHeard = Number.NaN
  }

  get samples(): number {
    return this.count
  }
}

/**
 * Past how many `maxInterval`s after its last heartbeat bytes from a member
 * no longer end its silence (`heardBound`). Heartbeats wait behind the
 * replica's data for as long as the data queued ahead of them takes to
 * cross the link: a 6 MB catch-up on a 200 KB/s link held them up 20.5 s
 * (one `maxInterval`, 10 s, would have convicted that member). Three give
 * 30 s, and a member whose membership stalled while its replica answers is
 * down within that much past its last heartbeat.
 */
export const HEARD_FACTOR = 3

/** How long past its last heartbeat (or, before any, since it was learnt) bytes from a member keep it from being judged silent. */
export function heardBound(opts: DetectorOptions): number {
  return HEARD_FACTOR * opts.maxInterval
}

/** What the detector makes of a member at `now`: its state, and the reason of a `down`. */
export interface Verdict {
  state: 'alive' | 'suspect' | 'dead'
  reason: string
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** The part of a reason saying how long nothing came on the member's link (`quiet` ms), when it is shorter than the heartbeats' silence (`silent`). */
const heardFor = (quiet: number, silent: number) => (seconds(quiet) === seconds(silent) ? '' : `, nothing from it on its own link for ${seconds(quiet)}`)

/** The part of a reason saying the member's link still carries bytes (last `ago` ms before) though no heartbeat came. */
const stalled = (ago: number) => `, though its link carried bytes ${seconds(ago)} ago: its membership stalled`

/**
 * Judge a member held alive or suspect since `since`: dead at phi
 * `threshold`, suspect at `suspect`; a member never heard to beat is
 * judged only after `maxInterval` of silence (since it was learnt, or
 * last heard), when nothing says it ever lived; null leaves it as it is.
 * Bytes count only within `heardBound` of the last heartbeat (of `since`
 * before any): a member convicted past it while bytes would have kept it
 * is said to have stalled.
 */
export function verdict(w: ArrivalWindow, since: number, now: number, d: DetectorOptions): Verdict | null {
  if (Number.isNaN(w.last)) {
    const bounded = now - since < heardBound(d)
    const from = Number.isNaN(w.lastHeard) || !bounded ? since : Math.max(since, w.lastHeard)
    if (now - from < d.maxInterval) return null
    const heard = Number.isNaN(w.lastHeard) ? since : Math.max(since, w.lastHeard)
    const why = !bounded && now - heard < d.maxInterval ? stalled(now - heard) : heardFor(now - heard, now - since)
    return { state: 'dead', reason: `no heartbeat in the ${seconds(now - since)} since it was learnt${why}` }
  }
  const phi = w.phi(now, d)
  if (phi >= d.threshold) {
    const heard = w.latest
    const why = now - heard < d.threshold * w.mean(d) ? stalled(now - heard) : heardFor(now - heard, now - w.last)
    return { state: 'dead', reason: `no heartbeat for ${seconds(now - w.last)}${why} (phi ${phi.toFixed(1)} >= ${d.threshold})` }
  }
  return { state: phi >= d.suspect ? 'suspect' : 'alive', reason: '' }
}

/** A round this many intervals or more after the last means this node stalled. */
export const STALL_FACTOR = 2

/**
 * Of `gap` ms between two rounds `interval` ms apart, the time this node
 * stalled, to be overlooked (`ArrivalWindow.overlook`): 0 for a round on
 * time or late by less than an interval (timer jitter, a busy loop), else
 * everything past one interval. So a round after a stall judges the
 * silence a round on time would have; and under a node that stalls every
 * round silence still grows by an interval a round: it can still convict.
 */
export function stallOf(gap: number, interval: number): number {
  return gap >= STALL_FACTOR * interval ? gap - interval : 0
}

/**
 * The prior mean interval for a round interval: three rounds, at least a
 * second. Lenient with members seen few times (a fresh window is judged
 * mostly by the prior), which is what keeps a young cluster under heavy
 * loss free of false deaths; a window of real samples soon outweighs it.
 */
export function defaultPrior(interval: number): number {
  return Math.max(1000, 3 * interval)
}

/** Check detector settings; returns a complete, frozen copy. */
export function detectorOptions(prior: number, given: Partial<DetectorOptions> = {}): DetectorOptions {
  const o: DetectorOptions = {
    threshold: given.threshold ?? 8,
    suspect: given.suspect ?? Math.min(5, (given.threshold ?? 8) * 0.625),
    window: given.window ?? 1000,
    prior: given.prior ?? prior,
    priorWeight: given.priorWeight ?? 5,
    maxInterval: given.maxInterval ?? 10_000,
  }
  for (const [k, v] of Object.entries(o)) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`detector ${k} must be a positive number, got ${String(v)}`)
  }
  if (!Number.isInteger(o.window)) throw new RangeError('detector window must be an integer')
  if (o.suspect > o.threshold) throw new RangeError('detector suspect must not exceed threshold')
  return Object.freeze(o)
}
