/**
 * Inbound slots cannot be held for almost nothing, over loopback TCP with
 * the node's clock driven by the test (FakeTimers): a peer that sends one
 * byte at a time of a line it never ends is closed within the idle window,
 * while a long line that keeps arriving on a slow link is not; a node at
 * `maxConnections` reclaims the slot of the oldest connection without a
 * whole message; membership lines count as a peer's first bytes; and a
 * dialler refused at the limit says that it may be the limit.
 */
import test from 'tape'
import { connect as connectRaw } from 'node:net'
import { Network, connect, join, listen, listenWebSocket } from '../../lib/net.ts'
import { MIN_PROGRESS_RATE, minProgress, type Connection } from '../../lib/transport/connection.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, waitFor } from '../support/streams.ts'

const HELLO = 5_000
const IDLE = 60_000
/** How often the network sweeps: a quarter of the smaller of the idle and stall timeouts. */
const SWEEP = Math.min(IDLE, 30_000) / 4

/** A node whose timers the test drives; no rounds (the interval is an hour). */
async function victim(extra: ConstructorParameters<typeof Network>[1] = {}) {
  const timers = new FakeTimers()
  const v = node('v')
  const net = new Network(v, { timers, interval: 3_600_000, helloTimeout: HELLO, idleTimeout: IDLE, ...extra })
  const closed: { id: string; reason: string; at: number }[] = []
  net.on('disconnect', (p, reason) => closed.push({ id: p.id, reason, at: timers.now() }))
  const { port } = await listen(net, { port: 0 })
  return { timers, net, port, closed, peer: (id: string) => net.peers.find((p) => p.id === id) as Connection | undefined }
}

/** A peer that says hello as `id` (the test nodes' clock reads 0). */
const peer = (port: number, id: string, extraHello?: Record<string, unknown>) => HostileClient.open({ port, id, time: 0, extraHello })

test('a peer that sends a byte at a time of a line it never ends is closed within the idle window; a long line arriving slowly is not', async (t) => {
  const v = await victim()
  const trickle = await peer(v.port, 'trickle')
  const slow = await peer(v.port, 'slow')
  try {
    await waitFor(() => v.net.peers.length === 2, 10_000, 'both connected')
    // 8 KiB every 5 s: 1.6 KiB/s, above MIN_PROGRESS_RATE; one byte every 5 s is far below it.
    const piece = 8 * 1024
    t.ok(piece / 5 > MIN_PROGRESS_RATE && 1 / 5 < MIN_PROGRESS_RATE, 'the slow line keeps the minimum rate, the trickle does not')
    let sentSlow = 0
    await slow.sendBytes(Buffer.from('{"pad":"'))
    sentSlow += 8
    for (let step = 0; step < 30; step++) {
      const tIn = v.peer('trickle')?.bytesIn ?? 0
      const sIn = v.peer('slow')!.bytesIn
      if (v.peer('trickle') !== undefined) await trickle.sendBytes(Buffer.from(step === 0 ? '{' : '"'))
      await slow.sendBytes(Buffer.alloc(piece, 'x'))
      sentSlow += piece
      // Both arrived before the clock moves: every window sees what was sent in it.
      await waitFor(() => (v.peer('trickle') === undefined || v.peer('trickle')!.bytesIn > tIn) && v.peer('slow')!.bytesIn >= sIn + piece, 10_000, 'the bytes at the node')
      v.timers.advance(5_000)
    }
    t.ok(sentSlow > minProgress(IDLE) * 2, `the slow line spans more than two windows (${sentSlow} bytes in 150 s)`)
    const gone = v.closed.find((c) => c.id === 'trickle')
    t.ok(gone !== undefined, 'the trickling peer was closed')
    t.match(gone?.reason ?? '', /^idle: no whole message for \d+ s \(\d+ bytes of an unfinished one\)$/, `as idle: ${gone?.reason}`)
    t.ok(gone !== undefined && gone.at <= IDLE + SWEEP, `within the idle window and one sweep of the hello (at ${gone?.at} ms)`)
    t.ok(v.peer('slow') !== undefined, 'the peer whose long line keeps coming is still connected after 150 s')
    t.equal(v.net.stats.idle, 1, 'one connection closed as idle')
    // The line ends: a whole message; the peer keeps its slot.
    const left = v.net.peers.length
    await slow.sendBytes(Buffer.from('"}\n'))
    await waitFor(() => v.peer('slow')!.messagesIn === 1, 10_000, 'the end of the line')
    v.timers.advance(IDLE - SWEEP)
    t.equal(v.net.peers.length, left, `and once it ends, the slow peer stays (${JSON.stringify(v.closed)})`)
  } finally {
    trickle.close()
    slow.close()
    await v.net.close()
  }
  t.end()
})

