/**
 * Over real sockets, an update spreads through a cluster of random peers in
 * a number of gossip rounds close to the epidemic floor, not in N rounds.
 *
 * Rounds are driven by the test (one shared set of fake timers): each round
 * fires every node's round timer once, then waits until every byte sent on
 * every link has arrived and nothing more moves. So the count is of rounds,
 * whatever the machine's load, never of wall-clock time.
 */
import test from 'tape'
import { Network, connect, listen } from '../../lib/net.ts'
import { seededRandom, randomInt } from '../../lib/core/random.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { node, quiet, waitFor } from '../support/streams.ts'

test('30 nodes, 4 random peers each, fanout 1: one update reaches all in few rounds', async (t) => {
  const n = 30
  const interval = 40
  const random = seededRandom(2026)
  const timers = new FakeTimers()
  const nodes = Array.from({ length: n }, (_, i) => node('n' + i, { random: seededRandom(i + 1) }))
  const nets = nodes.map((g, i) => new Network(g, { interval, fanout: 1, random: seededRandom(100 + i), timers }))
  const ports = await Promise.all(nets.map((x) => listen(x, { port: 0 })))
  const edges = new Set<string>()
  for (let i = 0; i < n; i++) {
    let made = 0
    while (made < 2) {
      const j = randomInt(random, n)
      const key = i < j ? `${i}-${j}` : `${j}-${i}`
      if (j === i || edges.has(key)) continue
      edges.add(key)
      connect(nets[i], { host: '127.0.0.1', port: ports[j].port })
      made++
    }
  }
  await waitFor(() => nets.every((x) => x.peers.length >= 2) && nets.reduce((a, x) => a + x.peers.length, 0) === 2 * edges.size, 20_000, 'connections')

  /** Every byte sent on every link has arrived, and nothing more moves for a few event-loop turns. */
  const bytes = () => {
    let out = 0
    let inn = 0
    for (const x of nets) for (const p of x.peers) (out += p.bytesOut), (inn += p.bytesIn)
    return { out, inn }
  }
  const settle = async () => {
    for (;;) {
      await waitFor(() => bytes().out === bytes().inn, 20_000, 'every link to go quiet')
      const before = bytes().out
      await quiet(10)
      const now = bytes()
      if (now.out === now.inn && now.out === before) return
    }
  }
  const round = async () => {
    timers.advance(interval)
    await settle()
  }

  // The connect-time exchanges, then a few rounds with nothing new.
  await settle()
  for (let i = 0; i < 3; i++) await round()
  t.ok(nets.every((x) => x.scheduler.rounds === 3), 'every node ran exactly one round per step')
  const start = nets.map((x) => x.scheduler.rounds)
  nodes[0].set('news', 'hello')
  await settle()
  const has = () => nodes.filter((g) => g.get('news').value === 'hello').length
  let steps = 0
  while (has() < n && steps < 100) {
    await round()
    steps++
  }
  t.equal(has(), n, `the update reached all ${n} nodes`)
  const rounds = Math.max(...nets.map((x, i) => x.scheduler.rounds - start[i]))
  t.equal(rounds, steps, 'one round per node per step')
  const floor = Math.log(n) / Math.log(3) + Math.log(Math.log(n))
  t.ok(rounds <= 3 * floor, `reached all ${n} nodes within ${rounds} rounds (push-pull floor ${floor.toFixed(1)}, N = ${n})`)
  await Promise.all(nets.map((x) => x.close()))
  t.end()
})
