/**
 * Hostile input to membership over loopback TCP: a raw socket that says a
 * hello with `members: 1` and then writes membership lines against a real
 * node with membership (and an honest member linked to it). Bad lines are
 * refused and counted like any invalid object, the node goes on; no line
 * makes it hold another node dead or left (plain and signed clusters).
 */
import test from 'tape'
import { generateSigningKeys, signer, verifier } from '../../lib/security.ts'
import { signedForm } from '../../lib/membership/record.ts'
import type { JsonValue } from '../../lib/core/types.ts'
import type { MemberRecord } from '../../lib/membership/types.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { waitFor } from '../support/streams.ts'
import { memberNet, untilAllAlive, type MemberNet } from './support/nets.ts'
import { MAX_QUEUED } from '../../lib/transport/member-channel.ts'

const S = '0000000000000000'
const line = (o: unknown) => JSON.stringify(o)

async function pair(config?: (id: string) => Parameters<typeof memberNet>[1]): Promise<[MemberNet, MemberNet]> {
  const n = await memberNet('n', config?.('n'))
  const v = await memberNet('v', { ...config?.('v'), seeds: [n.addr] })
  await untilAllAlive([n, v], true, 20_000, 'n and v to hold each other alive, beating')
  return [n, v]
}

/** The invalid reasons `net` reports for the peer `id`, as they come. */
function invalidOf(m: MemberNet, id: string): string[] {
  const out: string[] = []
  m.net.on('invalid', (peer, reason) => {
    if (peer.id === id) out.push(reason)
  })
  return out
}

test('membership lines with bad shapes, oversize lists and out-of-range values are refused and counted; the node goes on', async (t) => {
  const [n, v] = await pair()
  const reasons = invalidOf(n, 'evil')
  const h = await HostileClient.open({ port: n.port, id: 'evil', extraHello: { members: 1 } })
  const vGen = v.membership.table.selfRecord.gen
  const now = Date.now()
  const rec = (o: Partial<MemberRecord> & Record<string, unknown>) => ({ id: 'x', gen: now, v: 1, addr: '127.0.0.1:9', st: 'up', ...o })
  const bad: [string, RegExp][] = [
    ['{"mb": not json', /membership line is not JSON/],
    [line({ mb: 'gossip' }), /unknown membership message/],
    [line({ mb: 'beat', s: 'zz', hb: [] }), /s must be 16 lower-case hex digits/],
    [line({ mb: 'beat', s: S, hb: ['v', vGen] }), /triples/],
    [line({ mb: 'beat', s: S, hb: Array.from({ length: 20_001 }, (_, i) => [`m${i}`, now, 1]).flat() }), /more than 20000 heartbeat entries/],
    [line({ mb: 'recs', recs: Array.from({ length: 513 }, (_, i) => rec({ id: `m${i}` })) }), /at most 512 records/],
    [line({ mb: 'recs', recs: [rec({ id: 'x'.repeat(300) })] }), /member id longer than 256/],
    [line({ mb: 'recs', recs: [rec({ meta: { blob: 'x'.repeat(10_000) } })] }), /meta longer than 4096/],
    [line({ mb: 'recs', recs: [{ ...rec({}), st: 'dead' }] }), /st must be "up" or "left"/],
    [line({ mb: 'recs', recs: [rec({ addr: 'nowhere' })] }), /addr must be host:port/],
    [line({ mb: 'gone', gen: vGen }), /unknown membership message/],
  ]
  const refused = bad
  await h.send(refused.map(([l]) => l))
  await waitFor(() => reasons.length >= refused.length, 10_000, 'every bad line reported')
  t.equal(reasons.length, refused.length, `${refused.length} lines refused`)
  refused.forEach(([l, why], i) => t.match(reasons[i] ?? '', why, `${l.slice(0, 50)}...: ${reasons[i]}`))
  t.deepEqual(n.net.members().map((m) => m.id), ['n', 'v'], 'no member came from any of them')
  t.equal(n.member('v')?.state, 'alive', 'v is alive')
  t.equal(h.closedReason, null, 'eleven invalid lines are within the budget: the hostile link is still open')
  // The replica's lines still pass on that connection: a write at n reaches a plain reader.
  t.ok(n.net.peers.some((p) => p.id === 'evil'), 'n still holds the link')
  h.close()
  await Promise.all([n.net.close(), v.net.close()])
  t.end()
})

