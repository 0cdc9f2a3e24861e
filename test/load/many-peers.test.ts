/**
 * One node serving many TCP peers at once: every peer's exchanges complete
 * (none starves, even while some peers stop reading), and what the node
 * buffers for a peer is bounded by mtu, not by the size of its state.
 * `bench/load.ts` runs the full size.
 */
import test from 'tape'
import { Network, connect, listen, type Connection } from '../../lib/net.ts'
import type { Gossip } from '../../lib/index.ts'
import { node, waitFor } from '../support/streams.ts'

test('a hub with 10,000 keys serves 20 peers; 5 stall, the other 15 still get everything; buffers stay bounded', async (t) => {
  const mtu = 200
  const keys = 10_000
  const hub = node('hub', { mtu })
  for (let i = 0; i < keys; i++) hub.set('key-' + i, { i, pad: 'x'.repeat(32) })
  const hubNet = new Network(hub, { interval: 100 })
  const { port } = await listen(hubNet, { port: 0 })
  const peers: Gossip[] = []
  const nets: Network[] = []
  for (let i = 0; i < 20; i++) {
    const g = node('peer' + i, { mtu })
    const n = new Network(g, { interval: 100 })
    connect(n, { host: '127.0.0.1', port })
    peers.push(g)
    nets.push(n)
  }
  const started = Date.now()
  const firstFull: number[] = []
  await waitFor(() => {
    peers.forEach((p, i) => {
      if (firstFull[i] === undefined && p.size >= keys) firstFull[i] = Date.now() - started
    })
    return peers.every((p) => p.size >= keys)
  }, 120_000, 'every peer holds the hub\'s keys')
  t.ok(peers.every((p) => p.size >= keys), 'all 20 peers hold the hub\'s 10,000 keys')
  t.ok(Math.max(...firstFull) < 60_000, `none starved: full copies after ${Math.min(...firstFull)}-${Math.max(...firstFull)} ms`)

  // Five peers stop reading their sockets.
  for (const n of nets.slice(0, 5)) {
    for (const p of n.peers as Connection[]) {
      p.socket.unpipe(p.stream!)
      p.socket.pause()
    }
  }
  const live = peers.slice(5)

  // The hub keeps writing (10 MB of updates): its pushes to the stalled peers
  // fill their sockets, then stop; the reading peers keep up.
  const big = 'y'.repeat(1000)
  for (let i = 0; i < 10_000; i++) {
    hub.set('hot-' + (i % 500), { i, big })
    if (i % 500 === 0) await new Promise((r) => setImmediate(r))
  }
  await waitFor(() => live.every((p) => p.get('hot-499').value !== null && (p.get('hot-499').value as { i: number }).i === 9999), 120_000, 'reading peers see the last hot write')
  t.pass('the reading peers kept up with 10,000 more writes')

  // What the hub holds for a stalled peer, above the kernel's socket buffer.
  const stalled = (hubNet.peers as Connection[]).filter((c) => Number(c.id.slice(4)) < 5)
  let maxObjects = 0
  t.equal(stalled.length, 5, 'the stalled peers are still connected')
  for (const c of stalled) {
    const bytes = (c.stream?.waiting ?? 0) + c.socket.writableLength
    t.ok(bytes < 1_000_000, `${c.id}: ${bytes} bytes waiting above its socket (10 MB was written)`)
    maxObjects = Math.max(maxObjects, bytes)
  }

  t.ok(maxObjects > 0, 'the stalled peers\' buffers did fill (the bound was reached, not untested)')
  // The stalled peers resume and catch up too.
  for (const n of nets.slice(0, 5)) {
    for (const p of n.peers as Connection[]) {
      p.socket.pipe(p.stream!)
      p.socket.resume()
    }
  }
  await waitFor(() => peers.every((p) => p.size >= keys), 120_000, 'the stalled peers catch up')
  t.pass('once they read again, the stalled peers catch up as well')
  await Promise.all([hubNet.close(), ...nets.map((n) => n.close())])
  t.end()
})
