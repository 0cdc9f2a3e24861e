/**
 * Staleness, as the paper measures it (section 3.3).
 *
 * Participant p owns keys p:0 .. p:K-1 (the paper's µ_p(p)); every node q
 * holds a copy µ_q(p)(k). A mapping µ_q(p)(k) is *stale* at time t when q
 * holds an older version of k than p's current one. Its *staleness* is the
 * time that has lapsed since the key was last updated (at p): t minus the
 * time of p's latest write of k, which q lacks. Figure 2 plots the maximum
 * staleness over all mappings and the number of stale mappings; Figure 3
 * the maximum staleness.
 *
 * Also measured, for comparison: how long q has been out of date for the
 * mapping, t minus the time of the *first* write of k that q lacks. The two
 * differ only when q misses more than one write of a key.
 */

/** Every write of every key: versions and times, ascending per key. */
export class WriteLog {
  readonly versions: number[][]
  readonly times: number[][]
  /** The current (newest) version of each key; 0 before its first write. */
  readonly latest: Float64Array
  writes = 0

  constructor(readonly keys: number) {
    this.versions = Array.from({ length: keys }, () => [])
    this.times = Array.from({ length: keys }, () => [])
    this.latest = new Float64Array(keys)
  }

  record(key: number, version: number, t: number): void {
    if (version <= this.latest[key]) throw new Error(`key ${key}: version ${version} does not follow ${this.latest[key]}`)
    this.versions[key].push(version)
    this.times[key].push(t)
    this.latest[key] = version
    this.writes++
  }

  /** Time of the latest write of `key`. */
  lastTime(key: number): number {
    const ts = this.times[key]
    return ts[ts.length - 1]
  }

  /** Time of the first write of `key` above `held` (the caller knows there is one). */
  firstMissing(key: number, held: number): number {
    const vs = this.versions[key]
    let i = vs.length - 1
    while (i > 0 && vs[i - 1] > held) i--
    return this.times[key][i]
  }
}

export interface StaleSample {
  /** Stale mappings over all nodes. */
  stale: number
  /** Largest staleness (time since the key's latest write), in seconds; 0 when nothing is stale. */
  max: number
  /** Largest time out of date (since the first write the node lacks), in seconds. */
  maxBehind: number
}

/** Staleness at time `t` over nodes whose held versions are `held[q][key]`. */
export function staleness(held: Float64Array[], log: WriteLog, t: number): StaleSample {
  const latest = log.latest
  let stale = 0
  let oldestLast = Infinity
  let oldestFirst = Infinity
  for (const h of held) {
    for (let k = 0; k < latest.length; k++) {
      const v = h[k]
      if (v >= latest[k]) continue
      stale++
      const last = log.lastTime(k)
      if (last < oldestLast) oldestLast = last
      const first = log.firstMissing(k, v)
      if (first < oldestFirst) oldestFirst = first
    }
  }
  return stale === 0 ? { stale, max: 0, maxBehind: 0 } : { stale, max: t - oldestLast, maxBehind: t - oldestFirst }
}

/** Least-squares slope of y over x, for the points with x in [from, to]. */
export function slope(xs: number[], ys: number[], from: number, to: number): number {
  let n = 0
  let sx = 0
  let sy = 0
  let sxx = 0
  let sxy = 0
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]
    if (x < from || x > to) continue
    const y = ys[i]
    n++
    sx += x
    sy += y
    sxx += x * x
    sxy += x * y
  }
  const d = n * sxx - sx * sx
  return n < 2 || d === 0 ? 0 : (n * sxy - sx * sy) / d
}

/** Mean of y for the points with x in [from, to). */
export function mean(xs: number[], ys: number[], from: number, to: number): number {
  let n = 0
  let s = 0
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < from || xs[i] >= to) continue
    n++
    s += ys[i]
  }
  return n === 0 ? NaN : s / n
}

/** Largest y for the points with x in [from, to). */
export function peak(xs: number[], ys: number[], from: number, to: number): number {
  let m = -Infinity
  for (let i = 0; i < xs.length; i++) if (xs[i] >= from && xs[i] < to && ys[i] > m) m = ys[i]
  return m
}

/** y at x (the sample taken at that time). */
export function at(xs: number[], ys: number[], x: number): number {
  const i = xs.indexOf(x)
  if (i < 0) throw new Error(`no sample at t=${x}`)
  return ys[i]
}

/** First x >= from with y <= level, or Infinity. */
export function firstAtOrBelow(xs: number[], ys: number[], from: number, level: number): number {
  for (let i = 0; i < xs.length; i++) if (xs[i] >= from && ys[i] <= level) return xs[i]
  return Infinity
}
