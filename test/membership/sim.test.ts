/**
 * Membership at scale in the seeded simulator (test/membership/support/
 * member-sim.ts): 100 nodes at a 300 ms interval with bounded views (6
 * outbound links, 2 exchanges a round), every node running the library's
 * pure membership code. Simulated time only: no sleeps, no wall clock; the
 * same seed gives the same run. `npm run members-sim` runs the same
 * scenarios at 1,000 nodes and prints the figures.
 */
import test from 'tape'
import { MemberSim, detectionTimes, falseDowns, rates, summarize, type SimOptions } from './support/member-sim.ts'

const N = 100

/** N nodes joining through node 0 (the only seed), one every 50 ms; run until every node holds every other alive. */
function joined(opts: Partial<SimOptions> = {}, n = N): { sim: MemberSim; at: number } {
  const sim = new MemberSim(opts)
  for (let i = 0; i < n; i++) sim.addNode(i * 50)
  let t = n * 50
  while (!sim.converged() && t < 120_000) sim.run((t += 500))
  return { sim, at: sim.now }
}

const s1 = (ms: number) => `${(ms / 1000).toFixed(2)} s`

test(`${N} nodes join through one seed: every node lists all alive; steady traffic bounded, the record digest one summary`, (t) => {
  const { sim, at } = joined({ seed: 1 })
  t.ok(sim.converged(), `converged: every node holds all ${N} alive, ${s1(at)} after the first join (the last joined at ${s1((N - 1) * 50)})`)
  t.equal(sim.events.filter((e) => e.kind === 'down').length, 0, 'no node was ever declared dead')
  sim.resetCounters()
  sim.run(at + 10_000)
  const r = rates(sim.counters, N, 10_000)
  t.ok(r.msgs < 50, `messages per node per second: ${r.msgs.toFixed(1)} (< 50)`)
  t.ok(r.bytes < 40_000, `bytes per node per second: ${(r.bytes / 1024).toFixed(1)} KiB (heartbeats of ${N} members, ${r.beatEntries.toFixed(0)} entries/s)`)
  t.equal(sim.counters.sums, 0, 'steady: no bucket digest was needed (the summaries agreed)')
  t.equal(sim.counters.records, 0, 'steady: no record moved')
  t.ok(sim.counters.maxBeatEntries <= N, `a beat carries at most one entry per member (${sim.counters.maxBeatEntries})`)
  t.ok(sim.nodes.every((n) => [...n.links.values()].filter((l) => l.out).length <= 7), 'every view is bounded: at most 6 + 1 outbound links')
  // One node crashes silently.
  const victim = sim.nodes[37]
  const crashAt = sim.now
  sim.crash(victim)
  sim.run(crashAt + 30_000)
  const d = summarize(detectionTimes(sim, victim, crashAt))
  t.equal(d.n, N - 1, `every other node (${d.n}) detected it`)
  t.ok(d.max < Infinity, 'none missed it')
  t.ok(d.mean < 5000, `detection mean ${s1(d.mean)} (< 5 s)`)
  t.ok(d.p99 < 10_000, `detection p99 ${s1(d.p99)} (< 10 s), max ${s1(d.max)}`)
  t.equal(falseDowns(sim, crashAt, new Set([victim.id])).length, 0, 'no false death')
  t.end()
})

test(`${N} nodes under 50% message loss: no false death in 60 s, a crash still detected by all within 15 s`, (t) => {
  const { sim, at } = joined({ seed: 2, loss: 0.5 })
  t.ok(sim.converged(), `converged under loss at ${s1(at)}`)
  t.equal(falseDowns(sim, 0).length, 0, 'no false death while joining')
  sim.resetCounters()
  sim.run(at + 60_000)
  t.equal(falseDowns(sim, at).length, 0, 'no false death in 60 s of simulated time at 50% loss')
  const r = rates(sim.counters, N, 60_000)
  t.ok(r.msgs < 50, `messages per node per second: ${r.msgs.toFixed(1)} sent (half of them lost)`)
  const victim = sim.nodes[71]
  const crashAt = sim.now
  sim.crash(victim)
  sim.run(crashAt + 30_000)
  const d = summarize(detectionTimes(sim, victim, crashAt))
  t.equal(d.n, N - 1, 'every other node detected it')
  t.ok(d.max < 15_000, `detection under 50% loss: mean ${s1(d.mean)}, p99 ${s1(d.p99)}, max ${s1(d.max)} (< 15 s)`)
  t.equal(falseDowns(sim, crashAt, new Set([victim.id])).length, 0, 'no false death meanwhile')
  t.end()
})

