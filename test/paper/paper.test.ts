/**
 * Smoke test of the paper reproduction (paper/run.ts) on reduced
 * configurations: small clusters, short runs, the same phases. It checks
 * the qualitative results only; `node --import tsx paper/run.ts` checks the
 * paper's numbers.
 */
import test from 'tape'
import { fig2Criteria, measure as measure2, runFig2, type Fig2Config, type Fig2Run } from '../../paper/fig2.ts'
import { fig3Criteria, measure as measure3, runFig3, type Fig3Config } from '../../paper/fig3.ts'
import { at } from '../../paper/metrics.ts'
import { spread } from '../../paper/spread.ts'

/** Figure 2 scaled down: 24 participants, 16 keys, an MTU that carries 1/s but not 2/s. */
const FIG2_SMALL: Fig2Config = { n: 24, keys: 16, seed: 1, duration: 75, mtuFrom: 5, mtu: 18, rates: [1, 2, 1, 0], phases: [10, 40, 60], samples: [40, 50] }

/** Figure 3 scaled down: 20 and 40 participants, MTU 30 then 15. */
const FIG3_SMALL: Fig3Config = {
  sizes: [20, 40],
  keys: 16,
  seed: 1,
  repeats: 1,
  duration: 100,
  dropAt: 50,
  mtu: [30, 15],
  desired: 10,
  initial: 0.5,
  noFlowRate: 1,
  plateau1: [30, 50],
  transition: [50, 65],
  plateau2: [65, 101],
}

test('Figure 2, reduced: scuttle-depth beats oldest-first on stale mappings and newest-first on staleness; nothing sent twice', (t) => {
  const runs = new Map<string, Fig2Run>()
  for (const order of ['depth', 'breadth', 'oldest', 'newest'] as const) runs.set(order, runFig2(FIG2_SMALL, order, order === 'depth'))
  const m = (o: string) => measure2(FIG2_SMALL, runs.get(o)!.library)
  const [d, o, nw] = [m('depth'), m('oldest'), m('newest')]
  t.ok(d.staleAt[0] < o.staleAt[0], `stale mappings at the end of overload: depth ${d.staleAt[0]} < oldest-first ${o.staleAt[0]}`)
  t.ok(d.staleSlope < nw.staleSlope, `max-staleness growth under overload: depth ${d.staleSlope.toFixed(3)} < newest-first ${nw.staleSlope.toFixed(3)} s/s`)
  t.ok(d.countSlope > 0, 'the overload builds a backlog')
  for (const order of ['depth', 'breadth'] as const) {
    const r = runs.get(order)!
    t.equal(r.library.redundant, 0, `${order}: no redundant delta`)
    t.ok(r.library.sent > 0, `${order}: deltas flowed`)
  }
  for (const [order, r] of runs) {
    t.equal(r.mismatch, null, `${order}: the harness mirror matches the engines`)
    t.equal(at(r.library.t, r.library.stale, FIG2_SMALL.duration), 0, `${order}: everything drained once updates stopped`)
  }
  const dr = runs.get('depth')!
  const ref = measure2(FIG2_SMALL, dr.reference!)
  t.ok(Math.abs(d.staleAt[0] - ref.staleAt[0]) <= 0.1 * ref.staleAt[0], `depth agrees with the reference model at the end of overload (${d.staleAt[0]} vs ${ref.staleAt[0]})`)
  const rows = fig2Criteria(FIG2_SMALL, [...runs.values()])
  t.ok(rows.some((r) => r.name === 'scuttle-depth: stale mappings at t=40' && r.expected.startsWith('ref ')), 'depth is compared with the reference model')
  t.ok(rows.every((r) => r.expected !== '' && r.measured !== ''), 'every criterion has an expected and a measured value')
  t.end()
})

test('Figure 3, reduced: flow control holds N·τ roughly constant, follows the MTU down and bounds staleness; without it staleness grows', (t) => {
  const [small, large, off] = [runFig3(FIG3_SMALL, 20, true), runFig3(FIG3_SMALL, 40, true), runFig3(FIG3_SMALL, 40, false)]
  const a = measure3(FIG3_SMALL, small.trace)
  const b = measure3(FIG3_SMALL, large.trace)
  for (const [win, x, y] of [['before the drop', a.tau1, b.tau1], ['after the drop', a.tau2, b.tau2]] as const) {
    const ratio = (40 * y) / (20 * x)
    t.ok(ratio > 2 / 3 && ratio < 1.5, `N·τ ${win}: ${(20 * x).toFixed(1)} at N=20, ${(40 * y).toFixed(1)} at N=40`)
  }
  t.ok(b.tau1 < a.tau1, 'a larger cluster gets a smaller share each')
  for (const [n, m] of [[20, a], [40, b]] as const) t.ok(m.tau2 / m.tau1 < 0.8, `N=${n}: τ falls when the MTU halves (${m.tau1.toFixed(2)} -> ${m.tau2.toFixed(2)})`)
  const end = FIG3_SMALL.duration
  const withFlow = at(large.trace.t, large.trace.maxStale, end)
  const without = at(off.trace.t, off.trace.maxStale, end)
  t.ok(2 * withFlow < without, `max staleness at the end: ${withFlow.toFixed(1)} s with flow control, ${without.toFixed(1)} s without`)
  t.ok(off.trace.maxStale[end] > off.trace.maxStale[FIG3_SMALL.transition[1]], 'without flow control staleness is still growing after the drop')
  t.ok(large.trace.minTau.every((x) => x > 0), 'no allowed rate ever reaches 0')
  t.ok(fig3Criteria(FIG3_SMALL, [small, large, off]).length > 5, 'criteria are produced')
  t.end()
})

test('Figure 3, reduced: the library\'s flow control agrees with the paper\'s arithmetic on the reference model', (t) => {
  const lib = runFig3(FIG3_SMALL, 40, true, FIG3_SMALL.seed, 'library')
  const ref = runFig3(FIG3_SMALL, 40, true, FIG3_SMALL.seed, 'reference')
  const [a, b] = [measure3(FIG3_SMALL, lib.trace), measure3(FIG3_SMALL, ref.trace)]
  t.ok(b.tau1 > 0 && b.tau2 < b.tau1, `the reference's τ falls when the MTU halves (${b.tau1.toFixed(2)} -> ${b.tau2.toFixed(2)})`)
  for (const k of ['tau1', 'tau2'] as const) t.ok(Math.abs(a[k] - b[k]) <= 0.1 * b[k], `${k}: library ${a[k].toFixed(3)}, reference ${b[k].toFixed(3)}`)
  for (const k of ['stale1', 'stale2'] as const) t.ok(Math.abs(a[k] - b[k]) <= 0.2 * b[k], `${k}: library ${a[k].toFixed(2)} s, reference ${b[k].toFixed(2)} s`)
  const rows = fig3Criteria(FIG3_SMALL, [lib, ref])
  t.ok(rows.some((r) => r.name.startsWith('N=40: mean τ, ') && r.name.includes('vs the reference model') && r.pass), 'the agreement is a criterion of the table')
  t.end()
})

test('spread, reduced: one update reaches 50 nodes well within log₂N + ln N rounds', (t) => {
  const r = spread(50, 20, 3)
  t.ok(r.mean < r.bound, `${r.mean.toFixed(2)} rounds < ${r.bound.toFixed(2)}`)
  t.ok(r.min >= 2, 'and not in fewer rounds than push-pull can do')
  t.end()
})