test('a flood of bucket sums gets few answers: none to answers the node never asked for, one per quarter round to the rest', async (t) => {
  const [n, v] = await pair()
  const h = await HostileClient.open({ port: n.port, id: 'evil', extraHello: { members: 1 } })
  await waitFor(() => h.received.some((l) => l.startsWith('{"mb":"beat"')), 10_000, 'the node to start a round with the hostile peer')
  const recsSeen = () => h.received.filter((l) => l.startsWith('{"mb":"recs"')).length
  const before = recsSeen()
  await h.send(Array.from({ length: 300 }, () => line({ mb: 'sums', b: ['00000000'], re: 1 })))
  await new Promise((r) => setTimeout(r, 500))
  t.equal(recsSeen(), before, 'three hundred unsolicited answers: no record sent back')
  await h.send(Array.from({ length: 300 }, () => line({ mb: 'sums', b: ['00000000'] })))
  await waitFor(() => recsSeen() > before, 10_000, 'records for the sums')
  await new Promise((r) => setTimeout(r, 500))
  t.ok(recsSeen() - before <= 3, `three hundred sums in one burst: records sent ${recsSeen() - before} time(s) (at most one per 25 ms)`)
  t.equal(n.net.stats.invalid, 0, 'valid lines: nothing counted invalid, the link stays')
  h.close()
  await Promise.all([n.net.close(), v.net.close()])
  t.end()
})

test('plain cluster: a peer cannot make a node hold another dead or left (forged left, later generation, runaway counter)', async (t) => {
  const [n, v] = await pair()
  const vRec = v.membership.table.selfRecord
  const h = await HostileClient.open({ port: n.port, id: 'evil', extraHello: { members: 1 } })
  await h.send([
    line({ mb: 'recs', recs: [{ ...vRec, v: vRec.v + 10, st: 'left' }] }),
    line({ mb: 'recs', recs: [{ ...vRec, gen: vRec.gen + 1000, v: 1, addr: '127.0.0.1:9' }] }),
    // The highest counter the bound allows for v's life: v's real counter is far below it.
    line({ mb: 'beat', s: S, hb: ['v', vRec.gen, Date.now() - vRec.gen + 200_000] }),
  ])
  await waitFor(() => n.membership.table.stats.recordsRefused >= 2, 10_000, 'the two records refused')
  // Twenty rounds (of 100 ms): a detector would have declared v dead after 8 mean intervals.
  await new Promise((r) => setTimeout(r, 2000))
  t.equal(n.member('v')?.state, 'alive', 'v is alive at n')
  t.equal(n.member('v')?.generation, vRec.gen, 'in its own generation')
  t.equal(n.member('v')?.address, v.addr, 'at its own address')
  t.deepEqual(n.events.filter((e) => e.id === 'v' && e.kind !== 'join'), [], 'no down, no leave for v at n')
  t.ok(v.membership.table.stats.refuted >= 1, 'v saw the forged counter of itself and caught up with it')
  t.ok(v.member('v')!.heartbeat > Date.now() - vRec.gen, 'v\'s counter now runs above the forged one')
  h.close()
  await Promise.all([n.net.close(), v.net.close()])
  t.end()
})

