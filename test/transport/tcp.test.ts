/** Peers over loopback TCP: convergence, reconnects, backpressure, hello checks, clean shutdown. */
import test from 'tape'
import * as net from 'node:net'
import { Network, connect, listen, type Connection } from '../../lib/net.ts'
import type { Gossip } from '../../lib/index.ts'
import { node, quiet, sameState, waitFor } from '../support/streams.ts'

async function cluster(n: number, opts: { mtu?: number; interval?: number; fanout?: number } = {}) {
  const nodes = Array.from({ length: n }, (_, i) => node('n' + i, { mtu: opts.mtu ?? 100 }))
  const nets = nodes.map((g) => new Network(g, { interval: opts.interval ?? 50, fanout: opts.fanout, backoff: { initial: 10, max: 200 } }))
  const ports = await Promise.all(nets.map((x) => listen(x, { port: 0, host: '127.0.0.1' })))
  return { nodes, nets, ports, close: () => Promise.all(nets.map((x) => x.close())) }
}

/** Wait until every byte either side sent has arrived and nothing more comes for a few event-loop turns. */
async function linkQuiet(x: Connection, y: Connection): Promise<void> {
  const level = () => x.bytesOut === y.bytesIn && y.bytesOut === x.bytesIn
  for (;;) {
    await waitFor(level, 10_000, 'the link to go quiet')
    const seen = x.bytesOut + y.bytesOut
    await quiet(10)
    if (level() && x.bytesOut + y.bytesOut === seen) return
  }
}

/** The value of `measure` once it stops changing over a few dozen event-loop turns. */
async function settled(measure: () => number): Promise<number> {
  let last = measure()
  for (;;) {
    await quiet(20)
    const now = measure()
    if (now === last) return now
    last = now
  }
}

test('five nodes on loopback converge from writes at every node', async (t) => {
  const { nodes, nets, ports, close } = await cluster(5)
  for (let i = 0; i < 5; i++) {
    connect(nets[i], { host: '127.0.0.1', port: ports[(i + 1) % 5].port })
    connect(nets[i], { host: '127.0.0.1', port: ports[(i + 2) % 5].port })
  }
  await waitFor(() => nets.every((x) => x.peers.length >= 2), 10_000, 'connections')
  for (let k = 0; k < 1000; k++) nodes[k % 5].set('k' + (k % 211), { k, from: k % 5 })
  await waitFor(() => nodes.every((g) => g.size === 211) && sameState(nodes), 20_000, 'convergence')
  t.ok(sameState(nodes), 'every node holds the same 211 keys')
  t.ok(nets.every((x) => x.peers.every((p) => p.bytesIn > 0 && p.bytesOut > 0)), 'bytes flowed on every connection')
  await close()
  t.end()
})

test('a connection destroyed mid-exchange reconnects and converges, nothing lost', async (t) => {
  const { nodes, nets, ports, close } = await cluster(2, { mtu: 50, interval: 20 })
  const [a, b] = nodes
  for (let i = 0; i < 5000; i++) a.set('key-' + i, { i, pad: 'x'.repeat(40) })
  const dialer = connect(nets[1], { host: '127.0.0.1', port: ports[0].port })
  // Cut the socket from inside B's update event once 300 keys are in, so the
  // cut always lands mid-exchange, however fast the link is.
  let conn: Connection | undefined
  let cutAt = 0
  b.history.on('update', () => {
    if (conn !== undefined || b.size < 300) return
    conn = dialer.connection as Connection
    cutAt = b.size
    conn.socket.destroy()
  })
  await waitFor(() => conn !== undefined, 20_000, 'first updates')
  await waitFor(() => dialer.connected && dialer.connection !== conn, 10_000, 'reconnect')
  const second = dialer.connection as Connection
  t.pass(`the dialer reconnected (cut once ${cutAt} keys had arrived)`)
  await waitFor(() => b.size === 5000, 30_000, 'all keys')
  t.ok(sameState([a, b]), 'B holds all 5000, as A does')
  const first = conn!.stream!.stats.updatesReceived
  const rest = second.stream!.stats.updatesReceived
  t.ok(first < 5000, `the cut connection delivered ${first} updates, not all 5000: the cut was mid-exchange`)
  t.ok(rest > 0 && first + rest >= 5000, `the new connection delivered the rest (${rest})`)
  await close()
  t.end()
})

