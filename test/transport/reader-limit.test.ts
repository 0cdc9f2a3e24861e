/**
 * Peers reading with different `maxLineLength`s: each hello says how long a
 * line or frame its sender reads, and the other end packs its wire 2
 * frames to fit (an older hello without it: frames fit the sender's own
 * limit, as before). A single message longer than the reader's limit is
 * refused alone and passed over; it holds nothing back.
 */
import test from 'tape'
import { Network, connect, listen, type Connection } from '../../lib/net.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, waitFor } from '../support/streams.ts'

for (const wire of [1, 2] as const) {
  test(`wire ${wire}: a reader with maxLineLength 16 KiB gets all 2,000 records from a writer reading with 1 MiB, none refused`, async (t) => {
    const a = node('a', { mtu: 1000 })
    const b = node('b', { mtu: 1000 })
    const na = new Network(a, { interval: 50, wire })
    const nb = new Network(b, { interval: 50, wire, maxLineLength: 16 * 1024 })
    const refused: string[] = []
    b.on('invalid', (reason: string) => refused.push(reason))
    try {
      const { port } = await listen(nb, { port: 0, host: '127.0.0.1' })
      connect(na, { host: '127.0.0.1', port })
      await waitFor(() => na.peers.length === 1 && nb.peers.length === 1, 10_000, 'connected')
      t.equal((na.peers[0] as Connection).stream!.wire, wire, `on wire ${wire}`)
      for (let i = 0; i < 2000; i++) a.set('k' + i, { i, pad: 'p'.repeat(40) })
      await waitFor(() => b.size === 2000 || refused.length > 0, 20_000, 'every record, or a refusal').catch(() => {})
      t.equal(b.size, 2000, 'every record arrived')
      t.deepEqual(refused.slice(0, 3), [], 'nothing refused')
    } finally {
      await Promise.all([na.close(), nb.close()])
    }
    t.end()
  })
}

test('a node says in its hello how long a line or frame it reads', async (t) => {
  const nb = new Network(node('b'), { interval: 50, wire: 2, maxLineLength: 16 * 1024 })
  const nd = new Network(node('d'), { interval: 50 })
  try {
    for (const [net, want] of [[nb, 16 * 1024], [nd, 1024 * 1024]] as const) {
      const { port } = await listen(net, { port: 0, host: '127.0.0.1' })
      const c = await HostileClient.open({ port, id: 'probe', time: 0 })
      await waitFor(() => c.received.length >= 1, 10_000, 'the hello')
      t.equal(JSON.parse(c.received[0]).maxLineLength, want, `maxLineLength ${want} in the hello`)
      c.close()
    }
  } finally {
    await Promise.all([nb.close(), nd.close()])
  }
  t.end()
})

test('a hello whose maxLineLength is no positive integer is refused with the reason', async (t) => {
  const nb = new Network(node('b'), { interval: 50, wire: 2 })
  const reasons: string[] = []
  nb.on('refused', (_address: string, reason: string) => reasons.push(reason))
  try {
    const { port } = await listen(nb, { port: 0, host: '127.0.0.1' })
    for (const bad of [0, -5, 1.5, '100']) {
      const c = await HostileClient.open({ port, id: 'probe', time: 0, extraHello: { maxLineLength: bad } })
      await waitFor(() => reasons.length > 0, 10_000, 'a refusal')
      t.match(reasons.shift()!, /hello maxLineLength must be a positive integer/, `maxLineLength ${JSON.stringify(bad)}: refused`)
      c.close()
    }
  } finally {
    await nb.close()
  }
  t.end()
})
