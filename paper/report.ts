import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { below, near, type Criterion } from './criteria.ts'
import { fig2Criteria, measure as measure2, type Fig2Run } from './fig2.ts'
import { fig3Criteria, measure as measure3, type Fig3Run } from './fig3.ts'
import type { Config, JobResult } from './jobs.ts'
import type { SpreadResult } from './spread.ts'
import { linePlot, type Series } from './svg.ts'

/** Rounds measured by the outside harness of issue 17 on this library's core (push-pull, sequential rounds). */
const ISSUE_SPREAD: Record<number, number> = { 100: 4.75, 1000: 6.57 }

export interface Results {
  readonly fig2: Fig2Run[]
  readonly fig3: Fig3Run[]
  readonly spread: SpreadResult[]
}

export function collect(results: readonly JobResult[]): Results {
  const out: Results = { fig2: [], fig3: [], spread: [] }
  for (const r of results) {
    if (r.kind === 'fig2') out.fig2.push(r.run)
    else if (r.kind === 'fig3') out.fig3.push(r.run)
    else out.spread.push(r.result)
  }
  const rank = ['depth', 'breadth', 'oldest', 'newest']
  out.fig2.sort((a, b) => rank.indexOf(a.order) - rank.indexOf(b.order))
  out.fig3.sort((a, b) => Number(b.flow) - Number(a.flow) || a.impl.localeCompare(b.impl) || a.n - b.n || a.seed - b.seed)
  out.spread.sort((a, b) => a.n - b.n)
  return out
}

export function spreadCriteria(rs: readonly SpreadResult[]): Criterion[] {
  const out: Criterion[] = []
  for (const r of rs) {
    const name = `N=${r.n}: mean rounds until all hold one update (${r.trials} trials, ${r.min}–${r.max})`
    out.push(below('Spread', `${name} vs log₂N + ln N`, r.mean, r.bound))
    const ref = ISSUE_SPREAD[r.n]
    if (ref !== undefined) out.push(near('Spread', `N=${r.n}: mean rounds vs the issue's outside harness`, r.mean, ref, 0.1))
  }
  return out
}

export function criteria(c: Config, r: Results): Criterion[] {
  return [...fig2Criteria(c.fig2, r.fig2), ...fig3Criteria(c.fig3, r.fig3), ...spreadCriteria(r.spread)]
}

/** The measures behind the criteria, per run, for results.json. */
export function measures(c: Config, r: Results): unknown {
  return {
    fig2: r.fig2.map((x) => ({
      order: x.order,
      library: measure2(c.fig2, x.library),
      reference: x.reference === undefined ? null : measure2(c.fig2, x.reference),
      redundant: x.library.redundant,
      sent: x.library.sent,
      writes: x.library.writes,
    })),
    fig3: r.fig3.map((x) => ({ n: x.n, flow: x.flow, seed: x.seed, impl: x.impl, ...(x.flow ? measure3(c.fig3, x.trace) : {}), maxStaleAtEnd: x.trace.maxStale[x.trace.maxStale.length - 1] })),
    spread: r.spread,
  }
}

const ORDER_COLOR: Record<string, string> = { depth: '#1f77b4', breadth: '#2ca02c', oldest: '#ff7f0e', newest: '#d62728' }

/** Write the SVG plots under `dir`; returns their paths. */
export function writePlots(c: Config, r: Results, dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  const files: [string, string][] = []
  const f2 = c.fig2
  const markers2 = [
    { x: f2.mtuFrom, label: `MTU ${f2.mtu}` },
    { x: f2.phases[0], label: `${f2.rates[1]}/s` },
    { x: f2.phases[1], label: `${f2.rates[2]}/s` },
    { x: f2.phases[2], label: `${f2.rates[3]}/s` },
  ]
  const lines = (pick: (run: Fig2Run) => number[]): Series[] =>
    r.fig2.map((run) => ({ name: run.order, x: run.library.t, y: pick(run), color: ORDER_COLOR[run.order] }))
  if (r.fig2.length > 0) {
    const who = `N=${f2.n}, ${f2.keys} keys each`
    files.push(['fig2-max-staleness.svg', linePlot({ title: `Figure 2: maximum staleness (${who})`, xLabel: 'time (s)', yLabel: 'max staleness (s)', series: lines((x) => x.library.maxStale), markers: markers2 })])
    files.push(['fig2-stale-mappings.svg', linePlot({ title: `Figure 2: stale mappings (${who})`, xLabel: 'time (s)', yLabel: 'stale mappings', series: lines((x) => x.library.stale), markers: markers2 })])
  }
  const f3 = c.fig3
  const markers3 = [{ x: f3.dropAt, label: `MTU ${f3.mtu[0]} → ${f3.mtu[1]}` }]
  // The plots show the runs of the first seed (the criteria average over all of them).
  const firstSeed = r.fig3.filter((x) => x.seed === f3.seed && x.impl === 'library')
  const withFlow = firstSeed.filter((x) => x.flow)
  if (withFlow.length > 0) {
    files.push([
      'fig3-allowed-rate.svg',
      linePlot({
        title: `Figure 3: mean allowed rate τ (flow control, seed ${f3.seed})`,
        xLabel: 'time (s)',
        yLabel: 'τ (updates/s per participant)',
        series: withFlow.map((x) => ({ name: `N=${x.n}`, x: x.trace.t, y: x.trace.meanTau })),
        markers: markers3,
      }),
    ])
    files.push([
      'fig3-total-rate.svg',
      linePlot({
        title: 'Figure 3: N·τ, the cluster\'s total allowed rate',
        xLabel: 'time (s)',
        yLabel: 'N·τ (updates/s)',
        series: withFlow.map((x) => ({ name: `N=${x.n}`, x: x.trace.t, y: x.trace.meanTau.map((v) => v * x.n) })),
        markers: markers3,
      }),
    ])
  }
  if (firstSeed.length > 0) {
    files.push([
      'fig3-max-staleness.svg',
      linePlot({
        title: `Figure 3: maximum staleness with and without flow control (seed ${f3.seed})`,
        xLabel: 'time (s)',
        yLabel: 'max staleness (s)',
        series: firstSeed.map((x) => ({ name: x.flow ? `N=${x.n}, flow control` : `N=${x.n}, none (${f3.noFlowRate}/s)`, x: x.trace.t, y: x.trace.maxStale, dash: !x.flow })),
        markers: markers3,
      }),
    ])
  }
  const paths: string[] = []
  for (const [name, svg] of files) {
    const p = join(dir, name)
    writeFileSync(p, svg)
    paths.push(p)
  }
  return paths
}
