/**
 * A dialler that a listener refuses for reasons the dialler cannot see in
 * the listener's hello (its link was cut for invalid objects in the last
 * minute, or the listener's node is destroyed) is told why, in place of the
 * listener's hello: it reports a 'refused' event with the reason and waits
 * the longest backoff before dialling again, instead of redialling at the
 * first backoff step with a log line each time.
 */
import test from 'tape'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'
import { Network, listen, connect } from '../../lib/net.ts'
import { generateSigningKeys, signer, verifier } from '../../lib/security.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { waitFor } from '../support/streams.ts'

const cfg = (extra: Partial<GossipConfig> = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, ...extra })

test('an unsigned node cut off by a signed one for its invalid objects is told why at its next dial, and waits the longest backoff', async (t) => {
  const k = generateSigningKeys(), kb = generateSigningKeys()
  const a = new Gossip('a', cfg({ sign: signer(k.privateKey), verify: verifier({ a: k.publicKey, b: kb.publicKey }) }))
  const b = new Gossip('b', cfg()) // forgot to sign
  for (let i = 0; i < 20; i++) b.set('b' + i, i)
  const na = new Network(a, { interval: 50, invalidBudget: 3 })
  const nb = new Network(b, { interval: 50, backoff: { initial: 20, max: 2000 }, random: () => 0.5 })
  const refused: string[] = []
  const logs: string[] = []
  let links = 0
  nb.on('refused', (_addr, reason) => refused.push(reason))
  nb.on('log', (line) => logs.push(line))
  nb.on('connect', () => links++)
  try {
    const { port } = await listen(na, { port: 0, host: '127.0.0.1' })
    const d = connect(nb, { host: '127.0.0.1', port })
    await waitFor(() => refused.length > 0, 10_000, "a 'refused' event at the dialler")
    t.match(refused[0], /^the peer refused this node: too many invalid objects from this node in the last minute/, `the dialler is told why: ${refused[0]}`)
    t.equal(links, 1, 'the refused dial never linked (only the first link, the one cut, did)')
    await waitFor(() => logs.some((l) => /refused this node.*retrying in/.test(l)), 5000, 'the retry line')
    const retry = logs.find((l) => /refused this node.*retrying in/.test(l))!
    const wait = Number(/retrying in (\d+) ms/.exec(retry)![1])
    t.ok(wait >= 1000, `and waits the longest backoff (half of backoff.max at least) before dialling again: ${retry}`)
    t.ok(d.attempts >= 16, `its backoff is at its longest (attempts ${d.attempts})`)
  } finally {
    await Promise.all([na.close(), nb.close()])
  }
  t.end()
})

test('a listener refusing a cut-off peer sends the reason in place of its hello; other peers of that host get its hello as ever', async (t) => {
  const r = new Gossip('r', cfg())
  const rnet = new Network(r, { interval: 50, invalidBudget: 3 })
  try {
    const { port } = await listen(rnet, { port: 0, host: '127.0.0.1' })
    const h = await HostileClient.open({ port, id: 'evil' })
    await h.send(Array.from({ length: 5 }, () => '{"key":1}'))
    await h.closed
    const again = await HostileClient.open({ port, id: 'evil' })
    await again.closed
    t.deepEqual(again.received.map((l) => JSON.parse(l)), [{ refused: 'too many invalid objects from this node in the last minute' }], 'the refused peer gets one line: the reason, worded for it')
    const other = await HostileClient.open({ port, id: 'other' })
    await waitFor(() => other.received.length > 0, 5000, "the listener's hello")
    t.match(other.received[0], /"hello":1/, 'another peer of that host gets the hello, once its own was read')
    other.close()
  } finally {
    await rnet.close()
  }
  t.end()
})

test("a destroyed node's listener tells a dialler so, and the dialler waits the longest backoff", async (t) => {
  const a = new Gossip('a', cfg())
  const b = new Gossip('b', cfg())
  const na = new Network(a, { interval: 50 })
  const nb = new Network(b, { interval: 50, backoff: { initial: 20, max: 2000 }, random: () => 0.5 })
  const refused: string[] = []
  nb.on('refused', (_addr, reason) => refused.push(reason))
  try {
    const { port } = await listen(na, { port: 0, host: '127.0.0.1' })
    a.destroy()
    const d = connect(nb, { host: '127.0.0.1', port })
    await waitFor(() => refused.length > 0, 10_000, "a 'refused' event at the dialler")
    t.equal(refused[0], 'the peer refused this node: the peer is destroyed', 'the dialler is told why')
    await waitFor(() => d.attempts > 0, 5000, 'the next dial scheduled')
    t.ok(d.attempts >= 16, `its backoff is at its longest (attempts ${d.attempts})`)
  } finally {
    await Promise.all([na.close(), nb.close()])
  }
  t.end()
})
