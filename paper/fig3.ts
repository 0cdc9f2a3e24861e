import { seededRandom } from '../lib/core/random.ts'
import type { FlowOptions } from '../lib/core/flow.ts'
import { above, below, claim, fmt, inRange, near, type Criterion } from './criteria.ts'
import { LibraryModel } from './library.ts'
import { at, mean, peak, slope } from './metrics.ts'
import { ReferenceModel } from './reference.ts'
import { simulate, type Trace } from './sim.ts'

/**
 * Figure 3 of the paper: flow control. Every participant desires `desired`
 * updates per second, far more than the network carries, and starts allowed
 * `initial`; pairwise redistribution and AIMD (lib/core/flow.ts) find the
 * rate the MTU sustains. The MTU drops from `mtu[0]` to `mtu[1]` at `dropAt`.
 * Run `repeats` times per cluster size, with the seeds `seed`, `seed + 1`,
 * ... (fixed before any run was looked at), and the criteria are judged on
 * the mean over those runs, their spread shown: one seeded run is one
 * sample of a noisy process (at N=128 the mean maximum staleness of a
 * plateau varies by about ±0.5 s from seed to seed). Then once without
 * flow control (every participant writes `noFlowRate` per second) at the
 * largest size, with the first seed, compared with the flow-control run of
 * the same seed. Every flow-control run is repeated on the reference model
 * with the paper's flow control in plain arithmetic (reference.ts,
 * reference-flow.ts), the same seeds and workload, and the library's
 * measures must agree with it.
 */
export interface Fig3Config {
  readonly sizes: readonly number[]
  readonly keys: number
  /** The first seed; runs with flow control use `repeats` seeds from it. */
  readonly seed: number
  readonly repeats: number
  readonly duration: number
  readonly dropAt: number
  readonly mtu: readonly [number, number]
  readonly desired: number
  readonly initial: number
  readonly flow?: FlowOptions
  readonly noFlowRate: number
  /** Windows [from, to): the plateau before the drop, the transition, the plateau after. */
  readonly plateau1: readonly [number, number]
  readonly transition: readonly [number, number]
  readonly plateau2: readonly [number, number]
}

/** The paper's setup: N=64 and N=128, ρ=10/s, τ from 0.2, α=0.75, β=0.05, MTU 100 then 50 at t=90. */
export const FIG3: Fig3Config = {
  sizes: [64, 128],
  keys: 64,
  seed: 2008,
  repeats: 5,
  duration: 180,
  dropAt: 90,
  mtu: [100, 50],
  desired: 10,
  initial: 0.2,
  flow: { alpha: 0.75, beta: 0.05, phi1: 3, phi2: 3 },
  noFlowRate: 1,
  plateau1: [60, 90],
  transition: [90, 120],
  plateau2: [120, 181],
}

/** Who ran: the library's core and flow-control objects, or the reference model and flow arithmetic. */
export type Fig3Impl = 'library' | 'reference'

export interface Fig3Run {
  readonly n: number
  readonly flow: boolean
  readonly seed: number
  readonly impl: Fig3Impl
  readonly trace: Trace
}

export function runFig3(c: Fig3Config, n: number, flow: boolean, seed = c.seed, impl: Fig3Impl = 'library'): Fig3Run {
  const random = seededRandom(seed + n + 1)
  const model = impl === 'library' ? new LibraryModel(n, c.keys, 'depth', random) : new ReferenceModel(n, c.keys, 'depth', random)
  const trace = simulate(model, {
    n,
    keys: c.keys,
    seed: seed + n,
    duration: c.duration,
    mtu: (t) => (t < c.dropAt ? c.mtu[0] : c.mtu[1]),
    ...(flow ? { flow: { desired: c.desired, initial: c.initial, options: c.flow, impl } } : { rate: () => c.noFlowRate }),
  })
  return { n, flow, seed, impl, trace }
}

export interface Fig3Measures {
  readonly tau1: number
  readonly tau2: number
  readonly stale1: number
  readonly stale2: number
  readonly transitionPeak: number
}

export function measure(c: Fig3Config, tr: Trace): Fig3Measures {
  return {
    tau1: mean(tr.t, tr.meanTau, ...c.plateau1),
    tau2: mean(tr.t, tr.meanTau, ...c.plateau2),
    stale1: mean(tr.t, tr.maxStale, ...c.plateau1),
    stale2: mean(tr.t, tr.maxStale, ...c.plateau2),
    transitionPeak: peak(tr.t, tr.maxStale, ...c.transition),
  }
}

/**
 * The expected values (from the paper's Figure 3 and a reference
 * simulation), for the sizes 64 and 128: plateau ranges are given for those
 * two sizes only.
 */
const PLATEAU: Record<number, [number, number]> = { 64: [1.5, 2.4], 128: [0.8, 1.3] }

/** The measures of several runs of one size: their means, and each run's. */
export interface Fig3Mean {
  readonly n: number
  readonly m: Fig3Measures
  readonly runs: readonly Fig3Measures[]
  readonly seeds: readonly number[]
}

