import { seededRandom } from '../lib/core/random.ts'
import { above, claim, equal, fmt, near, type Criterion } from './criteria.ts'
import { LibraryModel, type Ordering } from './library.ts'
import { at, firstAtOrBelow, mean, slope } from './metrics.ts'
import { ReferenceModel } from './reference.ts'
import { simulate, type Scenario, type Trace } from './sim.ts'

/**
 * Figure 2 of the paper: reconciliation under an MTU. N participants with K
 * keys each gossip once per second. Until `mtuFrom` there is no MTU (warm
 * up); from then on a response carries at most `mtu` deltas. Every
 * participant writes `rates[0]` updates per second, `rates[1]` from
 * `phases[0]` (overload), `rates[2]` from `phases[1]` (recovery) and
 * `rates[3]` from `phases[2]` (updates stop, the backlog drains).
 */
export interface Fig2Config {
  readonly n: number
  readonly keys: number
  readonly seed: number
  readonly duration: number
  readonly mtuFrom: number
  readonly mtu: number
  readonly rates: readonly [number, number, number, number]
  readonly phases: readonly [number, number, number]
  /** The two times at which stale mappings are compared (the end of overload and during recovery). */
  readonly samples: readonly [number, number]
}

/** The paper's setup: 128 participants, 64 keys each, MTU 100 from t=15, 1/2/1/0 updates per second. */
export const FIG2: Fig2Config = {
  n: 128,
  keys: 64,
  seed: 2008,
  duration: 150,
  mtuFrom: 15,
  mtu: 100,
  rates: [1, 2, 1, 0],
  phases: [25, 75, 120],
  samples: [75, 98],
}

export const ORDERINGS: readonly Ordering[] = ['depth', 'breadth', 'oldest', 'newest']

export function scenario(c: Fig2Config): Scenario {
  return {
    n: c.n,
    keys: c.keys,
    seed: c.seed,
    duration: c.duration,
    mtu: (t) => (t >= c.mtuFrom ? c.mtu : Infinity),
    rate: (t) => (t < c.phases[0] ? c.rates[0] : t < c.phases[1] ? c.rates[1] : t < c.phases[2] ? c.rates[2] : c.rates[3]),
  }
}

export interface Fig2Run {
  readonly order: Ordering
  readonly library: Trace
  /** The reference model's run of the same workload (absent when not asked for). */
  readonly reference?: Trace
  /** The library's state matched the harness's mirror at the end (null) or the first mismatch. */
  readonly mismatch: string | null
}

/** One ordering on the library (and, if asked, on the reference model). */
export function runFig2(c: Fig2Config, order: Ordering, withReference: boolean): Fig2Run {
  const s = scenario(c)
  const lib = new LibraryModel(c.n, c.keys, order, seededRandom(c.seed + 1))
  const library = simulate(lib, s)
  const reference = withReference ? simulate(new ReferenceModel(c.n, c.keys, order, seededRandom(c.seed + 1)), s) : undefined
  return { order, library, reference, mismatch: lib.verify() }
}

/** The measures Figure 2's criteria compare (definitions in paper/README.md). */
export interface Fig2Measures {
  /** Least-squares slope of the maximum staleness over the overload phase, s/s. */
  readonly staleSlope: number
  /** Least-squares slope of the stale-mapping count over the overload phase, per s. */
  readonly countSlope: number
  readonly staleAt: readonly [number, number]
  readonly maxAt: readonly [number, number]
  /** The same two for the time out of date (since the first write a node lacks), for comparison. */
  readonly behindSlope: number
  readonly behindAt: readonly [number, number]
  /** Seconds after the overload ends until stale mappings are back to 1.1 x their level before it. */
  readonly recovery: number
  /** Seconds after updates stop until no mapping is stale. */
  readonly drain: number
}

