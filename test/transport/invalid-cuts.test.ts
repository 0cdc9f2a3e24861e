/** InvalidCuts: a peer closed for invalid objects is refused for the rest of the minute, by its id and, past HOST_CUTS ids, by its host; a refused dialler is told which. */
import test from 'tape'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'
import { Network, listen } from '../../lib/net.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { CUT_MS, HOST_CUTS, InvalidCuts } from '../../lib/transport/invalid-cuts.ts'

const cfg = (extra: Partial<GossipConfig> = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, ...extra })

test('a peer whose link was closed for invalid objects is refused for the rest of the minute, by host and id', (t) => {
  const c = new InvalidCuts()
  c.note('10.0.0.1', 'p', 1000)
  t.ok(c.recent('10.0.0.1', 'p', 1000 + CUT_MS - 1), 'the same peer within the minute')
  t.notOk(c.recent('10.0.0.1', 'q', 2000), 'another id from the same host is not (one close)')
  t.notOk(c.recent('10.0.0.2', 'p', 2000), 'the same id from another host is not')
  t.notOk(c.recent('10.0.0.1', 'p', 1000 + CUT_MS), 'a minute later, the peer may come back')
  t.end()
})

test('a host that gives a new id at each connection gets no new budget past HOST_CUTS closes a minute', (t) => {
  const c = new InvalidCuts()
  for (let i = 0; i < HOST_CUTS - 1; i++) c.note('10.0.0.1', `forger-${i}`, 1000 + i)
  t.notOk(c.recent('10.0.0.1', 'fresh', 2000), `${HOST_CUTS - 1} ids closed: a new id still gets in`)
  c.note('10.0.0.1', 'fresh', 2000)
  t.ok(c.recent('10.0.0.1', 'yet-another', 2001), `${HOST_CUTS} ids closed within a minute: every hello from the host is refused`)
  t.notOk(c.recent('10.0.0.9', 'honest', 2001), 'other hosts are not')
  t.ok(c.recent('10.0.0.1', 'yet-another', 1000 + CUT_MS - 1), 'until the oldest of those closes is a minute old')
  t.notOk(c.recent('10.0.0.1', 'yet-another', 1000 + CUT_MS), 'then a new id gets in again')
  t.end()
})

test('the same id closed again does not count twice toward its host', (t) => {
  const c = new InvalidCuts()
  for (let i = 0; i < 3 * HOST_CUTS; i++) c.note('10.0.0.1', 'p', 1000 + i)
  t.notOk(c.recent('10.0.0.1', 'q', 5000), 'one peer closed many times: the host is not refused for it')
  t.ok(c.recent('10.0.0.1', 'p', 5000), 'that peer is')
  t.end()
})

test('recent() says which refusal applies: the peer itself, or its host', (t) => {
  const c = new InvalidCuts()
  for (let i = 0; i < HOST_CUTS; i++) c.note('10.0.0.1', 'id' + i, 1000 + i)
  t.equal(c.recent('10.0.0.1', 'id0', 2000), 'peer', 'an id whose own link was cut: the peer')
  t.equal(c.recent('10.0.0.1', 'fresh', 2000), 'host', 'a new id, refused only for the other ids of its host: the host')
  t.equal(c.recent('10.0.0.9', 'fresh', 2000), null, 'another host: none')
  t.end()
})

test('a node refused only because other ids from its host were cut is told so, not that it sent invalid objects', async (t) => {
  const r = new Gossip('r', cfg())
  const rnet = new Network(r, { interval: 50, invalidBudget: 1 })
  const refused: string[] = []
  rnet.on('refused', (_addr, reason) => refused.push(reason))
  try {
    const { port } = await listen(rnet, { port: 0, host: '127.0.0.1' })
    for (let i = 0; i < HOST_CUTS; i++) {
      const h = await HostileClient.open({ port, id: 'evil' + i })
      await h.send(['{"key":1}', '{"key":2}', '{"key":3}'])
      await h.closed
    }
    const again = await HostileClient.open({ port, id: 'evil0' })
    await again.closed
    t.deepEqual(again.received.map((l) => JSON.parse(l)), [{ refused: 'too many invalid objects from this node in the last minute' }], 'an id cut itself is told it sent them')
    const honest = await HostileClient.open({ port, id: 'honest' })
    await honest.closed
    t.deepEqual(honest.received.map((l) => JSON.parse(l)), [{ refused: 'too many invalid objects from this host in the last minute' }], 'a new id of that host is told its host did')
    t.equal(refused[refused.length - 1], "too many invalid objects from this peer's host in the last minute", "the listener's 'refused' event says so too")
  } finally {
    await rnet.close()
  }
  t.end()
})
