/**
 * Wire v1 and v2 on one cluster: the hellos choose the format per
 * connection (frames only where both ends offer wire 2), in both
 * directions, over plain TCP and TLS-PSK; and a node whose hello has no
 * `wire` field at all (an older node) gets ndjson lines.
 */
import test from 'tape'
import { FrameReader } from '../../lib/codec/frame-reader.ts'
import { Network, connect, listen, type Connection } from '../../lib/net.ts'
import type { Gossip } from '../../lib/index.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, sameState, waitFor } from '../support/streams.ts'

const SECRET = 'correct horse battery staple'

function peer(id: string, wire: 1 | 2): { g: Gossip; net: Network } {
  const g = node(id, { mtu: 100 })
  for (let i = 0; i < 300; i++) g.set(`${id}-${i}`, { i, text: `${id} é ${i}` })
  return { g, net: new Network(g, { wire, interval: 50, backoff: { initial: 10, max: 100 } }) }
}

for (const mode of ['tcp', 'tls-psk'] as const) {
  for (const [dialler, listener] of [[2, 2], [2, 1], [1, 2], [1, 1]] as const) {
    test(`${mode}: a wire ${dialler} node dials a wire ${listener} node: they agree on wire ${Math.min(dialler, listener)} and converge`, async (t) => {
      const d = peer('d', dialler)
      const l = peer('l', listener)
      const tls = mode === 'tls-psk' ? { secret: SECRET } : undefined
      try {
        const { port } = await listen(l.net, { port: 0, host: '127.0.0.1', tls })
        connect(d.net, { host: '127.0.0.1', port, tls })
        await waitFor(() => d.g.size === 600 && l.g.size === 600, 20_000, 'the first exchange')
        const want = Math.min(dialler, listener)
        const [dc, lc] = [d.net.peers[0] as Connection, l.net.peers[0] as Connection]
        t.equal(dc.stream!.wire, want, `the dialler speaks wire ${want}`)
        t.equal(lc.stream!.wire, want, `the listener speaks wire ${want}`)
        for (let i = 0; i < 200; i++) {
          d.g.set(`later-d-${i}`, [i, 'é'])
          l.g.set(`later-l-${i}`, { n: i })
        }
        d.g.del('d-0')
        await waitFor(() => sameState([d.g, l.g]) && l.g.get('d-0').value === null, 20_000, 'later writes both ways')
        t.ok(sameState([d.g, l.g]), 'both hold the same records')
        t.equal(d.g.stats.invalid + l.g.stats.invalid, 0, 'nothing refused')
        await waitFor(() => dc.bytesOut === lc.bytesIn && lc.bytesOut === dc.bytesIn, 10_000, 'byte counts to agree')
        t.pass(`bytes counted alike at both ends (${dc.bytesOut} and ${lc.bytesOut})`)
      } finally {
        await Promise.all([d.net.close(), l.net.close()])
      }
      t.end()
    })
  }
}

test('a peer whose hello has no wire field (an older node) is sent ndjson lines; one offering 2 is sent frames', async (t) => {
  const v = node('v')
  v.set('x', 1)
  const vnet = new Network(v, { interval: 50, wire: 2 })
  try {
    const { port } = await listen(vnet, { port: 0, host: '127.0.0.1' })
    const plain = new Network(node('plain'), { interval: 50 })
    const { port: plainPort } = await listen(plain, { port: 0, host: '127.0.0.1' })
    const toPlain = await HostileClient.open({ port: plainPort, id: 'p', time: 0, wire: 2 })
    await waitFor(() => toPlain.received.length >= 2, 10_000, 'lines from a default node')
    t.equal(JSON.parse(toPlain.received[0]).wire, undefined, 'a node with the default options offers no wire 2 (its hello has no wire field)')
    t.ok(toPlain.received.slice(1).every((l) => typeof JSON.parse(l) === 'object'), 'and speaks JSON lines to a peer that offers 2')
    toPlain.close()
    await plain.close()
    const old = await HostileClient.open({ port, id: 'old', time: 0 })
    await waitFor(() => old.received.length >= 2, 10_000, 'lines from v')
    const hello = JSON.parse(old.received[0])
    t.equal(hello.wire, 2, 'v offers wire 2 in its hello')
    t.ok(old.received.slice(1).every((l) => typeof JSON.parse(l) === 'object'), 'and then sends the old peer JSON lines')
    old.close()

    const modern = await HostileClient.open({ port, id: 'modern', wire: 2, read: false, time: 0 })
    const bytes: Buffer[] = []
    modern.socket.on('data', (d: Buffer) => bytes.push(d))
    modern.socket.resume()
    await waitFor(() => Buffer.concat(bytes).indexOf(10) !== -1 && Buffer.concat(bytes).length > Buffer.concat(bytes).indexOf(10) + 8, 10_000, 'a frame from v')
    const all = Buffer.concat(bytes)
    const objects: object[] = []
    const refused: string[] = []
    const r = new FrameReader(1 << 20, (o) => objects.push(o), (why) => refused.push(why))
    r.feed(all.subarray(all.indexOf(10) + 1))
    t.deepEqual(refused, [], 'what follows the hello reads as frames')
    t.ok(objects.some((o) => (o as { digest?: boolean }).digest === true), `v's digest is in them (${objects.length} messages)`)
    modern.close()
  } finally {
    await vnet.close()
  }
  t.end()
})

test('wire 2: a reader that stops reading holds the writer back by bytes (frames counted as for lines), then receives everything', async (t) => {
  const a = node('a', { mtu: 200 })
  const b = node('b', { mtu: 200 })
  const na = new Network(a, { wire: 2, interval: 20 })
  const nb = new Network(b, { wire: 2, interval: 20 })
  try {
    const { port } = await listen(na, { port: 0, host: '127.0.0.1' })
    connect(nb, { host: '127.0.0.1', port })
    await waitFor(() => na.peers.length === 1 && nb.peers.length === 1, 10_000, 'connected')
    const bConn = nb.peers[0] as Connection
    t.equal(bConn.stream!.wire, 2, 'on frames')
    bConn.socket.unpipe(bConn.stream!)
    bConn.socket.pause()
    const value = 'v'.repeat(1000)
    let falses = 0
    for (let i = 0; i < 8000; i++) if (!a.set('k' + i, value + i)) falses++
    t.ok(falses > 0, `set reported a full peer ${falses} times (about 8 MB written)`)
    const aConn = na.peers[0] as Connection
    const held = () => aConn.stream!.waiting + aConn.socket.writableLength
    await waitFor(() => held() < 1_000_000, 20_000, 'A to hold less than 1 MB').catch(() => {})
    t.ok(held() < 1_000_000, `A holds ${held()} bytes for the stalled peer above the kernel's socket buffer (not 8 MB)`)
    t.equal(aConn.stream!.stats.bytesOut - aConn.stream!.waiting >= 0, true, 'what the reader took is never negative')
    bConn.socket.pipe(bConn.stream!)
    bConn.socket.resume()
    await waitFor(() => b.size === 8000, 60_000, 'all 8000 at B')
    t.ok(sameState([a, b]), 'B holds everything A holds')
  } finally {
    await Promise.all([na.close(), nb.close()])
  }
  t.end()
})
