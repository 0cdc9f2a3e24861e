/**
 * The seed's usage, with the design card's serializer, the `ndjson` npm
 * package: `gossip.pipe(ndjson.stringify()).pipe(socket).pipe(ndjson.parse()).pipe(gossip)`
 * on each side of a loopback TCP socket, two Gossip instances, converging
 * both ways (the seed's object shapes on the wire, nothing else needed).
 */
import test from 'tape'
import * as net from 'node:net'
import ndjson from 'ndjson'
import { node, sameState, waitFor } from '../support/streams.ts'

test('the ndjson package as the serializer over loopback TCP: two nodes converge', async (t) => {
  const a = node('a', { mtu: 200 })
  const b = node('b', { mtu: 200 })
  for (let i = 0; i < 500; i++) a.set(`a-${i}`, { i, text: 'é' + i })
  for (let i = 0; i < 300; i++) b.set(`b-${i}`, [i])
  b.del('b-7')
  const server = net.createServer((socket) => {
    b.pipe(ndjson.stringify()).pipe(socket).pipe(ndjson.parse()).pipe(b)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await new Promise((r) => socket.once('connect', r))
  a.pipe(ndjson.stringify()).pipe(socket).pipe(ndjson.parse()).pipe(a)
  try {
    a.gossip()
    await waitFor(() => a.size === 800 && b.size === 800, 20_000, 'the first exchange')
    t.ok(sameState([a, b]), 'both hold the same 800 records')
    t.equal(a.get('b-7').value, null, 'the delete arrived')
    // Live writes after the exchange travel as pushes, no gossip() call needed.
    a.set('later', 'from a')
    b.set('later-b', 'from b')
    await waitFor(() => b.get('later').value === 'from a' && a.get('later-b').value === 'from b', 20_000, 'pushes both ways')
    t.pass('later writes pushed both ways')
    t.equal(a.stats.invalid + b.stats.invalid, 0, 'nothing refused')
  } finally {
    socket.destroy()
    await new Promise((r) => server.close(r))
  }
  t.end()
})
