/**
 * Two honest nodes may disagree on whether a record is valid: their
 * `limits` differ, or one's verifier holds a member's new key while the
 * other still holds records signed with the old one. Such records are
 * refused and passed over, not held against the link: the link stays up,
 * and the records behind them still arrive. Malformed objects still count,
 * and a dialler whose link was closed for them does not redial at once.
 */
import test from 'tape'
import * as net from 'node:net'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'
import { Network, listen, connect } from '../../lib/net.ts'
import { generateSigningKeys, signer, verifier } from '../../lib/security.ts'
import { waitFor } from '../support/streams.ts'

const cfg = (extra: Partial<GossipConfig> = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, ...extra })

test('a peer with larger limits: its records over ours are passed over, not held against the link, and the rest arrive', async (t) => {
  const a = new Gossip('a', cfg({ limits: { ...base.config.limits, maxKeyLength: 10_000, maxValueDepth: 90 } }))
  const b = new Gossip('b', cfg())
  for (let i = 0; i < 20; i++) a.set('k'.repeat(5000) + i, i)
  let deep: unknown = 1
  for (let i = 0; i < 80; i++) deep = [deep]
  for (let i = 0; i < 20; i++) a.set('deep' + i, deep as never)
  for (let i = 0; i < 10; i++) a.set('normal' + i, i)
  const anet = new Network(a, { interval: 50 })
  const bnet = new Network(b, { interval: 50, invalidBudget: 3, backoff: { initial: 10, max: 100 } })
  const closed: string[] = []
  bnet.on('disconnect', (_p, reason) => closed.push(reason))
  try {
    const { port } = await listen(anet, { port: 0, host: '127.0.0.1' })
    connect(bnet, { host: '127.0.0.1', port })
    await waitFor(() => b.keys().filter((k) => k.startsWith('normal')).length === 10, 10_000, 'the ordinary keys at b')
    t.pass('b holds the 10 ordinary keys')
    a.set('later', 1)
    await waitFor(() => b.get('later').value === 1, 10_000, 'a later write at b')
    t.deepEqual(closed, [], 'the link was never closed, though the budget is 3 a minute')
    t.equal(bnet.stats.invalid, 0, 'no budget closure counted')
    // The clock moves when a response ends, which may be just after 'later' is applied.
    await waitFor(() => b.clock.get('a') === a.clock.get('a'), 5000, "b's clock for a at a's")
    t.pass("b's clock for a passed over the records it refuses: they are not fetched again")
    const before = b.stats.invalid
    await new Promise((r) => setTimeout(r, 300))
    t.equal(b.stats.invalid, before, 'no refusals while the link idles: nothing is sent again')
  } finally {
    await Promise.all([anet.close(), bnet.close()])
  }
  t.end()
})

test('key rotation: records signed with a key this node no longer holds are passed over, not held against the relaying peer', async (t) => {
  const oldA = generateSigningKeys(), newA = generateSigningKeys(), kB = generateSigningKeys(), kF = generateSigningKeys()
  const sig = (priv: string, keys: Record<string, string>) => cfg({ sign: signer(priv), verify: verifier(keys) })
  const a = new Gossip('a', sig(oldA.privateKey, { a: oldA.publicKey, b: kB.publicKey }))
  const b = new Gossip('b', sig(kB.privateKey, { a: oldA.publicKey, b: kB.publicKey, f: kF.publicKey }))
  for (let i = 0; i < 20; i++) a.set('a' + i, i)
  const sa = a.createStream(), sb = b.createStream()
  sa.pipe(sb).pipe(sa)
  sa.gossip()
  await waitFor(() => b.keys().length === 20, 5000, "a's records at b")
  sa.unpipe(sb)
  sb.unpipe(sa)
  t.equal(b.keys().length, 20, 'b holds a\'s 20 records, signed with a\'s old key')
  b.set('b-own', 1)
  const f = new Gossip('f', sig(kF.privateKey, { a: newA.publicKey, b: kB.publicKey, f: kF.publicKey }))
  const bnet = new Network(b, { interval: 50 })
  const fnet = new Network(f, { interval: 50, invalidBudget: 3, backoff: { initial: 10, max: 100 } })
  const closed: string[] = []
  fnet.on('disconnect', (_p, reason) => closed.push(reason))
  try {
    const { port } = await listen(bnet, { port: 0, host: '127.0.0.1' })
    connect(fnet, { host: '127.0.0.1', port })
    await waitFor(() => f.get('b-own').value === 1, 10_000, "b's own record at f")
    b.set('b-later', 2)
    await waitFor(() => f.get('b-later').value === 2, 10_000, "a later write of b's at f")
    t.pass("f takes b's records")
    t.equal(f.keys().filter((k) => k.startsWith('a')).length, 0, 'and none of the records signed with the old key')
    t.deepEqual(closed, [], 'the link was never closed, though the budget is 3 a minute')
    t.equal(fnet.stats.invalid, 0, 'no budget closure counted')
    t.ok(f.stats.invalidByReason['bad signature'] >= 20, 'the old records were refused as bad signatures')
  } finally {
    await Promise.all([bnet.close(), fnet.close()])
  }
  t.end()
})