test('a reader that stops reading applies backpressure, then receives everything in order', async (t) => {
  const { nodes, nets, ports, close } = await cluster(2, { mtu: 200, interval: 20 })
  const [a, b] = nodes
  connect(nets[1], { host: '127.0.0.1', port: ports[0].port })
  await waitFor(() => nets[0].peers.length === 1 && nets[1].peers.length === 1, 10_000, 'connected')
  const bConn = nets[1].peers[0] as Connection
  // B stops reading its socket.
  bConn.socket.unpipe(bConn.stream!)
  bConn.socket.pause()
  const seen: number[] = []
  b.history.on('update', (u) => u.source_id === 'n0' && seen.push(u.version))
  const value = 'v'.repeat(1000)
  let falses = 0
  for (let i = 0; i < 8000; i++) if (!a.set('k' + i, value + i)) falses++
  t.ok(falses > 0, `set reported a full peer ${falses} times (about 8 MB written)`)
  const aConn = nets[0].peers[0] as Connection
  // What A holds for B above the kernel's socket buffer, once A has handed
  // the kernel all it will take and nothing moves any more.
  const held = () => aConn.stream!.waiting + aConn.socket.writableLength
  await waitFor(() => held() < 1_000_000, 20_000, 'A to hold less than 1 MB').catch(() => {})
  const bytes = await settled(held)
  t.ok(bytes < 1_000_000, `A holds ${bytes} bytes for the stalled peer above the kernel's socket buffer (not 8 MB)`)
  t.equal(seen.length, 0, 'nothing applied at B while it does not read')
  bConn.socket.pipe(bConn.stream!)
  bConn.socket.resume()
  await waitFor(() => b.size === 8000, 60_000, 'all 8000 at B')
  t.ok(sameState([a, b]), 'B holds everything A holds')
  t.deepEqual(seen, seen.slice().sort((x, y) => x - y), 'A\'s updates applied at B in ascending version')
  await close()
  t.end()
})

test('hello: another cluster, ourselves, garbage and silence are refused before any state flows', async (t) => {
  const a = node('A')
  a.set('secret', 1)
  const netA = new Network(a, { cluster: 'blue', helloTimeout: 300 })
  const { port } = await listen(netA, { port: 0 })
  const refusals: string[] = []
  netA.on('refused', (_addr, reason) => refusals.push(reason))

  const b = node('B')
  const netB = new Network(b, { cluster: 'green', backoff: { initial: 10_000 } })
  const d1 = connect(netB, { host: '127.0.0.1', port })
  await waitFor(() => refusals.some((r) => r.includes('cluster mismatch')), 5000, 'cluster refusal')
  t.pass('a node of another cluster is refused')
  t.equal(b.get('secret').version, -Infinity, 'and received nothing')

  const sameId = "the peer has this node's id: this node itself, or another node using the same id"
  const self = connect(netA, { host: '127.0.0.1', port })
  await waitFor(() => self.lastError === sameId, 5000, 'self refusal')
  t.pass('a node that dials itself gives up, saying the peer has its id')
  t.equal(refusals.filter((r) => r === sameId).length, 2, 'both ends of that link refused it once each, with that reason')

  // Another process started with the same id: the hello cannot tell it from this node, and the reason covers both.
  const twin = node('A')
  const netTwin = new Network(twin, { cluster: 'blue' })
  const twinRefusals: string[] = []
  netTwin.on('refused', (_addr, reason) => twinRefusals.push(reason))
  const fromTwin = connect(netTwin, { host: '127.0.0.1', port })
  await waitFor(() => fromTwin.lastError === sameId, 5000, 'same-id refusal')
  await waitFor(() => refusals.filter((r) => r === sameId).length === 3, 5000, 'the listener to refuse the twin')
  t.deepEqual(twinRefusals, [sameId], 'a node with the same id is refused on both sides with the same reason')
  t.equal(a.get('secret').value, 1, 'and no state flowed')
  t.equal(twin.get('secret').version, -Infinity, 'either way')

  const raw = net.connect(port, '127.0.0.1')
  raw.write('{"key":"secret","value":2,"source_id":"x","version":99}\n')
  await waitFor(() => refusals.some((r) => r.includes('expected a hello')), 5000, 'garbage refusal')
  t.equal(a.get('secret').value, 1, 'an update instead of a hello changed nothing')

  const silent = net.connect(port, '127.0.0.1')
  await waitFor(() => refusals.includes('no hello in time'), 5000, 'hello timeout')
  t.pass('a silent peer is dropped after the hello timeout')
  raw.destroy()
  silent.destroy()
  d1.stop()
  await netA.close()
  await netB.close()
  await netTwin.close()
  t.end()
})

