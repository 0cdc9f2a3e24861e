/**
 * (c) Nodes in a ring; node 0 sets K keys; time until every node holds all,
 * and how many updates arrived at a node that already had them.
 *   node --import tsx bench/scenarios/ring.ts <ours|scuttlebutt> <nodes> <K>
 * Ours gossips on a timer (every 20 ms, each node with a random neighbour)
 * once the writes are done; npm scuttlebutt floods updates as they happen.
 */
import { emit, joinOurs, joinScuttlebutt, ours, peakRssMB, ScuttlebuttModel, until } from './common.ts'
import { seededRandom } from '../../lib/core/random.ts'

const [impl, nodesArg, kArg] = process.argv.slice(2)
const count = Number(nodesArg)
const k = Number(kArg)
const useful = (count - 1) * k

if (impl === 'ours') {
  const nodes = Array.from({ length: count }, (_, i) => ours('n' + i))
  const links = nodes.map((g, i) => joinOurs(g, nodes[(i + 1) % count]))
  // Settle the first exchange on every link, so pushes can flow.
  for (const l of links) l.sa.gossip()
  await until(() => links.every((l) => l.synced()))
  const base = nodes.reduce((s, g) => s + g.stats.applied, 0)
  const received0 = links.reduce((s, l) => s + l.sa.stats.updatesReceived + l.sb.stats.updatesReceived, 0)
  const random = seededRandom(7)
  const t0 = performance.now()
  for (let i = 0; i < k; i++) nodes[0].set('key-' + i, { i })
  const timer = setInterval(() => {
    for (let i = 0; i < count; i++) (random() < 0.5 ? links[i].sa : links[(i + count - 1) % count].sb).gossip()
  }, 20)
  await until(() => nodes.every((g) => g.size === k))
  const ms = performance.now() - t0
  clearInterval(timer)
  const received = links.reduce((s, l) => s + l.sa.stats.updatesReceived + l.sb.stats.updatesReceived, 0) - received0
  const applied = nodes.reduce((s, g) => s + g.stats.applied, 0) - base - k
  emit({ ms, ups: (useful / ms) * 1000, rssMB: peakRssMB(), redundant: received - applied, redundantShare: (received - applied) / Math.max(1, received) })
} else {
  const Model = ScuttlebuttModel()
  const nodes = Array.from({ length: count }, () => new Model())
  const links = nodes.map((m, i) => joinScuttlebutt(m, nodes[(i + 1) % count], true))
  await until(() => links.every((l) => l.synced()))
  const counts = nodes.map(() => 0)
  // Every update line that crosses a link reaches a node (applied or not).
  const lines0 = links.reduce((sum, l) => sum + l.updateLines(), 0)
  nodes.forEach((m, i) => m.on('update', () => counts[i]++))
  const t0 = performance.now()
  for (let i = 0; i < k; i++) nodes[0].set('key-' + i, { i })
  await until(() => counts.every((c, i) => i === 0 || c >= k))
  const ms = performance.now() - t0
  const applied = counts.reduce((s, c, i) => s + (i === 0 ? 0 : c), 0)
  const received = links.reduce((sum, l) => sum + l.updateLines(), 0) - lines0
  emit({ ms, ups: (useful / ms) * 1000, rssMB: peakRssMB(), redundant: received - applied, redundantShare: (received - applied) / Math.max(1, received) })
}
process.exit(0)