test('signed cluster: a left record needs the node\'s signature; unsigned or badly signed ones are refused, relayed or not', async (t) => {
  const keys = { n: generateSigningKeys(), v: generateSigningKeys(), evil: generateSigningKeys() }
  const publicKeys = { n: keys.n.publicKey, v: keys.v.publicKey, evil: keys.evil.publicKey }
  const metadata: { [key: string]: JsonValue } = { zone: 'eu', list: [{}, { k: 'ü€' }] }
  const [n, v] = await pair((id) => ({ metadata, config: { sign: signer(keys[id as 'n' | 'v'].privateKey), verify: verifier(publicKeys) } }))
  t.ok(typeof n.member('v')?.generation === 'number' && v.membership.table.selfRecord.sig !== undefined, 'v\'s record is signed, and n took it')
  t.deepEqual(n.member('v')?.metadata, metadata, 'with its metadata: the signature over it verified')
  const vRec = v.membership.table.selfRecord
  const h = await HostileClient.open({ port: n.port, id: 'evil', extraHello: { members: 1 } })
  const leftUnsigned: MemberRecord = { id: 'v', gen: vRec.gen, v: vRec.v + 1, addr: vRec.addr, st: 'left' }
  const signedByEvil = { ...leftUnsigned, sig: signer(keys.evil.privateKey)(signedForm(leftUnsigned)) }
  await h.send([line({ mb: 'recs', recs: [leftUnsigned] }), line({ mb: 'recs', recs: [signedByEvil] })])
  await waitFor(() => n.membership.table.stats.recordsRefused >= 2, 10_000, 'both refused')
  t.equal(n.member('v')?.state, 'alive', 'v stays alive at n')
  // v itself leaves: its signed record says so, and n takes it at once.
  await v.net.close()
  await waitFor(() => n.member('v')?.state === 'left', 10_000, 'v left at n')
  t.equal(n.events.find((e) => e.kind === 'leave' && e.id === 'v')?.reason, 'left the cluster', 'v\'s own signed leave: left the cluster')
  h.close()
  await n.net.close()
  t.end()
})

test('a peer that asks for every bucket and never reads: at most 1 MiB of membership output waits for it, and it is cut off as stalled', async (t) => {
  const n = await memberNet('n', { network: { stallTimeout: 500, idleTimeout: 120_000 } })
  // 4,000 members of 4 KB: the whole table is a 16 MB answer, more than loopback's socket buffers hold.
  const gen = Date.now() - 1000
  const meta = { blob: 'x'.repeat(4000) }
  for (let i = 0; i < 4000; i++) n.membership.table.applyRecord({ id: `m${i}`, gen, v: 1, addr: `127.0.0.1:${1 + i}`, st: 'up', meta }, n.net.timers.now())
  const h = await HostileClient.open({ port: n.port, id: 'evil', extraHello: { members: 1 }, read: false })
  await h.send([line({ mb: 'sums', b: Array(256).fill('00000000') })])
  const conn = () => n.net.peers.find((p) => p.id === 'evil') as unknown as { socket: { writableLength: number } } | undefined
  let most = 0
  await waitFor(() => {
    most = Math.max(most, conn()?.socket.writableLength ?? 0)
    return n.net.stats.stalled >= 1
  }, 10_000, 'the peer that does not read cut off as stalled')
  t.ok(most <= MAX_QUEUED, `bytes waiting for it: at most ${most}, within ${MAX_QUEUED}`)
  t.ok(n.membership.stats.messagesDropped > 0, `the rest of the answer dropped, counted (${n.membership.stats.messagesDropped} lines)`)
  t.equal(n.net.stats.stalled, 1, 'counted as stalled')
  h.close()
  await n.net.close()
  t.end()
})

