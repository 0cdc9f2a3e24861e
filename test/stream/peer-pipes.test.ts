/**
 * The node used as the stream to one peer at a time: the seed's wiring,
 * repeated on each connection. A peer that ends or vanishes takes its
 * session with it, never the node, its other streams or its next peer.
 */
import test from 'tape'
import { createServer, connect as dial, type AddressInfo, type Socket } from 'node:net'
import { PassThrough, Writable } from 'node:stream'
import ndjson from 'ndjson'
import type { Gossip } from '../../lib/index.ts'
import { connect, node, quiet, sameState, until, waitFor } from '../support/streams.ts'

/** The seed README's line, both ways, over two in-process byte pipes; returns the pipes. */
function link(a: Gossip, b: Gossip): PassThrough[] {
  const ab = new PassThrough()
  const ba = new PassThrough()
  a.pipe(ndjson.stringify()).pipe(ab).pipe(ndjson.parse()).pipe(b)
  b.pipe(ndjson.stringify()).pipe(ba).pipe(ndjson.parse()).pipe(a)
  return [ab, ba]
}

async function rounds(nodes: Gossip[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (const g of nodes) g.gossip()
    await quiet(3)
  }
}

for (const how of ['end', 'destroy'] as const) {
  test(`the seed's reconnect after the byte pipes ${how === 'end' ? 'end cleanly' : 'are destroyed'}: both nodes stay open and the new link carries everything`, async (t) => {
    const a = node('A')
    const b = node('B')
    const first = link(a, b)
    a.set('x', 1)
    await rounds([a, b], 3)
    t.equal(b.get('x').value, 1, 'the first link carried x')
    for (const p of first) how === 'end' ? p.end() : p.destroy()
    await quiet(10)
    t.notOk(a.writableEnded || b.writableEnded, 'neither node was ended by its peer going away')
    t.notOk(a.destroyed || b.destroyed, 'neither node was destroyed')
    // Enough writes to fill a dead serializer many times over: a node still
    // piped to one would stop at its highWaterMark.
    for (let i = 0; i < 200; i++) a.set('a' + i, i)
    b.set('z', 3)
    link(a, b)
    await rounds([a, b], 10)
    await until(() => b.keys().length === 202 && a.get('z').value === 3, 10_000, 'both ways over the second link')
    t.ok(sameState([a, b]), 'same state over the second link')
    t.end()
  })
}