export function measure(c: Fig2Config, tr: Trace): Fig2Measures {
  const [over, back, stop] = c.phases
  const steady = mean(tr.t, tr.stale, c.mtuFrom, over)
  return {
    staleSlope: slope(tr.t, tr.maxStale, over, back),
    countSlope: slope(tr.t, tr.stale, over, back),
    staleAt: [at(tr.t, tr.stale, c.samples[0]), at(tr.t, tr.stale, c.samples[1])],
    maxAt: [at(tr.t, tr.maxStale, c.samples[0]), at(tr.t, tr.maxStale, c.samples[1])],
    behindSlope: slope(tr.t, tr.maxBehind, over, back),
    behindAt: [at(tr.t, tr.maxBehind, c.samples[0]), at(tr.t, tr.maxBehind, c.samples[1])],
    recovery: firstAtOrBelow(tr.t, tr.stale, back, 1.1 * steady) - back,
    drain: firstAtOrBelow(tr.t, tr.stale, stop, 0) - stop,
  }
}

const NAMES: Record<Ordering, string> = { depth: 'scuttle-depth', breadth: 'scuttle-breadth', oldest: 'oldest-first', newest: 'newest-first' }

/**
 * Criteria: each ordering against the reference model on the same workload,
 * then the paper's findings on the library's runs.
 */
export function fig2Criteria(c: Fig2Config, runs: readonly Fig2Run[]): Criterion[] {
  const out: Criterion[] = []
  const F = 'Fig 2'
  const [over, back, stop] = c.phases
  const lib = new Map<Ordering, Fig2Measures>()
  for (const r of runs) {
    const m = measure(c, r.library)
    lib.set(r.order, m)
    const name = NAMES[r.order]
    out.push(claim(F, `${name}: library state = harness mirror`, 'match', r.mismatch ?? 'match', r.mismatch === null))
    if (r.reference !== undefined) {
      const ref = measure(c, r.reference)
      out.push(near(F, `${name}: max-staleness slope t=${over}..${back} (s/s)`, m.staleSlope, ref.staleSlope, 0.15, 0, 3))
      out.push(near(F, `${name}: stale-count slope t=${over}..${back} (/s)`, m.countSlope, ref.countSlope, 0.1, 0, 0))
      for (const i of [0, 1] as const) out.push(near(F, `${name}: stale mappings at t=${c.samples[i]}`, m.staleAt[i], ref.staleAt[i], 0.1, 0, 0))
      out.push(near(F, `${name}: recovery after t=${back} (s)`, m.recovery, ref.recovery, 0, 3, 0))
      out.push(near(F, `${name}: drain after t=${stop} (s)`, m.drain, ref.drain, 0, 3, 0))
    }
    if (r.order === 'depth' || r.order === 'breadth') out.push(equal(F, `${name}: redundant deltas`, r.library.redundant, 0))
  }
  const d = lib.get('depth')
  const b = lib.get('breadth')
  const o = lib.get('oldest')
  const nw = lib.get('newest')
  if (d && b && o && nw) {
    // The paper's findings, on the library's runs. Maximum staleness is compared by its growth
    // over the overload (a single sample is one mapping's fate); stale mappings at its end.
    const t = c.samples[0]
    const slopes = `depth ${fmt(d.staleSlope, 3)}, breadth ${fmt(b.staleSlope, 3)}, oldest ${fmt(o.staleSlope, 3)}, newest ${fmt(nw.staleSlope, 3)}`
    out.push(claim(F, `newest-first starves: steepest max-staleness slope t=${over}..${back}`, 'newest steepest', slopes, nw.staleSlope > Math.max(d.staleSlope, b.staleSlope, o.staleSlope)))
    out.push(claim(F, `scuttle-depth: max staleness grows slower than breadth and newest-first`, 'depth < both', slopes, d.staleSlope < Math.min(b.staleSlope, nw.staleSlope)))
    const counts = `depth ${fmt(d.staleAt[0])}, breadth ${fmt(b.staleAt[0])}, oldest ${fmt(o.staleAt[0])}, newest ${fmt(nw.staleAt[0])}`
    out.push(claim(F, `scuttle-depth: stale mappings at t=${t} below breadth and oldest-first`, 'depth < both', counts, d.staleAt[0] < Math.min(b.staleAt[0], o.staleAt[0])))
    for (const [name, m] of [['depth', d], ['breadth', b]] as const) out.push(above(F, `scuttle-${name}: backlog grows under overload (stale-count slope, /s)`, m.countSlope, 0, 0))
  }
  return out
}