test('at maxConnections, a newcomer takes the slot of the oldest connection without a whole message after twice helloTimeout', async (t) => {
  const v = await victim({ maxConnections: 2 })
  const clients: HostileClient[] = []
  const open = async (id: string, first: string) => {
    const c = await peer(v.port, id)
    clients.push(c)
    await c.sendBytes(Buffer.from(first))
    return c
  }
  try {
    const t1 = await open('t1', '{')
    await waitFor(() => v.peer('t1')?.bytesIn !== undefined && v.peer('t1')!.bytesIn > 0, 10_000, 't1 connected')
    v.timers.advance(1_000)
    const t2 = await open('t2', '{')
    await waitFor(() => v.net.peers.length === 2, 10_000, 't2 connected')
    const early = await open('early', '{"digest":true,"done":true}\n')
    await waitFor(() => v.net.stats.overLimit === 1, 10_000, 'the early newcomer refused')
    await early.closed
    t.pass('before twice helloTimeout, nothing is evicted: a newcomer is refused')

    v.timers.advance(2 * HELLO)
    t.deepEqual(v.closed, [], 'the two slow connections are past their hello timers (they sent a byte)')
    await open('n1', '{"digest":true,"done":true}\n')
    await waitFor(() => v.peer('n1') !== undefined && v.peer('n1')!.bytesIn > 0 && v.closed.length === 1, 10_000, 'n1 in, one evicted')
    t.equal(v.closed[0]?.id, 't1', 'the oldest was evicted')
    t.match(v.closed[0]?.reason ?? '', /^evicted: /, v.closed[0]?.reason)
    await t1.closed
    await waitFor(() => v.peer('n1')!.messagesIn > 0, 10_000, 'n1 sent a whole message')
    await open('n2', '{"digest":true,"done":true}\n')
    await waitFor(() => v.closed.length === 2 && v.peer('n2') !== undefined, 10_000, 'n2 in')
    t.equal(v.closed[1]?.id, 't2', 'then the other one')
    await t2.closed
    await waitFor(() => v.peer('n2')!.messagesIn > 0, 10_000, 'n2 sent a whole message')
    v.timers.advance(2 * HELLO)
    const late = await open('n3', '{"digest":true,"done":true}\n')
    await late.closed
    t.equal(v.net.stats.overLimit, 2, 'peers that sent a whole message are never evicted: the next newcomer is refused')
    t.deepEqual(v.net.peers.map((p) => p.id).sort(), ['n1', 'n2'], 'the newcomers hold the slots')
    t.equal(v.net.stats.evicted, 2, 'two evictions counted')
  } finally {
    for (const c of clients) c.close()
    await v.net.close()
  }
  t.end()
})

test('at maxConnections, a WebSocket upgrade that is no handshake evicts no one (it is refused before a slot is found for it)', async (t) => {
  const v = await victim({ maxConnections: 1 })
  const ws = await listenWebSocket(v.net, { port: 0, host: '127.0.0.1' })
  const slow = await peer(v.port, 'slow')
  try {
    await slow.sendBytes(Buffer.from('{'))
    await waitFor(() => (v.peer('slow')?.bytesIn ?? 0) > 0, 10_000, 'slow connected')
    v.timers.advance(3 * HELLO) // past twice helloTimeout without a whole message: evictable
    const bogus = connectRaw({ port: ws.port, host: '127.0.0.1' })
    let answer = ''
    bogus.on('data', (d) => (answer += d))
    bogus.on('error', () => {})
    bogus.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: simple-scuttle\r\n\r\n')
    await waitFor(() => answer.includes('\r\n'), 10_000, 'an answer')
    t.match(answer.split('\r\n')[0], /^HTTP\/1\.1 400/, 'refused as no handshake (no Sec-WebSocket-Key)')
    t.equal(v.net.stats.evicted, 0, 'no connection was evicted for it')
    t.ok(v.peer('slow') !== undefined, 'the slow peer keeps its slot')
    bogus.destroy()
  } finally {
    slow.close()
    await ws.close()
    await v.net.close()
  }
  t.end()
})

test('a peer that sends only membership lines after its hello is not silent', async (t) => {
  const v = await victim()
  join(v.net, { advertise: `127.0.0.1:${v.port}` })
  const m = await peer(v.port, 'member', { members: 1 })
  try {
    await waitFor(() => v.peer('member') !== undefined, 10_000, 'connected')
    const before = v.peer('member')!.bytesIn
    await m.send(['{"mb":"nonsense"}'])
    await waitFor(() => v.peer('member')!.bytesIn > before, 10_000, 'the membership line at the node')
    v.timers.advance(HELLO)
    t.ok(v.peer('member') !== undefined, `still connected past helloTimeout (${v.closed.map((c) => c.reason).join(', ')})`)
  } finally {
    m.close()
    await v.net.close()
  }
  t.end()
})

test('a dialler refused at maxConnections says the peer may be at its connection limit', async (t) => {
  const v = await victim({ maxConnections: 1 })
  const holder = await peer(v.port, 'holder')
  const d = new Network(node('d'), { interval: 3_600_000, backoff: { initial: 10, max: 50 } })
  const logs: string[] = []
  d.on('log', (l) => logs.push(l))
  try {
    await holder.send(['{"digest":true,"done":true}'])
    await waitFor(() => v.peer('holder') !== undefined && v.peer('holder')!.bytesIn > 50, 10_000, 'the holder in')
    connect(d, { host: '127.0.0.1', port: v.port })
    await waitFor(() => logs.length >= 1, 10_000, 'a retry line')
    t.match(logs[0], /before sending anything \(the peer may be at its connection limit, maxConnections, or a TLS listener\); retrying in \d+ ms$/, logs[0])
  } finally {
    holder.close()
    await Promise.all([d.close(), v.net.close()])
  }
  t.end()
})
