/** Unit tests of the reproduction harness's own parts: measures, baselines, criteria, plots. */
import test from 'tape'
import fc from 'fast-check'
import { seededRandom } from '../../lib/core/random.ts'
import { inRange, markdownTable, near, textTable } from '../../paper/criteria.ts'
import { WriteLog, firstAtOrBelow, slope, staleness } from '../../paper/metrics.ts'
import { PreciseSelector } from '../../paper/precise.ts'
import { linePlot, ticks } from '../../paper/svg.ts'
import { FIG3, fig3Criteria, means, type Fig3Impl, type Fig3Run } from '../../paper/fig3.ts'
import { PAPER, jobs } from '../../paper/jobs.ts'
import type { Trace } from '../../paper/sim.ts'

test('staleness: stale mappings, time since the key\'s latest write, and time out of date', (t) => {
  const log = new WriteLog(2)
  log.record(0, 10, 1)
  log.record(0, 20, 4)
  log.record(0, 30, 6)
  log.record(1, 15, 2)
  const upToDate = Float64Array.from([30, 15])
  const behind = Float64Array.from([10, 15]) // lacks writes 20 (t=4) and 30 (t=6) of key 0
  const none = Float64Array.from([0, 0])
  const s = staleness([upToDate, behind, none], log, 10)
  t.equal(s.stale, 3, 'key 0 at two nodes, key 1 at one')
  t.equal(s.max, 10 - 2, 'the oldest latest write still missing: key 1, written at t=2')
  t.equal(s.maxBehind, 10 - 1, 'out of date longest: the node holding nothing missed key 0\'s write at t=1')
  t.deepEqual(staleness([upToDate], log, 10), { stale: 0, max: 0, maxBehind: 0 }, 'nothing stale')
  t.throws(() => log.record(1, 15, 3), /does not follow/, 'versions of a key must increase')
  t.end()
})

test('slope and threshold helpers', (t) => {
  const xs = [0, 1, 2, 3, 4, 5]
  t.equal(slope(xs, xs.map((x) => 3 * x + 1), 0, 5), 3)
  t.equal(slope(xs, [9, 9, 0, 2, 4, 9], 2, 4), 2, 'only the window counts')
  t.equal(firstAtOrBelow(xs, [5, 4, 3, 2, 1, 0], 1, 2), 3)
  t.equal(firstAtOrBelow(xs, [5, 5, 5, 5, 5, 5], 0, 2), Infinity)
  t.end()
})

test('property: the precise baselines pick exactly the mtu oldest (or newest) keys the receiver lacks', (t) => {
  const sel = new PreciseSelector()
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), fc.integer(), (pairs, mtu, oldest, seed) => {
      const from = Float64Array.from(pairs.map((p) => p[0]))
      const to = Float64Array.from(pairs.map((p) => p[1]))
      const order = oldest ? 'oldest' : 'newest'
      const r = sel.select(from, to, mtu, order, seededRandom(seed))
      const lacking = pairs.map((_, k) => k).filter((k) => from[k] > to[k])
      if (r.candidates !== lacking.length || r.keys.length !== Math.min(mtu, lacking.length)) return false
      if (!r.keys.every((k) => from[k] > to[k]) || new Set(r.keys).size !== r.keys.length) return false
      for (let i = 1; i < r.keys.length; i++) if (from[r.keys[i]] < from[r.keys[i - 1]]) return false
      // Nothing left out is strictly better than something taken.
      const taken = new Set(r.keys)
      const left = lacking.filter((k) => !taken.has(k)).map((k) => from[k])
      const worstTaken = oldest ? Math.max(...r.keys.map((k) => from[k])) : Math.min(...r.keys.map((k) => from[k]))
      return left.every((v) => (oldest ? v >= worstTaken : v <= worstTaken))
    }),
    { numRuns: 500 },
  )
  t.pass('500 random states')
  t.end()
})

test('criteria: ranges, reference tolerances and tables', (t) => {
  t.equal(inRange('F', 'x', 2, 1.5, 2.4).pass, true)
  t.equal(inRange('F', 'x', 2.5, 1.5, 2.4).pass, false)
  t.equal(near('F', 'x', 109, 100, 0.1).pass, true)
  t.equal(near('F', 'x', 111, 100, 0.1).pass, false)
  t.equal(near('F', 'x', 5, 3, 0, 3).pass, true, 'absolute tolerance')
  t.equal(near('F', 'x', Infinity, Infinity, 0, 3).pass, true, 'both never reached')
  const rows = [inRange('Fig 3', 'τ', 2, 1.5, 2.4), inRange('Fig 3', 'τ | other', 3, 1.5, 2.4)]
  t.match(textTable(rows), /pass\n.*FAIL$/s)
  t.match(markdownTable(rows), /τ \\\| other/, 'pipes are escaped in Markdown')
  t.end()
})