test('a dialer to a closed port retries with growing delays', async (t) => {
  const probe = net.createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const port = (probe.address() as net.AddressInfo).port
  await new Promise<void>((r) => probe.close(() => r()))
  const n = new Network(node('A'), { backoff: { initial: 5, max: 80 } })
  const lines: string[] = []
  n.on('log', (l) => lines.push(l))
  const d = connect(n, { host: '127.0.0.1', port })
  await waitFor(() => d.attempts >= 5, 10_000, 'retries')
  const delays = lines.filter((l) => l.includes('retrying')).map((l) => Number(/in (\d+) ms/.exec(l)![1]))
  t.ok(delays.length >= 5 && delays[4] > delays[0], `delays grow: ${delays.slice(0, 5).join(', ')} ms`)
  t.ok(lines[0].includes('connection refused'), 'the reason is logged')
  await n.close()
  t.end()
})

test('a node serves dozens of peers at once', async (t) => {
  const hub = node('hub', { mtu: 100 })
  for (let i = 0; i < 300; i++) hub.set('h' + i, i)
  const hubNet = new Network(hub, { interval: 50 })
  const { port } = await listen(hubNet, { port: 0 })
  const leaves: Gossip[] = []
  const nets: Network[] = []
  for (let i = 0; i < 40; i++) {
    const g = node('leaf' + i, { mtu: 100 })
    g.set('leaf' + i, i)
    const n = new Network(g, { interval: 50 })
    connect(n, { host: '127.0.0.1', port })
    leaves.push(g)
    nets.push(n)
  }
  await waitFor(() => leaves.every((g) => g.size === 340) && hub.size === 340, 30_000, 'all 340 keys everywhere')
  t.equal(hubNet.peers.length, 40, 'hub connected to 40 peers')
  t.ok(sameState([hub, ...leaves]), 'all 41 nodes agree')
  await Promise.all([hubNet.close(), ...nets.map((n) => n.close())])
  t.end()
})