test('a dialler whose link was closed for too many invalid objects backs off further with each such close', async (t) => {
  let conns = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    conns++
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
    s.write(JSON.stringify({ hello: 1, id: 'junk', cluster: 'simple-scuttle', time: Date.now() }) + '\n')
    // Once the dialler has spoken (its hello taken), lines it must refuse.
    s.once('data', () => setTimeout(() => s.write('{"key":1}\n'.repeat(10)), 10))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const n = new Network(new Gossip('d', cfg()), { invalidBudget: 3, backoff: { initial: 5, max: 60_000 } })
  const lines: string[] = []
  n.on('log', (l) => lines.push(l))
  try {
    const d = connect(n, { host: '127.0.0.1', port })
    await waitFor(() => conns >= 4 && /too many invalid/.test(d.lastError), 10_000, 'four links closed')
    const delays = lines.filter((l) => /too many invalid.*retrying/.test(l)).map((l) => Number(/in (\d+) ms/.exec(l)![1]))
    t.ok(delays.length >= 3 && d.attempts >= 3, `the wait grows with each close for invalid objects (attempts ${d.attempts}; delays ${delays.join(', ')} ms)`)
  } finally {
    await n.close()
    for (const s of sockets) s.destroy()
    await new Promise<void>((r) => server.close(() => r()))
  }
  t.end()
})

test('a peer whose link was closed for too many invalid objects is refused at its next hello for the rest of the minute', async (t) => {
  const { HostileClient } = await import('../support/hostile-client.ts')
  const r = new Gossip('r', cfg())
  const rnet = new Network(r, { interval: 50, invalidBudget: 3 })
  const refused: string[] = []
  rnet.on('refused', (_a, reason) => refused.push(reason))
  try {
    const { port } = await listen(rnet, { port: 0, host: '127.0.0.1' })
    const h = await HostileClient.open({ port, id: 'evil' })
    await h.send(Array.from({ length: 5 }, () => '{"key":1}'))
    await h.closed
    t.equal(rnet.stats.invalid, 1, 'the first link closed by the invalid budget')
    const again = await HostileClient.open({ port, id: 'evil' })
    await again.closed
    t.ok(refused.some((x) => /too many invalid objects from this peer in the last minute/.test(x)), 'its next hello is refused')
    const other = await HostileClient.open({ port, id: 'other' })
    await waitFor(() => rnet.peers.some((p) => p.id === 'other'), 5000, 'another peer linked')
    t.pass('another peer from the same host links as ever')
    other.close()
  } finally {
    await rnet.close()
  }
  t.end()
})

test('bad signatures count a tenth of an invalid object: a forger sending them without end is still cut off', async (t) => {
  const { HostileClient } = await import('../support/hostile-client.ts')
  const kA = generateSigningKeys(), kV = generateSigningKeys(), mallory = generateSigningKeys()
  const v = new Gossip('v', cfg({ sign: signer(kV.privateKey), verify: verifier({ a: kA.publicKey, v: kV.publicKey }) }))
  const vnet = new Network(v, { interval: 50, invalidBudget: 3 })
  const closed: string[] = []
  vnet.on('disconnect', (_p, reason) => closed.push(reason))
  try {
    const { port } = await listen(vnet, { port: 0, host: '127.0.0.1' })
    const forged = (i: number) => {
      const r = { key: 'k' + i, value: i, source_id: 'a', version: i + 1 }
      return JSON.stringify({ ...r, sig: signer(mallory.privateKey)(r) })
    }
    const h = await HostileClient.open({ port, id: 'evil' })
    await h.send(Array.from({ length: 30 }, (_, i) => forged(i)))
    await waitFor(() => v.stats.invalidByReason['bad signature'] === 30, 5000, 'thirty refused')
    t.equal(vnet.stats.invalid, 0, 'thirty bad signatures (3 objects\' worth) keep the link, budget 3')
    await h.send(Array.from({ length: 20 }, (_, i) => forged(30 + i)))
    await h.closed
    t.equal(vnet.stats.invalid, 1, 'past ten times the budget the forger is cut off')
    t.equal(v.keys().length, 0, 'nothing forged was taken')
  } finally {
    await vnet.close()
  }
  t.end()
})