/** A Figure 3 trace with constant τ and maximum staleness before and after the drop. */
function flatTrace(tau: [number, number], stale: [number, number]): Trace {
  const t = Array.from({ length: FIG3.duration + 1 }, (_, i) => i)
  const pick = (pair: [number, number]) => t.map((x) => (x < FIG3.dropAt ? pair[0] : pair[1]))
  return { t, stale: t.map(() => 0), maxStale: pick(stale), maxBehind: pick(stale), meanTau: pick(tau), minTau: pick(tau), maxTau: pick(tau), redundant: 0, sent: 0, writes: 0, exchanges: 0 }
}

test('Figure 3 over several seeds: criteria on the mean, the spread shown, the no-flow run compared with its own seed', (t) => {
  const run = (n: number, seed: number, flow: boolean, tau: [number, number], stale: [number, number], impl: Fig3Impl = 'library'): Fig3Run => ({ n, seed, flow, impl, trace: flatTrace(tau, stale) })
  const runs = [
    run(128, 2008, true, [1.0, 0.5], [8.4, 6]),
    run(128, 2009, true, [1.2, 0.6], [7.2, 6]),
    run(64, 2008, true, [2.0, 1.0], [6, 6]),
    run(128, 2008, false, [0, 0], [0, 60]),
    // The reference model's runs: they agree at N=128 (τ within 5%, staleness within 10%) and not at N=64.
    run(128, 2008, true, [1.1, 0.56], [7.5, 6.5], 'reference'),
    run(128, 2009, true, [1.1, 0.54], [7.5, 6.1], 'reference'),
    run(64, 2008, true, [3.0, 1.0], [6, 6], 'reference'),
  ]
  const m = means(FIG3, runs)
  t.deepEqual(m.map((g) => [g.n, g.seeds]), [[64, [2008]], [128, [2008, 2009]]], 'grouped by size, seeds in order (the library runs only)')
  t.ok(Math.abs(m[1].m.tau1 - 1.1) < 1e-12 && Math.abs(m[1].m.stale1 - 7.8) < 1e-12, 'measures averaged over the seeds')
  const rows = fig3Criteria(FIG3, runs)
  const stale = rows.find((r) => r.name === 'N=128: mean max staleness, t=60..90 (s)')!
  t.equal(stale.measured, '7.80 (2 seeds: 7.20–8.40)', 'the mean is judged, the range shown')
  t.equal(stale.pass, true)
  const agree = (name: string) => rows.find((r) => r.name === name)!
  t.equal(agree('N=128: mean τ, t=60..90 vs the reference model (2 seeds)').pass, true, 'τ 1.10 against the reference 1.10')
  t.equal(agree('N=128: mean max staleness, t=120..180 vs the reference model (2 seeds)').pass, true, 'staleness 6.00 against 6.30: within 10%')
  t.equal(agree('N=64: mean τ, t=60..90 vs the reference model (1 seed)').pass, false, 'τ 2.0 against the reference 3.0: no agreement')
  const cmp = rows.find((r) => r.name.startsWith('N=128, seed 2008: max staleness at t=180'))!
  t.equal(cmp.measured, '6 s vs 60 s (10x)', 'the no-flow run against the flow run of its seed')
  const fig3Jobs = jobs(PAPER).filter((j) => j.kind === 'fig3')
  t.equal(fig3Jobs.length, 2 * PAPER.fig3.sizes.length * PAPER.fig3.repeats + 1, 'per size and seed one library and one reference job, and the no-flow run')
  t.equal(fig3Jobs.filter((j) => j.kind === 'fig3' && j.impl === 'reference').length, PAPER.fig3.sizes.length * PAPER.fig3.repeats, 'the reference runs every flow-control seed')
  t.deepEqual([...new Set(fig3Jobs.map((j) => (j.kind === 'fig3' ? j.seed : 0)))], [2008, 2009, 2010, 2011, 2012], 'the seeds follow the first one')
  t.end()
})

test('svg: round ticks and one line per series', (t) => {
  t.deepEqual(ticks(0, 10), [0, 2, 4, 6, 8, 10])
  t.deepEqual(ticks(0, 150, 6), [0, 25, 50, 75, 100, 125, 150])
  const svg = linePlot({
    title: 'a < b',
    xLabel: 't',
    yLabel: 'y',
    series: [
      { name: 'one', x: [0, 1, 2], y: [0, 1, 4] },
      { name: 'two', x: [0, 1, 2], y: [1, NaN, 2], dash: true },
    ],
    markers: [{ x: 1, label: 'm' }],
  })
  t.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'))
  t.equal(svg.match(/<polyline/g)?.length, 2)
  t.ok(svg.includes('a &lt; b'), 'text is escaped')
  t.ok(svg.includes('stroke-dasharray="6 4"'), 'dashed series')
  t.end()
})