test('a partition: each half holds the other dead; healed, every node holds every other alive again', (t) => {
  const { sim, at } = joined({ seed: 3 })
  const half = (i: number) => (i < N / 2 ? 1 : 2)
  sim.partition((n) => half(n.index))
  sim.run(at + 30_000)
  const split = sim.nodes.every((n) =>
    [...n.table.all()].every((e) => e.record.id === n.id || (half(Number(e.record.id.slice(1))) === half(n.index) ? e.state === 'alive' : e.state === 'dead')),
  )
  t.ok(split, 'after 30 s apart: each node holds its own half alive and the other half dead')
  const healAt = sim.now
  sim.partition(() => 0)
  let t2 = healAt
  while (!sim.converged() && t2 < healAt + 60_000) sim.run((t2 += 500))
  t.ok(sim.converged(), `healed: converged again ${s1(sim.now - healAt)} after the partition ended`)
  const ups = sim.events.filter((e) => e.kind === 'up' && e.at >= healAt).length
  t.equal(ups, N * (N / 2), `every node saw every node of the other half come back up (${ups} up events)`)
  t.end()
})

test('a graceful leave: every node holds it left, the nodes linked to it at once', (t) => {
  const { sim, at } = joined({ seed: 4 })
  const leaver = sim.nodes[12]
  const linked = new Set([...leaver.links.keys()])
  sim.leave(leaver)
  sim.run(at + 100)
  const atOnce = sim.nodes.filter((n) => linked.has(n.index) && n.table.get(leaver.id)?.state === 'left').length
  t.equal(atOnce, linked.size, `the ${linked.size} nodes linked to it hold it left within 100 ms`)
  sim.run(at + 20_000)
  const others = sim.nodes.filter((n) => n !== leaver)
  t.ok(others.every((n) => n.table.get(leaver.id)?.state === 'left'), 'after 20 s every node holds it left (the others after their detector held it dead, then took the relayed record)')
  t.notOk(sim.events.some((e) => e.kind === 'up' && e.id === leaver.id), 'it never came back up')
  t.ok(sim.converged(), 'the rest of the cluster is converged')
  t.end()
})

test('a crash and a restart with a new generation: every node holds the new life alive, the old one is gone', (t) => {
  const { sim, at } = joined({ seed: 5 })
  const node = sim.nodes[44]
  const oldGen = node.gen
  sim.crash(node)
  sim.run(at + 15_000)
  t.ok(detectionTimes(sim, node, at, oldGen).every((d) => d < 15_000), 'the crash was detected by every node')
  sim.restart(node)
  let t2 = sim.now
  const restartAt = t2
  while (!sim.converged() && t2 < restartAt + 60_000) sim.run((t2 += 500))
  t.ok(sim.converged(), `every node holds the new generation alive ${s1(sim.now - restartAt)} after the restart`)
  t.ok(node.gen > oldGen, 'a later generation')
  const joins = sim.events.filter((e) => e.kind === 'join' && e.id === node.id && e.gen === node.gen).length
  t.equal(joins, N - 1, 'one join of the new life at every other node')
  t.equal(sim.events.filter((e) => e.kind === 'up' && e.id === node.id && e.gen === oldGen).length, 0, 'the old life never came back up')
  t.end()
})

test('the only seed dies: the nodes that joined through it keep working and still detect a crash', (t) => {
  const { sim, at } = joined({ seed: 6 })
  const seed = sim.nodes[0]
  sim.crash(seed)
  sim.run(at + 20_000)
  t.ok(sim.converged(), 'the other 99 still hold each other alive, the seed dead')
  const victim = sim.nodes[90]
  const crashAt = sim.now
  sim.crash(victim)
  sim.run(crashAt + 20_000)
  const d = summarize(detectionTimes(sim, victim, crashAt))
  t.equal(d.n, N - 2, 'a later crash is detected by all 98 others')
  t.ok(d.p99 < 10_000, `p99 ${s1(d.p99)}`)
  t.end()
})

test('joins into a running cluster, and the same seed gives the same run', (t) => {
  const run = () => {
    const { sim, at } = joined({ seed: 7 }, 30)
    for (let i = 0; i < 10; i++) sim.addNode(at + i * 100)
    sim.run(at + 20_000)
    return sim
  }
  const a = run()
  t.ok(a.converged(), 'ten nodes joining a running cluster of 30: all 40 hold each other alive')
  const b = run()
  t.deepEqual(
    b.events.map((e) => [e.at, e.observer, e.kind, e.id, e.reason]),
    a.events.map((e) => [e.at, e.observer, e.kind, e.id, e.reason]),
    `the same seed, the same ${a.events.length} events at the same simulated times`,
  )
  t.deepEqual(b.counters, a.counters, 'and the same traffic')
  t.end()
})