test("the seed's wiring over loopback TCP: a client that closes its socket and dials again replicates both ways", async (t) => {
  const a = node('A')
  const b = node('B')
  const server = createServer((socket) => {
    socket.on('error', () => {})
    b.pipe(ndjson.stringify()).pipe(socket).pipe(ndjson.parse()).pipe(b)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const open = async (): Promise<Socket> => {
    const socket = dial(port, '127.0.0.1')
    socket.on('error', () => {})
    await new Promise((r) => socket.once('connect', r))
    a.pipe(ndjson.stringify()).pipe(socket).pipe(ndjson.parse()).pipe(a)
    return socket
  }
  const s1 = await open()
  a.set('x', 1)
  a.gossip()
  await waitFor(() => b.get('x').value === 1, 10_000, 'x over the first socket')
  s1.end()
  await waitFor(() => s1.destroyed, 10_000, 'the first socket closed')
  const s2 = await open()
  for (let i = 0; i < 100; i++) a.set('a' + i, i)
  b.set('z', 3)
  a.gossip()
  b.gossip()
  await waitFor(() => b.keys().length === 102 && a.get('z').value === 3, 10_000, 'both ways over the second socket')
  t.ok(sameState([a, b]), 'same state after the reconnect')
  s2.destroy()
  await new Promise((r) => server.close(r))
  t.end()
})

test("a peer ending the node's own stream leaves the node's other streams running", async (t) => {
  const a = node('A')
  const b = node('B')
  const c = node('C')
  connect(a, b)
  const s = b.createStream()
  connect(s, c)
  b.set('k1', 1)
  await rounds([a, b, c], 2)
  s.gossip()
  await quiet()
  t.equal(c.get('k1').value, 1, 'C got k1 from B')
  t.equal(b.stats.streams, 2, 'B has two streams')
  a.end()
  await quiet(10)
  t.notOk(b.destroyed, 'B is not destroyed')
  t.notOk(s.destroyed, "B's stream to C is open")
  t.equal(b.stats.streams, 1, "B's own stream closed with its peer")
  b.set('k2', 2)
  c.set('c1', 'from c')
  for (let i = 0; i < 3; i++) {
    s.gossip()
    c.gossip()
    await quiet()
  }
  t.equal(c.get('k2').value, 2, 'B still replicates to C')
  t.equal(b.get('c1').value, 'from c', 'and C to B')
  t.end()
})

test('destroying the node still closes every stream it has', async (t) => {
  const b = node('B')
  const c = node('C')
  const s = b.createStream()
  connect(s, c)
  b.destroy()
  await quiet()
  t.ok(s.destroyed, 'the extra stream is destroyed with the node')
  t.equal(b.stats.streams, 0, 'no stream left')
  t.end()
})

for (const how of ['destroy', 'end'] as const) {
  test(`'drain' comes when the full stream that made set() return false is ${how === 'end' ? 'ended' : 'destroyed'}`, async (t) => {
    const g = node('G', { mtu: 4 })
    const p = node('P', { mtu: 4 })
    const s = g.createStream()
    s.pipe(p).pipe(s)
    s.gossip()
    await quiet()
    s.unpipe(p)
    let n = 0
    while (g.set('k' + n, n) && n < 1000) n++
    t.ok(n < 1000, `set returned false after ${n + 1} writes`)
    let drained = 0
    g.on('drain', () => drained++)
    await quiet()
    t.equal(drained, 0, 'no drain while the stream is full')
    how === 'end' ? s.end() : s.destroy()
    await quiet(10)
    t.equal(drained, 1, 'drain once the full stream is gone')
    t.end()
  })
}

test('what the node buffered for a peer that went away never reaches the next one', async (t) => {
  const a = node('A', { mtu: 10 })
  for (let i = 0; i < 100; i++) a.set('k' + i, i)
  const v50 = a.records().map((r) => r.version).sort((x, y) => x - y)[49]
  // The first peer holds A up to its 50th write, asks, and never reads the answer.
  const stuck = new Writable({ objectMode: true, highWaterMark: 1, write() {} })
  const fromB1 = new PassThrough({ objectMode: true })
  a.pipe(stuck)
  fromB1.pipe(a)
  fromB1.write({ digest: true, source_id: 'A', version: v50 })
  fromB1.write({ digest: true, done: true })
  await quiet(10)
  t.ok(a.readableLength > 0, `an answer for the first peer waits in the node (${a.readableLength} objects)`)
  fromB1.end()
  await quiet(10)
  t.equal(a.readableLength, 0, 'it is dropped when that peer goes away')
  // The next peer holds nothing of A, and asks as it connects.
  const b2 = node('B2', { mtu: 10 })
  const out: unknown[] = []
  a.on('data', (d: { key?: string }) => out.length < 10 && out.push(d.key ?? 'marker'))
  b2.gossip()
  connect(a, b2)
  await quiet(3)
  t.deepEqual(out, ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9'], "the next peer's answer starts from what it holds: nothing of the first peer's")
  await rounds([a, b2], 5)
  t.equal(b2.keys().length, 100, 'and it gets all of A')
  t.end()
})

test("the README's pipeline wiring: a connection that fails takes only its own stream, and the next one works", async (t) => {
  const { pipeline } = await import('node:stream')
  const a = node('A')
  const b = node('B')
  const server = createServer((socket) => {
    pipeline(socket, ndjson.parse(), b.createStream(), ndjson.stringify(), socket, () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const open = async () => {
    const socket = dial(port, '127.0.0.1')
    await new Promise((r) => socket.once('connect', r))
    const s = a.createStream()
    let failed: unknown = null
    pipeline(socket, ndjson.parse(), s, ndjson.stringify(), socket, (err) => (failed = err ?? 'ended'))
    return { socket, s, failed: () => failed }
  }
  const c1 = await open()
  a.set('x', 1)
  c1.s.gossip()
  await waitFor(() => b.get('x').value === 1, 10_000, 'x over the first connection')
  c1.socket.destroy(new Error('connection reset'))
  await waitFor(() => c1.failed() !== null && b.stats.streams === 0, 10_000, 'both ends saw the first connection go')
  t.ok(c1.s.destroyed, "the failed connection's stream was destroyed by pipeline")
  t.notOk(a.destroyed || b.destroyed, 'neither node was')
  const c2 = await open()
  b.set('z', 3)
  a.set('y', 2)
  c2.s.gossip()
  await waitFor(() => a.get('z').value === 3 && b.get('y').value === 2, 10_000, 'both ways over the second connection')
  t.ok(sameState([a, b]), 'same state after the reconnect')
  c2.socket.destroy()
  await new Promise((r) => server.close(r))
  t.end()
})

test("a connection's deserializer destroyed without ending closes that peer's session and unpipes the node", async (t) => {
  const a = node('A', { mtu: 8 })
  const b = node('B', { mtu: 8 })
  const c = node('C', { mtu: 8 })
  const toB = ndjson.stringify()
  const fromB = ndjson.parse()
  a.pipe(toB).pipe(new PassThrough()).pipe(ndjson.parse()).pipe(b)
  b.pipe(ndjson.stringify()).pipe(new PassThrough()).pipe(fromB).pipe(a)
  const s = a.createStream()
  connect(s, c)
  a.set('x', 0)
  await rounds([a, b, c], 3)
  t.equal(b.get('x').value, 0, 'B got x')
  t.equal(a.stats.streams, 2, "A's own stream and its stream to C")
  fromB.destroy() // the connection failed: its parser is destroyed, no 'end'
  await quiet(10)
  t.equal(a.stats.streams, 1, "A's own session closed with it")
  t.equal((a as unknown as { _readableState: { pipes: unknown[] } })._readableState.pipes.length, 0, 'A is unpiped from the dead serializer')
  let drained = 0
  a.on('drain', () => drained++)
  let full = false
  for (let i = 0; i < 300; i++) if (!a.set('k' + i, i)) full = true
  for (let i = 0; i < 20 && c.size < a.size; i++) {
    s.gossip()
    c.gossip()
    await quiet(5)
  }
  t.equal(c.size, a.size, 'C, the live peer, gets everything')
  t.ok(!full || drained > 0, `no write waits on the dead connection (set returned false: ${full}, drains: ${drained})`)
  t.end()
})