test('a local write reaches a directly connected peer at once, not at the next round', async (t) => {
  const a = node('A')
  const b = node('B')
  // One write each before connecting, so that the first exchange has clocks to bring level.
  a.set('x', -1)
  b.set('y', -1)
  // No rounds, and no keep-alive exchange (a third of idleTimeout) however slow the machine.
  const netA = new Network(a, { interval: 3_600_000, idleTimeout: 3_600_000 })
  const netB = new Network(b, { interval: 3_600_000, idleTimeout: 3_600_000 })
  const { port } = await listen(netA, { port: 0 })
  connect(netB, { host: '127.0.0.1', port })
  await waitFor(() => netA.peers.length === 1 && netB.peers.length === 1, 10_000, 'connected')
  await waitFor(() => b.get('x').value === -1 && a.get('y').value === -1, 10_000, 'first exchange')
  await waitFor(() => b.clock.get('A') === a.clock.get('A') && a.clock.get('B') === b.clock.get('B'), 10_000, 'clocks level')
  t.equal(b.clock.get('A'), 1, 'the connect-time exchange brought B\'s clock for A to A\'s write')
  t.equal(a.clock.get('B'), 1, 'and A\'s clock for B to B\'s')
  const ca = netA.peers[0] as Connection
  const cb = netB.peers[0] as Connection
  await linkQuiet(ca, cb)
  const sa = ca.stream!
  const sb = cb.stream!
  const digests = [sa.stats.digestsSent, sb.stats.digestsSent]
  const pushes = [sa.stats.pushesSent, sb.stats.pushesSent]
  for (let i = 0; i < 20; i++) {
    a.set('x', i)
    b.set('y', i)
    await waitFor(() => b.get('x').value === i && a.get('y').value === i, 10_000, `write ${i}`)
  }
  t.equal(netA.scheduler.rounds + netB.scheduler.rounds, 0, 'no gossip round ran (interval one hour)')
  t.deepEqual([sa.stats.digestsSent, sb.stats.digestsSent], digests, 'no digest was sent while the writes went: no exchange carried them')
  t.deepEqual([sa.stats.pushesSent - pushes[0], sb.stats.pushesSent - pushes[1]], [20, 20], 'each write went out as a push, at once')
  t.equal(b.clock.get('A'), a.clock.get('A'), 'and the receiver\'s clock kept in step (rule 3)')
  t.equal(a.clock.get('B'), b.clock.get('B'), 'both ways')
  await netA.close()
  await netB.close()
  t.end()
})

test('after close() nothing keeps the process alive', async (t) => {
  const { execFile } = await import('node:child_process')
  const script = `
    import { Gossip, base } from './lib/index.ts'
    import { Network, listen, connect } from './lib/net.ts'
    const mk = (id) => new Gossip(id, { ...base.config, resolve: base.resolution.lww_vs_current_vers })
    const a = new Network(mk('A'), { interval: 20 }), b = new Network(mk('B'), { interval: 20 })
    const { port } = await listen(a, { port: 0 })
    const d = connect(b, { host: '127.0.0.1', port })
    connect(b, { host: '127.0.0.1', port: 1 }) // unreachable: retrying
    while (!d.connected) await new Promise((r) => setTimeout(r, 5))
    await a.close(); await b.close()
    console.log('closed')
  `
  const started = Date.now()
  const r = await new Promise<{ code: number | null; out: string }>((done) => {
    const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 120_000 }, (err, stdout) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout }),
    )
    child.stdin?.end()
  })
  t.equal(r.out.trim(), 'closed', 'closed both networks')
  t.equal(r.code, 0, `the process exited by itself (${Date.now() - started} ms)`)
  t.end()
})

test('peers holding every inbound slot cannot keep the node from its own outbound links', async (t) => {
  const v = node('v')
  const b = node('b')
  const vnet = new Network(v, { interval: 50, maxConnections: 2 })
  const bnet = new Network(b, { interval: 50 })
  const lv = await listen(vnet, { port: 0, host: '127.0.0.1' })
  const lb = await listen(bnet, { port: 0, host: '127.0.0.1' })
  const holders: net.Socket[] = []
  let stop = () => {}
  try {
    for (const id of ['h1', 'h2']) {
      const s = net.connect(lv.port, '127.0.0.1')
      s.on('error', () => {})
      s.write(JSON.stringify({ hello: 1, id, cluster: 'simple-scuttle', time: 0 }) + '\n') // the nodes' clock (config.now) reads 0
      holders.push(s)
    }
    // They stay alive as peers do: a digest every 200 ms keeps them past the idle and silence timeouts.
    const keep = setInterval(() => {
      for (const s of holders) s.write('{"digest":true,"done":true}\n')
    }, 200)
    holders.forEach((s) => s.resume())
    stop = () => clearInterval(keep)
    await waitFor(() => vnet.peers.length === 2, 5000, 'two holders connected')
    const third = net.connect(lv.port, '127.0.0.1')
    third.on('error', () => {})
    await waitFor(() => vnet.stats.overLimit >= 1, 5000, 'a third inbound refused')
    third.destroy()
    t.pass('a third inbound connection is refused (maxConnections 2)')
    connect(vnet, { host: '127.0.0.1', port: lb.port })
    await waitFor(() => vnet.peers.some((p) => p.id === 'b'), 5000, 'v linked to b')
    t.pass('v\'s own link to b opens while the holders keep both inbound slots')
    b.set('from-b', 1)
    await waitFor(() => v.get('from-b').value === 1, 5000, 'b\'s write at v')
    t.pass('and b\'s writes reach v over it')
    t.deepEqual(vnet.peers.map((p) => p.id).sort(), ['b', 'h1', 'h2'], 'the holders are still connected')
  } finally {
    stop()
    for (const s of holders) s.destroy()
    await Promise.all([vnet.close(), bnet.close()])
  }
})

