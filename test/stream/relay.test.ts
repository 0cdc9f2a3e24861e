/**
 * Prompt relay: records reach every node of a chain or a ring with no
 * gossip() call after the first exchange on each link, over object streams
 * and over wire streams (bytes). A chain delivers nothing twice; a ring's
 * two waves meet, at a node or at an edge where relays cross in flight,
 * and duplicates happen there only.
 */
import test from 'tape'
import type { Gossip, PeerStream, WireStream } from '../../lib/index.ts'
import { replicaOf } from '../../lib/index.ts'
import { node, until } from '../support/streams.ts'

type Link = 'objects' | 'wire'

type Side = PeerStream | WireStream

/** Join a and b with one stream each side; returns both sides, a's first (it starts the first exchange). */
function join(a: Gossip, b: Gossip, link: Link): [Side, Side] {
  if (link === 'objects') {
    const sa = a.createStream()
    const sb = b.createStream()
    sa.pipe(sb).pipe(sa)
    return [sa, sb]
  }
  const sa = a.createWireStream()
  const sb = b.createWireStream()
  sa.pipe(sb).pipe(sa)
  return [sa, sb]
}

function build(n: number, ring: boolean, link: Link) {
  const nodes = Array.from({ length: n }, (_, i) => node(`n${String(i).padStart(2, '0')}`, { mtu: 100 }))
  const pairs: [Side, Side][] = []
  for (let i = 0; i + 1 < n; i++) pairs.push(join(nodes[i], nodes[i + 1], link))
  if (ring) pairs.push(join(nodes[n - 1], nodes[0], link))
  return { nodes, pairs }
}

async function firstExchanges(pairs: [Side, Side][]): Promise<void> {
  for (const [a] of pairs) a.gossip()
  // A link's first exchange is over when the dialling side got the reply and the other side the final marker.
  await until(() => pairs.every(([a, b]) => a.stats.digestsReceived >= 1 && b.stats.digestsReceived >= 2), 20_000, 'first exchanges')
}

const relayed = (pairs: [Side, Side][]) => pairs.reduce((n, [a, b]) => n + a.stats.relayed + b.stats.relayed, 0)
const close = (pairs: [Side, Side][]) => {
  for (const [a, b] of pairs) {
    a.destroy()
    b.destroy()
  }
}

const totals = (nodes: Gossip[]) => {
  let redundant = 0
  let applied = 0
  for (const g of nodes) {
    redundant += replicaOf(g).stats.redundant
    applied += replicaOf(g).stats.applied
  }
  return { redundant, applied }
}

for (const link of ['objects', 'wire'] as Link[]) {
  test(`${link}: a chain of 10, 1000 keys written at one end, reaches the other end with nothing sent twice`, async (t) => {
    const { nodes, pairs } = build(10, false, link)
    await firstExchanges(pairs)
    for (let i = 0; i < 1000; i++) nodes[0].set(`k${i}`, i)
    await until(() => nodes.every((g) => g.size === 1000), 200_000, 'every node holds every key')
    t.pass('all 10 nodes hold the 1000 keys, with no gossip() call')
    const { redundant, applied } = totals(nodes)
    t.equal(applied, 10_000, '10,000 applications (1,000 keys at 10 nodes)')
    t.equal(redundant, 0, 'no record delivered to a node that held it')
    t.ok(relayed(pairs) > 1000, `${relayed(pairs)} records relayed on the way`)
    close(pairs)
    t.end()
  })

  test(`${link}: a ring of 20, 1000 keys from one node, reaches all; duplicates only where the two waves meet, then pruned`, async (t) => {
    const { nodes, pairs } = build(20, true, link)
    await firstExchanges(pairs)
    for (let i = 0; i < 1000; i++) nodes[0].set(`k${i}`, i)
    await until(() => nodes.every((g) => g.size === 1000), 200_000, 'every node holds every key')
    t.pass('all 20 nodes hold the 1000 keys, with no gossip() call')
    const { redundant, applied } = totals(nodes)
    const deliveries = applied - 1000 + redundant
    // The waves meet at a node (it gets each key from both sides) or at an
    // edge (the two ends relay each key to each other, crossing in flight).
    const at = nodes.map((g, i) => [i, replicaOf(g).stats.redundant] as const).filter(([, r]) => r > 0).map(([i]) => i)
    const adjacent = (i: number, j: number) => Math.abs(i - j) === 1 || Math.abs(i - j) === nodes.length - 1
    t.ok(at.length <= 2 && (at.length < 2 || adjacent(at[0], at[1])), `duplicates only where the waves meet: at nodes ${at.join(', ')} (neighbours on the ring)`)
    t.ok(redundant <= 2000 && redundant <= deliveries * 0.1, `${redundant} redundant of ${deliveries} deliveries (at most 2 per key where the waves meet; npm scuttlebutt's flooding: 52 %)`)
    t.ok(relayed(pairs) > 1000, `${relayed(pairs)} records relayed on the way`)
    close(pairs)
    t.end()
  })
}
