/**
 * What one peer's messages may cost a node, beyond the budgets of
 * hostile-peer.test.ts: a resent record with changed content is checked
 * like any other (no shortcut for "a copy of what we hold"); requests sent
 * in a loop get one answer per `final`; a reply nobody asked for gets no
 * leg 3; chain state for sources nobody knows stays bounded.
 */
import test from 'tape'
import { Gossip, base, type Rec } from 'simple-scuttle'
import { generateSigningKeys, signer, verifier } from 'simple-scuttle/security'
import { Inbound, MAX_STRANGERS } from '../../lib/core/inbound.ts'
import { replicaOf } from '../../lib/stream/gossip.ts'
import { Network, listen } from 'simple-scuttle/net'
import { FakeTimers } from '../support/fake-timers.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { quiet, waitFor } from '../support/streams.ts'

const lines = (chunks: Buffer[]) =>
  Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)

test('a record resent with the held identity and signature but other content is verified, and refused', (t) => {
  const a = generateSigningKeys()
  const writer = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers, sign: signer(a.privateKey), verify: verifier({ a: a.publicKey }) })
  const victim = new Gossip('v', { ...base.config, resolve: base.resolution.lww_vs_current_vers, verify: verifier({ a: a.publicKey }) })
  const refusals: string[] = []
  victim.on('invalid', (reason: string) => refusals.push(reason))
  writer.set('config', { mode: 'safe' })
  const held = writer.record('config')!
  victim.write({ ...held })
  t.deepEqual(victim.get('config').value, { mode: 'safe' }, 'the signed record is taken')
  victim.write({ ...held, value: { mode: 'unsafe' } })
  victim.write({ ...held, value: null, deleted: true })
  t.deepEqual(victim.get('config').value, { mode: 'safe' }, 'the forged value and the forged delete change nothing')
  t.equal(refusals.filter((r) => /bad signature/.test(r)).length, 2, 'both refused as bad signatures')
  victim.write({ ...held })
  t.equal(refusals.length, 2, 'a true copy is still taken quietly')
  t.end()
})

test('a record resent at the held version with other content goes through accept', (t) => {
  const victim = new Gossip('v', { ...base.config, resolve: base.resolution.lww_vs_current_vers, accept: (u: Rec) => u.deleted !== true && typeof u.value === 'number' })
  const refusals: string[] = []
  victim.on('invalid', (reason: string) => refusals.push(reason))
  const rec = { key: 'balance', value: 100, source_id: 'w', version: 5 }
  victim.write(rec)
  victim.write({ ...rec, value: null, deleted: true })
  victim.write({ ...rec, value: 'drained' })
  t.equal(victim.get('balance').value, 100, 'neither the delete nor the string is taken at the held version')
  t.equal(refusals.filter((r) => /not accepted/.test(r)).length, 2, 'both refused by accept')
  t.end()
})

/** A node holding `n` keys and one wire stream to a peer we play by hand; returns what it sends. */
function wireVictim(n: number, answerPacing?: { interval: number; now: () => number }) {
  const g = new Gossip('v', { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 1000 })
  for (let i = 0; i < n; i++) g.set('k' + i, i)
  const s = g.createWireStream({ answerPacing })
  const out: Buffer[] = []
  s.on('data', (b: Buffer) => out.push(b))
  const send = (...objs: object[]) => s.write(Buffer.from(objs.map((o) => JSON.stringify(o) + '\n').join('')))
  return { g, s, out, send }
}

const settle = () => new Promise((r) => setImmediate(r))

test('requests in a loop get one answer per final; the latest held one is answered when the final comes', async (t) => {
  const { s, out, send } = wireVictim(50)
  const request = { digest: true, done: true }
  for (let i = 0; i < 200; i++) send(request)
  await settle()
  const first = lines(out)
  t.equal(first.filter((m) => m.key !== undefined).length, 50, 'the first request is answered with the 50 updates')
  t.equal(first.filter((m) => m.digest === true && m.done === true && m.reply === true).length, 1, 'one reply digest for 200 requests')
  t.equal(s.stats.requestsHeld, 199, 'the other 199 counted as held')
  out.length = 0
  send({ digest: true, done: true, reply: true, final: true })
  await settle()
  const second = lines(out)
  t.equal(second.filter((m) => m.digest === true && m.done === true && m.reply === true).length, 1, 'the final releases exactly one held request')
  t.end()
})

test('with answer pacing, a peer looping request and final gets at most one answer per interval; the held one goes when its time comes', async (t) => {
  let now = 0
  const { s, out, send } = wireVictim(50, { interval: 500, now: () => now })
  const replies = () => lines(out).filter((m) => m.digest === true && m.done === true && m.reply === true && m.final !== true).length
  const request = { digest: true, done: true }
  const final = { digest: true, done: true, reply: true, final: true }
  for (let i = 0; i < 100; i++) {
    send(request)
    await settle()
    send(final)
    await settle()
  }
  t.equal(replies(), 1, '100 request/final loops at one moment: one answer')
  now += 499
  s.answerHeld()
  await settle()
  t.equal(replies(), 1, 'none before the interval has passed')
  now += 1
  s.answerHeld()
  await settle()
  t.equal(replies(), 2, 'the latest held request is answered once it has')
  send(final)
  for (let i = 0; i < 20; i++) {
    now += 100
    send(request)
    await settle()
    send(final)
    await settle()
  }
  t.equal(replies(), 2 + 4, '20 loops over 2 s: one answer per 500 ms, paid as input comes')
  t.end()
})

