/**
 * Membership heartbeats share a link's byte stream with the replica's data,
 * so on a slow link they wait behind it. What a member sends on its own
 * link (the peer whose hello id is the member's) is a sign of life for the
 * failure detector: a member whose heartbeats are held up behind its data
 * is not declared down while its data keeps arriving. Only its own link
 * counts (not a relay's), only bytes count (not an open connection), and in
 * a signed cluster, where a hello's id is not proven, nothing but
 * heartbeats counts. One node on fake timers; the peer is the test, writing
 * into an in-memory socket.
 */
import test from 'tape'
import { Duplex } from 'node:stream'
import { seededRandom } from '../../lib/core/random.ts'
import { Network, join } from '../../lib/net.ts'
import { makeHello } from '../../lib/protocol/hello.ts'
import { signedForm } from '../../lib/membership/record.ts'
import { HEARD_FACTOR } from '../../lib/membership/detector.ts'
import { DETECTOR_DEFAULTS } from '../../lib/membership/types.ts'
import type { MemberRecord } from '../../lib/membership/types.ts'
import { generateSigningKeys, signer, verifier, type SignFn } from '../../lib/security.ts'
import type { GossipConfig } from '../../lib/index.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { node } from '../support/streams.ts'

const WALL = 1_800_000_000_000
const INTERVAL = 300
const GEN = WALL - 60_000

/** Lets the streams pass on what was written (no time passes on the fake clock). */
const settle = async () => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r))
}

/** A socket whose far end is the test: `peer(text)` is what the peer sends; what the node writes is discarded. */
class TestSocket extends Duplex {
  override _read(): void {}
  override _write(_c: Buffer, _e: BufferEncoding, cb: () => void): void {
    cb()
  }
  peer(text: string): void {
    this.push(Buffer.from(text))
  }
}

async function setup(config: Partial<GossipConfig> = {}, sign?: (r: MemberRecord) => string) {
  const timers = new FakeTimers()
  const gossip = node('b', { now: () => WALL + timers.now(), ...config })
  const network = new Network(gossip, { interval: INTERVAL, timers, random: seededRandom(3) })
  const events: string[] = []
  for (const kind of ['down', 'up'] as const) network.on(kind, (m, why: string) => events.push(`${kind} ${m.id}: ${why}`))
  // Member dials never complete: the only link is the test's.
  const m = join(network, { advertise: '127.0.0.1:1', seeds: [], opener: () => ({ ready: new Promise(() => {}), cancel: () => {} }) })
  const socket = new TestSocket()
  const opened = network.attach(socket, '10.0.0.1:4000', 'in')
  socket.peer(JSON.stringify({ ...makeHello('a', network.cluster, WALL, 1, 1 << 20), members: 1 }) + '\n')
  await settle()
  const conn = await opened
  const record = (id: string): MemberRecord => {
    const r: MemberRecord = { id, gen: GEN, v: 1, addr: `${id}.test:7000`, st: 'up' }
    return sign === undefined ? r : { ...r, sig: sign(r) }
  }
  socket.peer(JSON.stringify({ mb: 'recs', recs: [record('a'), record('c')] }) + '\n')
  let hb = 0
  let version = 0
  return {
    timers, gossip, network, m, socket, conn, events,
    /** A heartbeat line from the peer: a's counter and c's (relayed) rise. */
    beat: () => {
      hb++
      socket.peer(JSON.stringify({ mb: 'beat', s: '0000000000000000', hb: ['a', GEN, hb, 'c', GEN, hb], re: 1 }) + '\n')
    },
    /** About 1 KB of the replica's data from a: one update line. */
    data: (signUpdate?: SignFn) => {
      version++
      const u = { key: `k${version}`, value: 'x'.repeat(1000), source_id: 'a', version: WALL + version }
      socket.peer(JSON.stringify(signUpdate === undefined ? u : { ...u, sig: signUpdate(u) }) + '\n')
    },
    state: (id: string) => m.members().find((x) => x.id === id)?.state,
  }
}

/** Close the node (its leave waits on the fake clock). */
async function close(s: { network: Network; timers: FakeTimers }): Promise<void> {
  const closed = s.network.close()
  for (let i = 0; i < 20; i++) {
    await settle()
    s.timers.advance(100)
  }
  await closed
}

/** Run `ms` of fake time in steps of `step`, calling `each` before every step. */
async function run(timers: FakeTimers, ms: number, step: number, each: (i: number) => void): Promise<void> {
  for (let i = 0; i * step < ms; i++) {
    each(i)
    await settle()
    timers.advance(step)
  }
}

