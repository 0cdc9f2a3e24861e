/**
 * A peer's id is only its claim: an inbound link claiming the id of a peer
 * this node dials (a hostile node, or one started with that id) never
 * keeps this node from the node at the address it dials. Without
 * membership: the dialler redials after a drop though such a link is up.
 * With membership: the duplicate-link rule does not close this node's own
 * dial in favour of the claim. Honest nodes that dial each other still
 * end with one link, the dialler whose link the peer closes waiting the
 * longest backoff.
 */
import test from 'tape'
import { Network, connect, listen, type Connection } from '../../lib/net.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, waitFor } from '../support/streams.ts'
import { memberNet } from '../membership/support/nets.ts'

const backoff = { initial: 10, max: 50 }

/** A hostile peer linked to `port` under `id`, which keeps its link (it starts an exchange, as an honest peer does). */
async function impostor(port: number, id: string, members: boolean): Promise<HostileClient> {
  const h = await HostileClient.open({ port, id, ...(members ? { extraHello: { members: 1 } } : {}) })
  await h.send(['{"digest":true,"done":true}'])
  return h
}

test('without membership: an inbound link claiming the id of the peer dialled does not stop the dialler redialling it', async (t) => {
  const a = new Network(node('a', { now: () => Date.now() }), { interval: 50, backoff })
  const s = new Network(node('s', { now: () => Date.now() }), { interval: 50, backoff })
  try {
    const la = await listen(a, { port: 0 })
    const ls = await listen(s, { port: 0 })
    const dialer = connect(s, { host: '127.0.0.1', port: la.port })
    await waitFor(() => dialer.connected, 10_000, 'the dialler linked to a')
    const h = await impostor(ls.port, 'a', false)
    await waitFor(() => s.peers.filter((p) => p.id === 'a').length === 2, 10_000, 'the impostor linked as "a"')
    ;(a.peers.find((p) => p.id === 's') as Connection).close('dropped by the test')
    await waitFor(() => !dialer.connected, 5000, 'the drop')
    await waitFor(() => dialer.connected && a.peers.some((p) => p.id === 's'), 5000, 'the dialler linked to the real a again')
    t.pass('the dialler reached the real a again while the impostor stayed linked')
    t.ok(h.closedReason === null, 'the impostor\'s link was not the dialler\'s business')
    a.gossip.set('from-real-a', 1)
    await waitFor(() => s.gossip.get('from-real-a').value === 1, 5000, 'a write of the real a at s')
    t.pass('and the real a\'s writes reach s')
    h.close()
  } finally {
    await Promise.all([a.close(), s.close()])
  }
  t.end()
})

test('with membership: an inbound link claiming a smaller id does not make this node drop its own dial to that id', async (t) => {
  // "a" < "s": by the duplicate-link rule alone, s would keep the link "a" dialled, the impostor's.
  const s = await memberNet('s')
  const a = await memberNet('a')
  try {
    const h = await impostor(s.port, 'a', true)
    await waitFor(() => s.net.peers.some((p) => p.id === 'a'), 10_000, 'the impostor linked as "a"')
    connect(s.net, { host: '127.0.0.1', port: a.port })
    await waitFor(() => a.net.peers.some((p) => p.id === 's'), 5000, 'a link between s and the real a')
    t.pass('s reached the real a while the impostor stayed linked')
    a.gossip.set('from-real-a', 1)
    s.gossip.set('from-s', 1)
    await waitFor(() => s.gossip.get('from-real-a').value === 1 && a.gossip.get('from-s').value === 1, 5000, 'writes both ways')
    t.pass('writes go both ways between s and the real a')
    h.close()
  } finally {
    await Promise.all([a.net.close(), s.net.close()])
  }
  t.end()
})

test('with membership: honest nodes that dial each other keep one link; the dialler whose link the peer closes waits the longest backoff', async (t) => {
  // b (the larger id) dials a with a dialler; a dials b through membership: both keep the link a dialled.
  const b = await memberNet('b')
  const a = await memberNet('a', { seeds: [b.addr] })
  try {
    const dialer = connect(b.net, { host: '127.0.0.1', port: a.port })
    await waitFor(() => dialer.lastError === 'duplicate connection', 10_000, 'b\'s dialled link closed by a, a duplicate')
    t.ok(dialer.attempts > 16, `b's dialler waits the longest backoff (${dialer.attempts} attempts counted)`)
    await waitFor(() => a.net.peers.length === 1 && b.net.peers.length === 1, 10_000, 'one link each')
    t.equal(a.net.peers[0]?.direction, 'out', 'a keeps the link it dialled')
    t.equal(b.net.peers[0]?.direction, 'in', 'and so does b')
  } finally {
    await Promise.all([a.net.close(), b.net.close()])
  }
  t.end()
})
