/**
 * One node serving many TCP peers at once: every peer's exchanges complete
 * (none starves, even while some peers stop reading), and what the node
 * buffers for a peer is bounded, not by the size of its state.
 * `bench/load.ts` runs the full size.
 *
 * Waits are event-driven (on the peers' applied updates); their timeouts
 * only bound a failure, nothing is asserted on time.
 */
import test from 'tape'
import { Network, connect, listen, type Connection } from '../../lib/net.ts'
import type { Gossip, Rec } from '../../lib/index.ts'
import { node } from '../support/streams.ts'

const PEERS = 20
const STALLED = 5
const KEYS = 10_000
const HOT_KEYS = 500
const HOT_WRITES = 10_000
/** The WireStream's default high-water mark: what a peer's stream holds before it reports full. */
const STREAM_LIMIT = 256 * 1024

/**
 * Resolves once `done(g)` holds for every node, checked whenever one of
 * them applies an update; rejects after `timeoutMs` naming how many are
 * missing.
 */
function allReach(nodes: Gossip[], done: (g: Gossip) => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const pending = new Map<Gossip, () => void>()
    const finish = (err?: Error) => {
      clearTimeout(timer)
      for (const [g, fn] of pending) g.history.off('update', fn)
      pending.clear()
      if (err) reject(err)
      else resolve()
    }
    const timer = setTimeout(() => finish(new Error(`${what}: ${pending.size} of ${nodes.length} nodes not there after ${timeoutMs} ms`)), timeoutMs)
    for (const g of nodes) {
      if (done(g)) continue
      const fn = () => {
        if (!done(g)) return
        g.history.off('update', fn)
        pending.delete(g)
        if (pending.size === 0) finish()
      }
      pending.set(g, fn)
      g.history.on('update', fn)
    }
    if (pending.size === 0) finish()
  })
}

/** The last write the hub makes to `hot-j` is i = HOT_WRITES - HOT_KEYS + j. */
const isFinalHot = (u: Rec) => u.key.startsWith('hot-') && (u.value as { i: number }).i >= HOT_WRITES - HOT_KEYS

test('a hub with 10,000 keys serves 20 peers; 5 stall, the other 15 still get everything; buffers stay bounded; the 5 catch up', async (t) => {
  const mtu = 200
  const hub = node('hub', { mtu })
  for (let i = 0; i < KEYS; i++) hub.set('key-' + i, { i, pad: 'x'.repeat(32) })
  const hubNet = new Network(hub, { interval: 100 })
  const { port } = await listen(hubNet, { port: 0 })
  const peers: Gossip[] = []
  const nets: Network[] = []
  /** Per peer, the hot keys it holds at their final value. */
  const finalHot = new Map<Gossip, Set<string>>()
  for (let i = 0; i < PEERS; i++) {
    const g = node('peer' + i, { mtu })
    const n = new Network(g, { interval: 100 })
    connect(n, { host: '127.0.0.1', port })
    peers.push(g)
    nets.push(n)
    const held = new Set<string>()
    finalHot.set(g, held)
    g.history.on('update', (u) => {
      if (isFinalHot(u)) held.add(u.key)
    })
  }
  await allReach(peers, (p) => p.size === KEYS, 120_000, "every peer holds the hub's keys")
  t.ok(
    peers.every((p) => p.size === KEYS),
    `none starved: all ${PEERS} peers hold the hub's ${KEYS} keys`,
  )

  // Five peers stop reading their sockets.
  for (const n of nets.slice(0, STALLED)) {
    for (const p of n.peers as Connection[]) {
      p.socket.unpipe(p.stream!)
      p.socket.pause()
    }
  }
  const stalledPeers = peers.slice(0, STALLED)
  const live = peers.slice(STALLED)
  const hubLinks = () => hubNet.peers as Connection[]
  const isStalledLink = (c: Connection) => Number(c.id.slice(4)) < STALLED
  const sentAtStall = new Map(hubLinks().map((c) => [c.id, c.bytesOut]))

  // The hub keeps writing (10 MB of updates): its pushes to the stalled peers
  // fill their sockets, then stop; the reading peers keep up.
  const big = 'y'.repeat(1000)
  for (let i = 0; i < HOT_WRITES; i++) {
    hub.set('hot-' + (i % HOT_KEYS), { i, big })
    if (i % 500 === 0) await new Promise((r) => setImmediate(r))
  }
  await allReach(live, (p) => finalHot.get(p)!.size === HOT_KEYS, 120_000, 'reading peers hold the last hot writes')
  t.pass(`the ${live.length} reading peers hold the last of ${HOT_WRITES} more writes`)

  // The stalled peers have not seen them: the catch-up below is real.
  for (const p of stalledPeers) {
    t.ok(finalHot.get(p)!.size < HOT_KEYS, `${p.id} stalled: ${finalHot.get(p)!.size} of ${HOT_KEYS} hot keys at their last value`)
  }

  // What the hub holds for a stalled peer: at most its stream's limit. (A
  // stalled peer sends no final for the exchange the hub answered, so its
  // later requests wait unanswered and the hub's pushes to it stop early.)
  const stalledLinks = hubLinks().filter(isStalledLink)
  const liveLinks = hubLinks().filter((c) => !isStalledLink(c))
  t.equal(stalledLinks.length, STALLED, 'the stalled peers are still connected')
  const sentToLive = Math.min(...liveLinks.map((c) => c.bytesOut - sentAtStall.get(c.id)!))
  for (const c of stalledLinks) {
    const waiting = c.stream?.waiting ?? 0
    const buffered = waiting + c.socket.writableLength
    const sent = c.bytesOut - sentAtStall.get(c.id)!
    t.ok(waiting <= STREAM_LIMIT + 64 * 1024, `${c.id}: its stream holds at most its limit (${waiting} bytes waiting, limit ${STREAM_LIMIT})`)
    t.ok(buffered < 1_000_000, `${c.id}: ${buffered} bytes held above the kernel's socket buffer (10 MB was written)`)
    t.ok(sent < sentToLive, `${c.id}: the hub held back (${sent} bytes produced for it since the stall, ${sentToLive} for each reading peer)`)
  }

  // The stalled peers read again, and catch up: every hot key at its last value.
  for (const n of nets.slice(0, STALLED)) {
    for (const p of n.peers as Connection[]) {
      p.socket.pipe(p.stream!)
      p.socket.resume()
    }
  }
  await allReach(stalledPeers, (p) => finalHot.get(p)!.size === HOT_KEYS, 120_000, 'the stalled peers catch up')
  const same = (p: Gossip) => p.size === hub.size && hub.records().every((r) => p.record(r.key)?.version === r.version)
  for (const p of stalledPeers) t.ok(same(p), `${p.id} caught up: the hub's ${hub.size} records, each at the hub's version`)
  await Promise.all([hubNet.close(), ...nets.map((n) => n.close())])
  t.end()
})
