/**
 * (c) Nodes in a ring or a chain; node 0 sets K keys; time until every node
 * holds all, and how many updates arrived at a node that already had them.
 *   node --import tsx bench/scenarios/ring.ts <ours|ours-binary|scuttlebutt> <ring|chain> <nodes> <K> <warm 0|1>
 * No timer and no gossip() call after the first exchange on every link:
 * ours spreads by prompt relay (pruning links that deliver duplicates),
 * npm scuttlebutt floods. With warm 1, 200 other keys spread first (and
 * their duplicates are not counted).
 */
import { emit, joinOurs, joinScuttlebutt, ours, peakRssMB, ScuttlebuttModel, until, wireOf } from '../bench/scenarios/common.ts'

const [impl, shape, nodesArg, kArg, warmArg] = process.argv.slice(2)
const count = Number(nodesArg)
const k = Number(kArg)
const WARM = warmArg === '1' ? 200 : 0
const useful = (count - 1) * k
const pairs = Array.from({ length: shape === 'chain' ? count - 1 : count }, (_, i) => [i, (i + 1) % count] as const)

if (impl === 'ours' || impl === 'ours-binary') {
  const nodes = Array.from({ length: count }, (_, i) => ours('n' + i))
  const links = pairs.map(([x, y]) => joinOurs(nodes[x], nodes[y], wireOf(impl)))
  // Settle the first exchange on every link, so relays and pushes can flow.
  for (const l of links) l.sa.gossip()
  await until(() => links.every((l) => l.synced()))
  for (let i = 0; i < WARM; i++) nodes[0].set('warm-' + i, { i })
  await until(() => nodes.every((g) => g.size === WARM))
  const base = nodes.reduce((s, g) => s + g.stats.applied, 0)
  const received0 = links.reduce((s, l) => s + l.sa.stats.updatesReceived + l.sb.stats.updatesReceived, 0)
  const t0 = performance.now()
  for (let i = 0; i < k; i++) nodes[0].set('key-' + i, { i })
  await until(() => nodes.every((g) => g.size === WARM + k))
  const ms = performance.now() - t0
  const received = links.reduce((s, l) => s + l.sa.stats.updatesReceived + l.sb.stats.updatesReceived, 0) - received0
  const applied = nodes.reduce((s, g) => s + g.stats.applied, 0) - base - k
  emit({ ms, ups: (useful / ms) * 1000, rssMB: peakRssMB(), redundant: received - applied, redundantShare: (received - applied) / Math.max(1, received) })
} else {
  const Model = ScuttlebuttModel()
  const nodes = Array.from({ length: count }, () => new Model())
  const links = pairs.map(([x, y]) => joinScuttlebutt(nodes[x], nodes[y], true))
  await until(() => links.every((l) => l.synced()))
  const counts = nodes.map(() => 0)
  nodes.forEach((m, i) => m.on('update', () => counts[i]++))
  for (let i = 0; i < WARM; i++) nodes[0].set('warm-' + i, { i })
  await until(() => counts.every((c, i) => i === 0 || c >= WARM))
  // Every update line that crosses a link reaches a node (applied or not).
  const lines0 = links.reduce((sum, l) => sum + l.updateLines(), 0)
  const applied0 = counts.reduce((s, c, i) => s + (i === 0 ? 0 : c), 0)
  const t0 = performance.now()
  for (let i = 0; i < k; i++) nodes[0].set('key-' + i, { i })
  await until(() => counts.every((c, i) => i === 0 || c >= WARM + k))
  const ms = performance.now() - t0
  const applied = counts.reduce((s, c, i) => s + (i === 0 ? 0 : c), 0) - applied0
  const received = links.reduce((sum, l) => sum + l.updateLines(), 0) - lines0
  emit({ ms, ups: (useful / ms) * 1000, rssMB: peakRssMB(), redundant: received - applied, redundantShare: (received - applied) / Math.max(1, received) })
}
process.exit(0)
