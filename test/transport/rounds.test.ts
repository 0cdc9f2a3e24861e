/**
 * Over real sockets, an update spreads through a cluster of random peers in
 * a number of gossip rounds close to the epidemic floor, not in N rounds.
 */
import test from 'tape'
import { Network, connect, listen } from '../../lib/net.ts'
import { seededRandom, randomInt } from '../../lib/core/random.ts'
import { node, waitFor } from '../support/streams.ts'

test('30 nodes, 4 random peers each, fanout 1: one update reaches all in few rounds', async (t) => {
  const n = 30
  const random = seededRandom(2026)
  const nodes = Array.from({ length: n }, (_, i) => node('n' + i, { random: seededRandom(i + 1) }))
  const nets = nodes.map((g, i) => new Network(g, { interval: 40, fanout: 1, random: seededRandom(100 + i) }))
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
  await waitFor(() => nets.every((x) => x.peers.length >= 2), 20_000, 'connections')
  // Let the connect-time exchanges finish, then count rounds from the write.
  await waitFor(() => nets.every((x) => x.scheduler.rounds >= 3), 20_000, 'settled')
  const start = nets.map((x) => x.scheduler.rounds)
  nodes[0].set('news', 'hello')
  await waitFor(() => nodes.every((g) => g.get('news').value === 'hello'), 30_000, 'spread')
  const rounds = Math.max(...nets.map((x, i) => x.scheduler.rounds - start[i]))
  const floor = Math.log(n) / Math.log(3) + Math.log(Math.log(n))
  t.ok(rounds <= 3 * floor, `reached all ${n} nodes within ${rounds} rounds (push-pull floor ${floor.toFixed(1)}, N = ${n})`)
  await Promise.all(nets.map((x) => x.close()))
  t.end()
})