test('a member whose heartbeats wait behind its own data on its link is not declared down while the data arrives; silent (the socket open, nothing sent), it is', async (t) => {
  const s = await setup()
  // 9 s of a steady link: a heartbeat line every round, a little data.
  await run(s.timers, 9000, 100, (i) => {
    if (i % 3 === 0) s.beat()
    if (i % 10 === 0) s.data()
  })
  t.deepEqual(s.events, [], 'a and c beat every round: no down')
  t.equal(s.state('a'), 'alive', 'a alive')
  // 20 s of a bulk transfer on a slow link: a's data arrives every 100 ms, its heartbeat lines are held up behind it.
  await run(s.timers, 20_000, 100, () => s.data())
  t.ok(s.gossip.size > 150, `b took a's updates meanwhile (${s.gossip.size})`)
  t.deepEqual(s.events.filter((e) => e.startsWith('down a') || e.startsWith('up a')), [], 'a is not declared down while its data keeps arriving on its own link')
  t.equal(s.state('a'), 'alive', 'a alive after 20 s without a heartbeat line')
  t.ok(s.events.some((e) => e.startsWith('down c: no heartbeat for')), `c, whose heartbeats a only relays, is down: a's data is no sign of c's life (${s.events.join('; ')})`)
  // The heartbeat lines that waited arrive, then a steady link again (its data still flowing).
  await run(s.timers, 3000, 100, (i) => {
    if (i % 3 === 0) s.beat()
    s.data()
  })
  t.equal(s.state('a'), 'alive', 'a alive once its heartbeats are read')
  t.notOk(s.events.some((e) => e.startsWith('down a')), 'and never declared down')
  // a's process wedges: its connection stays open, nothing more arrives.
  const wedged = s.timers.now()
  const before = s.events.length
  await run(s.timers, 12_000, 100, () => {})
  t.notOk(s.conn.isClosed, 'the connection is still open')
  const down = s.events.slice(before).find((e) => e.startsWith('down a'))
  t.ok(down !== undefined, `a, silent on an open connection, is declared down (${down})`)
  t.match(down ?? '', /^down a: no heartbeat for \d+\.\d s, nothing from it on its own link for \d+\.\d s \(phi \d+\.\d >= 8\)$/, 'the reason says how long it was silent, and since when nothing came on its link')
  t.ok(s.timers.now() - wedged <= 12_000, 'within the usual silence')
  await close(s)
  t.end()
})

test('a member whose data keeps arriving on its link but whose heartbeats stopped (its membership stalled, its replica answering) is declared down HEARD_FACTOR maxIntervals after its last heartbeat', async (t) => {
  const s = await setup()
  await run(s.timers, 9000, 100, (i) => {
    if (i % 3 === 0) s.beat()
    if (i % 10 === 0) s.data()
  })
  t.equal(s.state('a'), 'alive', 'a alive')
  const bound = HEARD_FACTOR * DETECTOR_DEFAULTS.maxInterval
  // Its data goes on every 100 ms; no heartbeat line comes again.
  let aliveFor = 0
  await run(s.timers, bound + 2000, 100, (i) => {
    s.data()
    if (s.state('a') === 'alive') aliveFor = i * 100
  })
  const down = s.events.find((e) => e.startsWith('down a'))
  t.ok(down !== undefined, `a is declared down though its data keeps arriving (${down})`)
  t.match(down ?? '', /^down a: no heartbeat for \d+\.\d s, though its link carried bytes 0\.\d s ago: its membership stalled \(phi \d+\.\d >= 8\)$/, 'the reason says its link carries data but no heartbeat came')
  const silent = Number(/no heartbeat for (\d+\.\d) s/.exec(down ?? '')?.[1]) * 1000
  t.ok(silent >= bound && silent <= bound + INTERVAL, `down at the bound past its last heartbeat (${silent} ms, bound ${bound} ms)`)
  t.ok(aliveFor >= bound - 1000, `alive until then (${aliveFor} ms of data alone)`)
  t.notOk(s.conn.isClosed, 'the connection is still open')
  await close(s)
  t.end()
})

test('in a signed cluster a hello\'s id is not proven: data on the link that claims a member is no sign of its life, only heartbeats are', async (t) => {
  const keys = generateSigningKeys()
  const sign = signer(keys.privateKey)
  const s = await setup({ sign: signer(generateSigningKeys().privateKey), verify: verifier({ a: keys.publicKey, c: keys.publicKey }) }, (r) => sign(signedForm(r)))
  await run(s.timers, 9000, 100, (i) => {
    if (i % 3 === 0) s.beat()
    if (i % 10 === 0) s.data(sign)
  })
  t.deepEqual(s.events, [], 'signed records taken, a and c beat every round: no down')
  t.equal(s.state('a'), 'alive', 'a alive')
  await run(s.timers, 20_000, 100, () => s.data(sign))
  t.ok(s.gossip.size > 150, `b took a's signed updates meanwhile (${s.gossip.size})`)
  t.ok(s.events.some((e) => e.startsWith('down a: no heartbeat for')), `a is declared down: the link's data counts for nothing (${s.events.join('; ')})`)
  await close(s)
  t.end()
})