test('with answer pacing, a peer cannot make the node start exchanges in a loop: cut replies and claims of our own records get one a pace', async (t) => {
  let now = 0
  const { g, s, out, send } = wireVictim(50, { interval: 500, now: () => now })
  const own = g.records()[0]
  const requests = () => lines(out).filter((m) => m.digest === true && m.done === true && m.reply !== true).length
  s.gossip()
  await settle()
  t.equal(requests(), 1, 'the node starts one exchange')
  // Each request of the node gets a reply cut at the MTU (more, not streamed) carrying a record it holds.
  for (let i = 0; i < 50; i++) {
    send({ ...own }, { digest: true, done: true, reply: true, more: true })
    await settle()
  }
  t.ok(requests() <= 2, `50 cut replies at one moment: ${requests()} requests of the node, not 50`)
  now += 500
  s.answerHeld()
  await settle()
  t.ok(requests() <= 3, 'the one owed goes when its time comes')
  const before = requests()
  // Finals that claim the node's own source above what it holds (as if it had lost its records).
  for (let i = 0; i < 50; i++) {
    send({ digest: true, done: true, reply: true }, { digest: true, source_id: 'v', gen: own.gen, version: own.version + 1000 + i }, { digest: true, done: true, reply: true, final: true })
    await settle()
  }
  t.ok(requests() - before <= 1, `finals claiming the node's own records above what it holds, 50 times: ${requests() - before} more requests`)
  t.end()
})

test('a reply digest nobody asked for gets no leg 3, only a bare final', async (t) => {
  const { s, out, send } = wireVictim(50)
  for (let i = 0; i < 100; i++) send({ digest: true, done: true, reply: true })
  await settle()
  const back = lines(out)
  t.equal(back.filter((m) => m.key !== undefined).length, 0, 'no updates sent back')
  t.equal(back.filter((m) => m.final === true && m.source_id === undefined).length, 100, 'one bare final marker each, no digest entries')
  t.equal(back.length, 100, 'and nothing else')
  t.equal(s.stats.repliesUnasked, 100, 'each counted')
  t.end()
})

test('two requests in flight (an initiator that called gossip() twice): each final releases the next, and later requests are answered', async (t) => {
  const { s, out, send } = wireVictim(5)
  const replies = () => lines(out).filter((m) => m.digest === true && m.done === true && m.reply === true && m.final !== true).length
  const request = { digest: true, done: true }
  const final = { digest: true, done: true, reply: true, final: true }
  send(request, request)
  await settle()
  t.equal(replies(), 1, 'the first is answered, the second held')
  send(final)
  await settle()
  t.equal(replies(), 2, 'the final of the first releases the second')
  send(final)
  await settle()
  for (let i = 0; i < 5; i++) {
    send(request)
    await settle()
    send(final)
    await settle()
  }
  t.equal(replies(), 7, 'and every later request, each closed by its final, is answered')
  t.equal(s.stats.requestsHeld, 1, 'only the one request was held')
  t.end()
})

test('chain state for sources no one knows stays bounded, whatever a peer sends', (t) => {
  const g = new Gossip('v', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  const inbound = new Inbound(replicaOf(g), { id: 'mallory' }, null)
  for (let i = 0; i < 5 * MAX_STRANGERS; i++) {
    const rec = { key: 'k', value: null, source_id: 'invented-' + i, gen: 'g' + i, version: 1 } as Rec
    inbound.take(rec, undefined, true, 10) // dropped: the peer is behind our floors
  }
  const heads = (inbound as unknown as { heads: Map<string, number> }).heads
  t.ok(heads.size <= MAX_STRANGERS, `${heads.size} chain heads kept for ${5 * MAX_STRANGERS} invented sources`)
  t.equal(inbound.refetchDue, true, 'past the bound, a refetch is due (nothing is adopted past an unrecorded break)')
  inbound.refetching()
  t.equal(heads.size, 0, 'a refetch forgets them')
  t.end()
})

test('over a network, a peer looping request and final is answered at the node\'s pace: a held answer goes at the next round', async (t) => {
  const timers = new FakeTimers()
  const v = new Gossip('v', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  for (let i = 0; i < 200; i++) v.set('k' + i, i)
  const net = new Network(v, { interval: 1000, timers })
  const { port } = await listen(net, { port: 0 })
  const h = await HostileClient.open({ port, id: 'evil' })
  let replies = 0
  let text = ''
  h.socket.on('data', (d: Buffer) => {
    text += d.toString('utf8')
    const parts = text.split('\n')
    text = parts.pop() ?? ''
    for (const p of parts) if (p.includes('"done":true') && p.includes('"reply":true') && !p.includes('"final":true')) replies++
  })
  await waitFor(() => net.peers.length === 1, 10_000, 'the hostile peer connected')
  let sent = 0
  const send = async (line: string) => {
    sent += line.length + 1
    await h.send([line])
  }
  /** Everything either side sent has arrived. */
  const settled = async () => {
    const peer = () => net.peers[0]
    await waitFor(() => peer().bytesOut === h.bytesIn && peer().bytesIn >= sent, 10_000, 'both directions to arrive')
    await quiet(10)
  }
  for (let i = 0; i < 30; i++) {
    await send('{"digest":true,"done":true}')
    await settled()
    await send('{"digest":true,"done":true,"reply":true,"final":true}')
  }
  await settled()
  t.equal(replies, 1, '30 request/final loops within one round: one answer')
  timers.advance(1000)
  await settled()
  t.equal(replies, 2, 'the round answers the latest held request')
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) {
      await send('{"digest":true,"done":true,"reply":true,"final":true}')
      await send('{"digest":true,"done":true}')
      await settled()
    }
    timers.advance(1000)
    await settled()
  }
  t.equal(replies, 5, 'then one answer a round, however many requests')
  h.close()
  await net.close()
  t.end()
})