/** Flow-control runs of `impl` grouped by size, their measures averaged over seeds. */
export function means(c: Fig3Config, runs: readonly Fig3Run[], impl: Fig3Impl = 'library'): Fig3Mean[] {
  const mine = runs.filter((r) => r.flow && r.impl === impl)
  const sizes = [...new Set(mine.map((r) => r.n))].sort((a, b) => a - b)
  return sizes.map((n) => {
    const rs = mine.filter((r) => r.n === n).sort((a, b) => a.seed - b.seed)
    const each = rs.map((r) => measure(c, r.trace))
    const avg = (k: keyof Fig3Measures) => each.reduce((s, x) => s + x[k], 0) / each.length
    const m: Fig3Measures = { tau1: avg('tau1'), tau2: avg('tau2'), stale1: avg('stale1'), stale2: avg('stale2'), transitionPeak: avg('transitionPeak') }
    return { n, m, runs: each, seeds: rs.map((r) => r.seed) }
  })
}

/** `value` with, over several runs, the range of the runs' values. */
function spreadOf(g: Fig3Mean, k: keyof Fig3Measures, value: number): string {
  if (g.runs.length < 2) return fmt(value)
  const xs = g.runs.map((x) => x[k])
  return `${fmt(value)} (${g.runs.length} seeds: ${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`
}

export function fig3Criteria(c: Fig3Config, runs: readonly Fig3Run[]): Criterion[] {
  const F = 'Fig 3'
  const out: Criterion[] = []
  const ms = means(c, runs)
  const refs = means(c, runs, 'reference')
  const [p1, p2] = [c.plateau1, c.plateau2].map(([a, b]) => `t=${a}..${Math.min(b, c.duration)}`)
  const withSpread = (row: Criterion, g: Fig3Mean, k: keyof Fig3Measures): Criterion => ({ ...row, measured: spreadOf(g, k, g.m[k]) })
  for (const g of ms) {
    const { n, m } = g
    const ref = refs.find((r) => r.n === n)
    if (ref !== undefined) {
      const agree = (what: string, k: keyof Fig3Measures, rel: number) => out.push(near(F, `N=${n}: ${what} vs the reference model (${ref.runs.length} seed${ref.runs.length === 1 ? "" : "s"})`, m[k], ref.m[k], rel))
      agree(`mean τ, ${p1}`, 'tau1', 0.05)
      agree(`mean τ, ${p2}`, 'tau2', 0.05)
      agree(`mean max staleness, ${p1}`, 'stale1', 0.1)
      agree(`mean max staleness, ${p2}`, 'stale2', 0.1)
    }
    const range = PLATEAU[n]
    if (range !== undefined) out.push(withSpread(inRange(F, `N=${n}: mean allowed rate τ, ${p1} (/s)`, m.tau1, range[0], range[1]), g, 'tau1'))
    out.push(inRange(F, `N=${n}: τ after the MTU halves / τ before`, m.tau2 / m.tau1, 0.4, 0.7))
    out.push(withSpread(below(F, `N=${n}: mean max staleness, ${p1} (s)`, m.stale1, 8), g, 'stale1'))
    out.push(withSpread(below(F, `N=${n}: mean max staleness, ${p2} (s)`, m.stale2, 8), g, 'stale2'))
    out.push(withSpread(below(F, `N=${n}: peak max staleness, transition t=${c.transition[0]}..${c.transition[1]} (s)`, m.transitionPeak, 25), g, 'transitionPeak'))
  }
  for (let i = 1; i < ms.length; i++) {
    const a = ms[0]
    const b = ms[i]
    for (const [win, key] of [[p1, 'tau1'], [p2, 'tau2']] as const) {
      const ratio = (b.n * b.m[key]) / (a.n * a.m[key])
      out.push(inRange(F, `N·τ at N=${b.n} / at N=${a.n}, ${win} (${fmt(b.n * b.m[key], 0)} / ${fmt(a.n * a.m[key], 0)})`, ratio, 0.8, 1.2))
    }
  }
  const off = runs.find((r) => !r.flow)
  if (off !== undefined) {
    const on = runs.find((r) => r.flow && r.impl === 'library' && r.n === off.n && r.seed === off.seed)
    const tr = off.trace
    const end = c.duration
    out.push(above(F, `no flow control, N=${off.n}: max staleness slope t=${c.transition[1]}..${end} (s/s), keeps growing`, slope(tr.t, tr.maxStale, c.transition[1], end), 0, 3))
    if (on !== undefined) {
      const a = at(on.trace.t, on.trace.maxStale, end)
      const b = at(tr.t, tr.maxStale, end)
      out.push(claim(F, `N=${off.n}, seed ${off.seed}: max staleness at t=${end}, flow control vs none`, '≥ 3x lower', `${fmt(a, 1)} s vs ${fmt(b, 1)} s (${fmt(b / a, 1)}x)`, b >= 3 * a))
    }
  }
  return out
}