test('a counter within one node\'s clock bound but over that of a node 1 s behind is taken there as its bound: no line refused, no honest link charged, nobody held dead', async (t) => {
  const a = await memberNet('a')
  const x = await memberNet('x', { seeds: [a.addr] })
  const b = await memberNet('b', { seeds: [a.addr], config: { now: () => Date.now() - 1000 } })
  await untilAllAlive([a, x, b], true, 20_000, 'a, x and b alive everywhere')
  const invalidAtB: string[] = []
  b.net.on('invalid', (peer, reason) => invalidAtB.push(`${peer.id}: ${reason}`))
  const xGen = x.membership.table.selfRecord.gen
  const h = await HostileClient.open({ port: a.port, id: 'evil', extraHello: { members: 1 } })
  // For 3 s (30 rounds), x's counter pushed to just under the bound of a's clock: 900 ms over b's.
  for (let i = 0; i < 30; i++) {
    await h.send([line({ mb: 'beat', s: S, hb: ['x', xGen, Date.now() + 300_000 - xGen - 100], re: 1 })])
    await new Promise((r) => setTimeout(r, 100))
  }
  t.deepEqual(invalidAtB, [], 'b refused no line of a or x')
  t.ok(b.membership.stats.beatsAhead > 0, `b took ${b.membership.stats.beatsAhead} counters over its bound as the bound`)
  t.deepEqual(b.events.filter((e) => e.kind === 'down' || e.kind === 'leave'), [], 'b held nobody dead')
  t.deepEqual(b.net.members().map((m) => `${m.id}:${m.state}`), ['a:alive', 'b:alive', 'x:alive'], 'every member alive at b')
  h.close()
  await Promise.all([a.net.close(), x.net.close(), b.net.close()])
  t.end()
})

test('plain cluster: a forged later generation of a member not held alive does not keep the member out: it joins at its own generation', async (t) => {
  const a = await memberNet('a')
  const b = await memberNet('b', { seeds: [a.addr] })
  await untilAllAlive([a, b], true, 20_000, 'a and b alive at each other')
  const h = await HostileClient.open({ port: a.port, id: 'evil', extraHello: { members: 1 } })
  // w has not joined yet: a generation just under the clock bound, at an address of the attacker's choice.
  await h.send([line({ mb: 'recs', recs: [{ id: 'w', gen: Date.now() + 290_000, v: 1, addr: '127.0.0.1:9', st: 'up' }] })])
  await waitFor(() => a.member('w') !== undefined && b.member('w') !== undefined, 10_000, 'the forged life of w at a and b')
  h.close()
  const w = await memberNet('w', { seeds: [a.addr] })
  const real = w.membership.table.selfRecord.gen
  const atReal = (n: MemberNet) => n.member('w')?.generation === real && n.member('w')?.state === 'alive' && n.member('w')?.address === w.addr
  await waitFor(() => atReal(a) && atReal(b), 20_000, 'w alive at its own generation and address at a and b')
  t.pass('a and b hold w alive, at its own generation and address')
  t.ok(a.events.some((e) => e.kind === 'leave' && e.id === 'w' && e.generation > real), 'a: the forged life left')
  await Promise.all([a.net.close(), b.net.close(), w.net.close()])
  t.end()
})

test('plain cluster: a forged record of a live node at the version bound is answered by the node\'s next generation; its address, metadata and leave are its own again', async (t) => {
  const [n, v] = await pair()
  const vRec = v.membership.table.selfRecord
  const h = await HostileClient.open({ port: n.port, id: 'evil', extraHello: { members: 1 } })
  await h.send([line({ mb: 'recs', recs: [{ id: 'v', gen: vRec.gen, v: 2 ** 48, addr: '127.0.0.1:9', st: 'up', meta: { owned: true } }] })])
  const own = (m: MemberNet) => m.member('v')?.generation === vRec.gen + 1 && m.member('v')?.address === v.addr && m.member('v')?.state === 'alive'
  await waitFor(() => own(n) && own(v), 10_000, 'v at its next generation, at its own address, at n and at v')
  t.deepEqual(n.member('v')?.metadata, {}, 'with its own metadata')
  t.ok(v.membership.table.stats.refuted >= 1, 'v answered the forged record')
  t.deepEqual(n.events.filter((e) => e.id === 'v').slice(1).map((e) => [e.kind, e.generation]), [['leave', vRec.gen], ['join', vRec.gen + 1]], 'n: after v joined, the old life leaves, the new one joins')
  h.close()
  await v.net.close()
  await waitFor(() => n.member('v')?.state === 'left', 5000, 'v\'s leave taken at n at once')
  t.pass('v\'s graceful leave reached n')
  await n.net.close()
  t.end()
})