test('a node destroyed while its network still listens refuses new peers in the hello, and nothing throws', async (t) => {
  const { nodes, nets, ports, close } = await cluster(2)
  const refused: string[] = []
  nets[0].on('refused', (_addr: string, reason: string) => refused.push(reason))
  nodes[0].destroy()
  connect(nets[1], { host: '127.0.0.1', port: ports[0].port })
  await waitFor(() => refused.length > 0, 10_000, 'the refusal')
  t.equal(refused[0], 'the node is destroyed', 'refused, with the reason')
  t.equal(nets[0].peers.length, 0, 'no peer connection on the destroyed node')
  await close()
  t.end()
})

test('a hello that arrives in pieces, its newline in a piece with the next line, is read whole and what follows is kept', async (t) => {
  const g = node('v', { now: () => Date.now() })
  const vnet = new Network(g, { interval: 50 })
  try {
    const { port } = await listen(vnet, { port: 0, host: '127.0.0.1' })
    const { HostileClient } = await import('../support/hostile-client.ts')
    const h = await HostileClient.open({ port, hello: false })
    const hello = JSON.stringify({ hello: 1, id: 'pieces', cluster: 'simple-scuttle', time: Date.now() })
    const bytes = Buffer.from(hello + '\n' + JSON.stringify({ key: 'k', value: 'after the hello', source_id: 'pieces', version: Date.now() * 1000 }) + '\n')
    const cut = [0, 7, 19, hello.length - 3, hello.length + 5, bytes.length]
    for (let i = 0; i + 1 < cut.length; i++) {
      await h.sendBytes(bytes.subarray(cut[i], cut[i + 1]))
      await new Promise((r) => setTimeout(r, 20))
    }
    await waitFor(() => g.get('k').value === 'after the hello', 10_000, 'the update sent after the hello')
    t.ok(vnet.peers.some((p) => p.id === 'pieces'), 'the peer is linked under the id of its hello')
    t.equal(g.get('k').value, 'after the hello', 'and the line that shared a piece with the hello\'s end was taken')
    h.close()
  } finally {
    await vnet.close()
  }
  t.end()
})

test('one host holds at most maxConnectionsPerHost inbound links, whatever room maxConnections leaves', async (t) => {
  const v = node('v', { now: () => Date.now() })
  const vnet = new Network(v, { interval: 50, maxConnections: 10, maxConnectionsPerHost: 2 })
  const { HostileClient } = await import('../support/hostile-client.ts')
  const logs: string[] = []
  vnet.on('log', (l) => logs.push(l))
  try {
    const { port } = await listen(vnet, { port: 0, host: '127.0.0.1' })
    const hs: Awaited<ReturnType<typeof HostileClient.open>>[] = []
    for (let i = 0; i < 4; i++) hs.push(await HostileClient.open({ port, id: 'h' + i }))
    await waitFor(() => hs.filter((h) => h.closedReason !== null).length >= 2, 10_000, 'two refused')
    t.equal(vnet.inboundCount, 2, 'two links from 127.0.0.1 held')
    t.equal(hs.filter((h) => h.closedReason === null).length, 2, 'the other two were closed')
    t.equal(logs.filter((l) => /maxConnectionsPerHost/.test(l)).length, 1, 'logged once, not once each')
    for (const h of hs) h.close()
  } finally {
    await vnet.close()
  }
  t.end()
})
