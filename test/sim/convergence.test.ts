/**
 * Convergence of the pure core in the seeded simulator: random pairings,
 * random writes to overlapping keys from every node, mtu 1..20, both orders.
 * After every delivered message the paper's invariant holds; once writes
 * stop, every node holds the oracle's state; no exchange sends an update the
 * receiver already held.
 */
import test from 'tape'
import fc from 'fast-check'
import { randomInt } from '../../lib/core/random.ts'
import { Sim } from '../support/sim.ts'

function run(seed: number, nodes: number, mtu: number, order: 'depth' | 'breadth', resolve: 'lww' | 'values', steps: number, pushFullRate = 0.2, relay = false) {
  const sim = new Sim({ nodes, seed, mtu, order, resolve, pushFullRate, relay })
  const r = sim.random
  for (let step = 0; step < steps; step++) {
    if (r() < 0.5) sim.write(randomInt(r, nodes), 'k' + randomInt(r, 16), randomInt(r, 1000))
    else {
      const i = randomInt(r, nodes)
      let j = randomInt(r, nodes - 1)
      if (j >= i) j++
      sim.exchange(i, j)
    }
  }
  const rounds = sim.settle(300)
  return { sim, rounds }
}

test('12 nodes, both orders, both built-in orders of values, mtu 1..20', (t) => {
  for (const order of ['depth', 'breadth'] as const) {
    for (const resolve of ['lww', 'values'] as const) {
      for (const mtu of [1, 3, 20]) {
        const { sim, rounds } = run(1000 + mtu, 12, mtu, order, resolve, 400)
        t.ok(sim.writes.length > 40, `${order}/${resolve}/mtu ${mtu}: ${sim.writes.length} writes`)
        t.deepEqual(sim.violations, [], 'invariant held after every message')
        t.ok(rounds > 0 && sim.converged(), `converged to the oracle in ${rounds} rounds after writes stopped`)
        t.equal(sim.redundant, 0, `no update sent to a node that held it (${sim.updatesDelivered} delivered)`)
      }
    }
  }
  t.end()
})

test('with prompt relay on: the invariant holds, everything converges, and once relay trees form few deliveries are duplicates', (t) => {
  for (const mtu of [1, 3, 20]) {
    const nodes = 12
    const sim = new Sim({ nodes, seed: 3000 + mtu, mtu, order: 'depth', resolve: 'lww', pushFullRate: 0.2, relay: true })
    const r = sim.random
    let before = { delivered: 0, redundant: 0 }
    for (let step = 0; step < 1600; step++) {
      if (step === 800) before = { delivered: sim.updatesDelivered, redundant: sim.redundant }
      if (r() < 0.5) sim.write(randomInt(r, nodes), 'k' + randomInt(r, 16), randomInt(r, 1000))
      else {
        const i = randomInt(r, nodes)
        let j = randomInt(r, nodes - 1)
        if (j >= i) j++
        sim.exchange(i, j)
      }
    }
    const rounds = sim.settle(300)
    t.deepEqual(sim.violations, [], `mtu ${mtu}: invariant held after every message`)
    t.ok(rounds > 0 && sim.converged(), `converged to the oracle in ${rounds} rounds`)
    const relayed = sim.nodes.reduce((a, n) => a + n.sessions.reduce((b, x) => b + (x?.stats.relayed ?? 0), 0), 0)
    t.ok(relayed > 100, `${relayed} records relayed`)
    const delivered = sim.updatesDelivered - before.delivered
    const redundant = sim.redundant - before.redundant
    t.ok(redundant <= delivered * 0.1, `second half: ${redundant} of ${delivered} deliveries redundant (all ${sim.redundant} of ${sim.updatesDelivered} counted)`)
  }
  t.end()
})

test('property: any schedule of writes and exchanges converges with the invariant intact', (t) => {
  let runs = 0
  fc.assert(
    fc.property(
      fc.integer({ min: 12, max: 14 }),
      fc.integer({ min: 1, max: 20 }),
      fc.constantFrom('depth' as const, 'breadth' as const),
      fc.constantFrom('lww' as const, 'values' as const),
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('write' as const), node: fc.nat(), key: fc.integer({ min: 0, max: 9 }), value: fc.integer({ min: 0, max: 50 }) }),
          fc.record({ op: fc.constant('exchange' as const), a: fc.nat(), b: fc.nat() }),
        ),
        { minLength: 1, maxLength: 60 },
      ),
      fc.integer({ min: 1, max: 1_000_000 }),
      (nodes, mtu, order, resolve, ops, seed) => {
        runs++
        const sim = new Sim({ nodes, seed, mtu, order, resolve, pushFullRate: 0.2 })
        for (const o of ops) {
          if (o.op === 'write') sim.write(o.node % nodes, 'k' + o.key, o.value)
          else {
            const a = o.a % nodes
            const b = (a + 1 + (o.b % (nodes - 1))) % nodes
            sim.exchange(a, b)
          }
          if (sim.violations.length) return false
        }
        const rounds = sim.settle(300)
        return rounds > 0 && sim.violations.length === 0 && sim.redundant === 0
      },
    ),
    { numRuns: 200, seed: 20261122 },
  )
  t.equal(runs, 200, '200 generated schedules, all converged with no invariant violation or redundant send')
  t.end()
})

test('synchronous rounds to spread one update stay near the push-pull floor', (t) => {
  for (const n of [12, 100]) {
    const trials = 20
    const maxRounds = 1000
    const rounds: number[] = []
    for (let s = 0; s < trials; s++) {
      const sim = new Sim({ nodes: n, seed: 77 + s })
      sim.write(0, 'x', 1)
      rounds.push(sim.settleSync(maxRounds)) // -1: never converged
    }
    // A run that never converges fails the test; it must not lower the mean.
    t.deepEqual(rounds.filter((r) => r < 1), [], `N=${n}: all ${trials} runs converged`)
    const mean = rounds.reduce((a, r) => a + (r < 1 ? maxRounds : r), 0) / trials
    const done = rounds.filter((r) => r > 0)
    const floor = Math.log(n) / Math.log(3) + Math.log(Math.log(n))
    t.ok(mean <= floor * 1.25, `N=${n}: ${mean.toFixed(2)} rounds on average (floor ${floor.toFixed(2)}; ${done.length} of ${trials} converged)`)
  }
  t.end()
})
