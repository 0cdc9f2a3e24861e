/**
 * The invalid budget of a link counts what shows the peer at fault
 * (malformed objects, forged signatures), not well-formed records this node
 * turns down for reasons of its own: an honest peer relays those, and
 * cutting it off would split the cluster.
 */
import test from 'tape'
import { Network, connect, listen } from '../../lib/net.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, waitFor } from '../support/streams.ts'

/** A node whose links close after 3 invalid objects a minute, the reasons it reports, and a hostile client connected to it. */
async function budgeted(extra: Parameters<typeof node>[1] = {}) {
  const r = node('r', { now: () => Date.now(), ...extra })
  const rnet = new Network(r, { interval: 50, invalidBudget: 3 })
  const reasons: string[] = []
  rnet.on('invalid', (_peer, reason) => reasons.push(reason))
  const { port } = await listen(rnet, { port: 0, host: '127.0.0.1' })
  return { rnet, reasons, h: await HostileClient.open({ port, id: 'evil' }) }
}

test('records this node\'s accept refuses are reported, not held against the honest link that brought them', async (t) => {
  const w = node('w', { now: () => Date.now() })
  const r = node('r', { now: () => Date.now(), accept: (rec) => !rec.key.startsWith('no-') })
  const wnet = new Network(w, { interval: 50, backoff: { initial: 10, max: 100 } })
  const rnet = new Network(r, { interval: 50, invalidBudget: 3 })
  const reasons: string[] = []
  const closed: string[] = []
  rnet.on('invalid', (_peer, reason) => reasons.push(reason))
  rnet.on('disconnect', (_peer, reason) => closed.push(reason))
  try {
    const { port } = await listen(rnet, { port: 0, host: '127.0.0.1' })
    connect(wnet, { host: '127.0.0.1', port })
    await waitFor(() => rnet.peers.length === 1, 10_000, 'the link')
    for (let i = 0; i < 20; i++) w.set('no-' + i, i)
    w.set('yes', 1)
    await waitFor(() => r.get('yes').value === 1 && reasons.length >= 20, 10_000, 'the writes offered')
    t.ok(reasons.length >= 20 && reasons.every((x) => x === 'not accepted'), `${reasons.length} refusals reported, each 'not accepted'`)
    t.deepEqual(closed, [], 'the link was never closed, though the budget is 3 a minute')
    t.equal(rnet.stats.invalid, 0, 'no budget closure counted')
  } finally {
    await Promise.all([wnet.close(), rnet.close()])
  }
  t.end()
})

test('malformed objects still use up the budget and close the link', async (t) => {
  const r = node('r', { now: () => Date.now() })
  const rnet = new Network(r, { interval: 50, invalidBudget: 3 })
  try {
    const { port } = await listen(rnet, { port: 0, host: '127.0.0.1' })
    const h = await HostileClient.open({ port, id: 'evil' })
    await h.send(Array.from({ length: 5 }, () => '{"key":1}'))
    await waitFor(() => h.closedReason !== null, 10_000, 'the link closed')
    t.equal(rnet.stats.invalid, 1, 'closed by the invalid budget')
    h.close()
  } finally {
    await rnet.close()
  }
  t.end()
})

test('a forged record is refused as forged, and counted, whatever its version: a future one does not slip past the budget', async (t) => {
  const { generateSigningKeys, verifier } = await import('../../lib/security.ts')
  const keys = generateSigningKeys()
  const { rnet, reasons, h } = await budgeted({ verify: verifier({ w: keys.publicKey }) })
  try {
    const future = (Date.now() + 3_600_000) * 1000
    await h.send(Array.from({ length: 10 }, (_, i) => JSON.stringify({ key: 'k' + i, value: i, source_id: 'w', version: future + i })))
    await waitFor(() => h.closedReason !== null, 10_000, 'the link closed')
    t.equal(reasons[0], 'unsigned update', 'refused as unsigned, not as a version ahead of the clock')
    t.equal(rnet.stats.invalid, 1, 'closed by the invalid budget')
    h.close()
  } finally {
    await rnet.close()
  }
  t.end()
})

test('what a chunk still holds after the budget closed the link is neither reported nor counted', async (t) => {
  const { rnet, reasons, h } = await budgeted()
  try {
    await waitFor(() => rnet.peers.length === 1, 10_000, 'the hello taken')
    await h.send(['1\n'.repeat(5000)]) // one write: 5,000 bad lines
    await waitFor(() => h.closedReason !== null, 10_000, 'the link closed')
    t.equal(rnet.stats.invalid, 1, 'one closure counted')
    t.ok(reasons.length <= 4, `${reasons.length} refusals reported (the budget of 3 and the one over it), not 5,000`)
    h.close()
  } finally {
    await rnet.close()
  }
  t.end()
})
