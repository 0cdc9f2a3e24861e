/** New sessions served per host: a bucket per host, and a network that reconnects in a loop. */
import test from 'tape'
import { HostBudget } from '../../lib/transport/host-budget.ts'
import { Network, listen } from '../../lib/net.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, quiet, waitFor } from '../support/streams.ts'

test('a host is served a burst of new sessions, then one per period; hosts have buckets of their own', (t) => {
  let now = 0
  const b = new HostBudget(3, 1000, () => now)
  t.deepEqual([1, 2, 3, 4].map(() => b.take('h')), [true, true, true, false], 'a burst of 3, then none')
  t.ok(b.take('other'), 'another host has its own')
  now += 999
  t.notOk(b.take('h'), 'none before a period has passed')
  now += 1
  t.ok(b.take('h'), 'one a period')
  t.notOk(b.take('h'), 'and only one')
  now += 10_000
  t.deepEqual([1, 2, 3, 4].map(() => b.take('h')), [true, true, true, false], 'refilled up to the burst, not beyond')
  const few = new HostBudget(1, 1000, () => now, 2)
  few.take('a')
  few.take('b')
  few.take('c') // past 2 hosts: the oldest bucket (a) is dropped
  t.ok(few.take('a'), 'a dropped host starts full again (the buckets stay bounded)')
  t.end()
})

test('a host that opens connections in a loop gets full answers at the node\'s pace, not its own', async (t) => {
  const timers = new FakeTimers()
  const v = node('v', { now: () => Date.now() })
  for (let i = 0; i < 100; i++) v.set('k' + i, i)
  // 8 links at once from one host; the budget is 16 new sessions at once (its least), then one a round.
  const net = new Network(v, { interval: 1000, timers, maxConnectionsPerHost: 8 })
  const { port } = await listen(net, { port: 0 })
  let replies = 0
  const wave = async (n: number): Promise<HostileClient[]> => {
    const clients: HostileClient[] = []
    for (let i = 0; i < 8; i++) {
      const h = await HostileClient.open({ port, id: `evil${n}-${i}` })
      let text = ''
      h.socket.on('data', (d: Buffer) => {
        const lines = (text + d.toString('utf8')).split('\n')
        text = lines.pop() ?? ''
        for (const l of lines) if (l.includes('"done":true') && l.includes('"reply":true') && !l.includes('"final":true')) replies++
      })
      clients.push(h)
      await h.send(['{"digest":true,"done":true}'])
    }
    await waitFor(() => net.peers.length === 8, 10_000, `wave ${n}: 8 links`)
    return clients
  }
  const close = async (clients: HostileClient[]) => {
    for (const h of clients) h.close()
    await waitFor(() => net.peers.length === 0, 10_000, 'the links closed')
  }
  const first = await wave(1)
  await waitFor(() => replies >= 8, 10_000, 'the first wave answered')
  await close(first)
  const second = await wave(2)
  await waitFor(() => replies >= 16, 10_000, 'the second wave answered')
  await close(second)
  const third = await wave(3)
  await quiet(50)
  t.equal(replies, 16, 'three waves of 8 new links from one host: the first 16 answered at once (the burst), the third wave waits')
  timers.advance(1000)
  await waitFor(() => replies >= 17, 10_000, 'the next answer')
  await quiet(50)
  t.equal(replies, 17, 'then one more a round interval')
  await close(third)
  await net.close()
  t.end()
})
