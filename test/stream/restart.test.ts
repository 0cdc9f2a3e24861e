/**
 * A node piped from a second source (a reconnect, or another peer) starts a
 * new session on its own stream: what it believed the previous peer held
 * must not keep it from sending the new one what it lacks.
 */
import test from 'tape'
import { PassThrough } from 'node:stream'
import ndjson from 'ndjson'
import { base, type Gossip } from '../../lib/index.ts'
import { lossyLink, node, sameState, until } from '../support/streams.ts'

/** The seed README's wiring over a byte pipe: `gossip.pipe(serializer).pipe(peer_io).pipe(deserializer).pipe(gossip)`. */
function wire(a: Gossip, b: Gossip): () => void {
  const ab = [ndjson.stringify(), new PassThrough(), ndjson.parse()] as const
  const ba = [ndjson.stringify(), new PassThrough(), ndjson.parse()] as const
  a.pipe(ab[0]).pipe(ab[1]).pipe(ab[2]).pipe(b)
  b.pipe(ba[0]).pipe(ba[1]).pipe(ba[2]).pipe(a)
  return () => {
    a.unpipe()
    ab[2].unpipe(b)
    b.unpipe()
    ba[2].unpipe(a)
  }
}

/** `n` rounds: every node or stream starts an exchange, then `turns` event-loop turns pass. */
async function rounds(peers: { gossip(): void }[], n: number, turns = 1): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (const g of peers) g.gossip()
    for (let j = 0; j < turns; j++) await new Promise((r) => setImmediate(r))
  }
}

/** A's earlier life: `n` writes (`k0`, `k1`, …) synced to B over the seed's wiring, then A gone. */
async function earlierLife(now: () => number, n: number, extra: Partial<Parameters<typeof node>[1]> = {}, value: (i: number) => unknown = (i) => i): Promise<{ a: Gossip; b: Gossip }> {
  const a = node('A', { now, ...extra })
  const b = node('B', { now, ...extra })
  const cut = wire(a, b)
  for (let i = 0; i < n; i++) a.set('k' + i, value(i) as never)
  await rounds([a, b], 3)
  await until(() => b.size === n, 10_000, `B holds ${n} keys of A`)
  cut()
  a.destroy()
  return { a, b }
}

test('a node restarted in memory under the same id gets its earlier writes back from the peer it reconnects to', async (t) => {
  let time = 1_000
  const now = () => time
  const a = node('A', { now })
  const b = node('B', { now })
  const cut = wire(a, b)
  for (let i = 0; i < 20; i++) a.set('k' + i, { i })
  b.set('b', 1)
  await rounds([a, b], 2)
  await until(() => b.size === 21 && a.size === 21, 10_000, 'first sync')
  cut()

  time = 5_000 // the restarted process's clock is later
  const a2 = node('A', { now })
  wire(a2, b)
  await rounds([a2, b], 4)
  await until(() => a2.size === 21, 10_000, 'A2 holds its earlier writes')
  t.deepEqual(a2.get('k7').value, { i: 7 }, 'an earlier write of its own is back')
  t.ok(sameState([a2, b]), 'A2 and B hold the same records')
  a2.set('after', true)
  await until(() => b.get('after').value === true, 10_000, 'a new write reaches B')
  t.ok(a2.get('after').version > a.get('k19').version, 'the new write is numbered above the earlier life')
  t.ok(sameState([a2, b]), 'still the same records after the new write')
  t.end()
})

test('a node re-piped to a different fresh peer sends it everything, its own writes included', async (t) => {
  const b = node('B')
  const c1 = node('C1')
  const cut = wire(b, c1)
  for (let i = 0; i < 10; i++) b.set('b' + i, i)
  await rounds([b, c1], 2)
  await until(() => c1.size === 10, 10_000, 'C1 synced')
  cut()
  const c2 = node('C2')
  wire(b, c2)
  await rounds([b, c2], 4)
  await until(() => c2.size === 10, 10_000, 'C2 synced')
  t.ok(sameState([b, c2]), 'C2 holds what B holds')
  t.end()
})

test('a node restarted in memory that writes before it reconnects still gets its earlier writes back', async (t) => {
  let time = 1_000
  const now = () => time
  const { b } = await earlierLife(now, 20, {}, (i) => ({ i }))

  time = 5_000
  const a2 = node('A', { now })
  a2.set('fresh', 1) // numbered above every earlier write: the peer's clock of A is below this life
  wire(a2, b)
  await rounds([a2, b], 6)
  await until(() => a2.size === 21, 10_000, 'A2 holds its earlier writes and its new one')
  t.deepEqual(a2.get('k0').value, { i: 0 }, 'an earlier write is back')
  t.equal(b.get('fresh').value, 1, 'the new write reached B')
  t.ok(sameState([a2, b]), 'A2 and B hold the same records')
  t.end()
})

test('recovery over a byte stream with a long own history: cut answers, then nothing is sent again', async (t) => {
  let time = 1_000
  const now = () => time
  const a = node('A', { now, mtu: 100 })
  const b = node('B', { now, mtu: 100 })
  const link = (x: Gossip, y: Gossip) => {
    const sx = x.createWireStream()
    const sy = y.createWireStream()
    sx.pipe(sy).pipe(sx)
    return [sx, sy] as const
  }
  const [s1] = link(a, b)
  for (let i = 0; i < 3000; i++) a.set('k' + i, i)
  s1.gossip()
  await until(() => b.size === 3000, 50_000, 'B holds 3,000 keys of A')
  s1.destroy()

  time = 9_000
  const a2 = node('A', { now, mtu: 100 })
  a2.set('fresh', true)
  const [x, y] = link(a2, b)
  x.gossip()
  await until(() => a2.size === 3001, 50_000, 'A2 holds its 3,000 earlier writes')
  t.ok(sameState([a2, b]), 'A2 and B hold the same records')
  const sent = y.stats.updatesSent
  t.ok(sent >= 3000 && sent <= 3001 + 100, `B sent A2 its earlier records about once (${sent} updates)`)
  for (let i = 0; i < 5; i++) {
    for (const [from, to] of [[x, y], [y, x]] as const) {
      const before = from.stats.digestsReceived
      from.gossip()
      await until(() => from.stats.digestsReceived > before && to.stats.digestsReceived > 0, 10_000, 'reply digest')
    }
  }
  await until(() => true)
  t.equal(y.stats.updatesSent, sent, 'later exchanges send A2 nothing of its own source again')
  t.end()
})

for (const who of ['both', 'the peer only', 'the restarted node only'] as const) {
  test(`recovery when ${who === 'both' ? 'both sides gossip' : who + ' gossips'}, with answers cut by a small MTU and digests crossing`, async (t) => {
    let time = 1_000
    const now = () => time
    const { b } = await earlierLife(now, 300, { mtu: 10 })

    time = 5_000
    const a2 = node('A', { now, mtu: 10 })
    a2.set('fresh', 1)
    wire(a2, b)
    const gossipers = who === 'both' ? [a2, b] : who === 'the peer only' ? [b] : [a2]
    const earlier = () => a2.keys().filter((k) => k[0] === 'k').length
    let n = 0
    for (; n < 50 && earlier() < 300; n++) {
      time += 100
      a2.set('during' + (n % 5), n) // the restarted node keeps writing while it recovers
      await rounds(gossipers, 1)
    }
    t.equal(earlier(), 300, `A2 holds its 300 earlier writes (${n} rounds)`)
    t.ok(n <= 5, 'within a few rounds, not by later fingerprint checks')
    await rounds(gossipers, 3)
    t.ok(sameState([a2, b]), 'A2 and B hold the same records')
    t.end()
  })
}

test('a node that never lived before claims its own clock in its first digest (nothing to recover)', async (t) => {
  const a = node('A', { now: () => 7 })
  a.set('x', 1)
  const seen: Record<string, unknown>[] = []
  a.on('data', (d: Record<string, unknown>) => seen.push(d))
  a.gossip()
  await until(() => seen.some((d) => d.done === true), 1000, 'digest out')
  const own = seen.find((d) => d.source_id === 'A')
  t.equal(own?.version, a.version, 'its digest lists its own source at its version')
  t.end()
})

test('clock.get(id) and history.news(id, v) find a node with a generation by its id alone, as the seed API is used', async (t) => {
  const a = node('A', { now: () => 7, generation: 'g1' })
  const b = node('B', { now: () => 7 })
  const cut = wire(a, b)
  a.set('x', 1)
  a.set('y', 2)
  await rounds([a, b], 3)
  await until(() => b.size === 2, 10_000, 'B holds what A wrote')
  const v = a.get('y').version
  t.equal(b.clock.get('A'), v, "B's clock of A, asked by id")
  t.equal(b.clock.get('A', 'g1'), v, 'and by id and generation')
  t.equal(b.clock.get('A', 'other'), -Infinity, 'another generation is not it')
  t.deepEqual(b.history.news('A', a.get('x').version).map((u) => u.key), ['y'], "news of A by id: what it wrote above x's version")
  t.deepEqual(b.history.news('A', 0, 'g1').map((u) => u.key), ['x', 'y'], 'and by id and generation')
  cut()
  // A comes back under a new generation: the id stands for both lives.
  const a2 = node('A', { now: () => 9, generation: 'g2' })
  wire(a2, b)
  a2.set('z', 3)
  await rounds([a2, b], 4)
  await until(() => b.get('z').value === 3, 10_000, 'the new life reached B')
  t.equal(b.clock.get('A'), a2.get('z').version, "by id: the highest version of A's either life")
  t.deepEqual(b.history.news('A', 0).map((u) => u.key), ['x', 'y', 'z'], 'news by id spans both lives, ascending')
  t.end()
})

test('a node restarted in memory with its wall clock gone back: later writes go above its earlier life, and what it wrote before meeting a peer arrives by the fingerprint checks', async (t) => {
  let time = 9_000
  const now = () => time
  const { b } = await earlierLife(now, 20)

  time = 5_000 // the restarted process's clock is 4 s behind its earlier life's
  const a2 = node('A', { now })
  a2.set('new', 1) // numbered below the earlier life's writes: B's clock of A covers it
  wire(a2, b)
  await rounds([a2, b], 4)
  t.equal(a2.keys().length, 21, 'A2 got its earlier writes back')
  a2.set('later', 2)
  t.ok(a2.get('later').version > b.get('k19').version, 'a write after meeting the peer is numbered above the earlier life')
  await rounds([a2, b], 2)
  t.equal(b.get('later').value, 2, 'and reaches B at once')
  let n = 0
  for (; n < 10 && b.get('new').value !== 1; n++) {
    time += 30_000
    await rounds([a2, b], 1)
  }
  t.equal(b.get('new').value, 1, `the write made before meeting reached B by the fingerprint checks (${n} rounds of 30 s)`)
  t.ok(sameState([a2, b]), 'A2 and B hold the same records')
  t.end()
})

test('two live nodes misconfigured with one id go quiet: neither keeps writing because of the other', async (t) => {
  const x = node('A', { now: () => 5_000 })
  const y = node('A', { now: () => 9_000 })
  const b = node('B', { now: () => 1_000 })
  x.set('x', 1)
  y.set('y', 1)
  wire(x, b)
  const bs = b.createStream()
  y.pipe(bs).pipe(y)
  const all = () => x.version + y.version + b.version
  await rounds([x, y, b, bs], 10)
  const settled = all()
  await rounds([x, y, b, bs], 20)
  t.equal(all(), settled, 'no node writes again after the first rounds: versions stay where they were')
  t.ok(x.version < 9_000_000 + 100 && y.version < 9_000_000 + 100, `versions stay near the clocks (${x.version}, ${y.version})`)
  t.end()
})

test("a peer's claim alone of our own source above what we wrote rewrites nothing (only a record would)", async (t) => {
  const a = node('A', { now: () => 7 })
  a.set('x', 1)
  const v = a.get('x').version
  const out: Record<string, unknown>[] = []
  a.on('data', (d: Record<string, unknown>) => out.push(d))
  // A request from a lying peer: it says it holds A's writes far above A's own.
  a.write({ digest: true, source_id: 'A', version: v + 1_000_000 })
  a.write({ digest: true, done: true })
  await until(() => out.some((d) => d.done === true), 1000, 'the answer')
  t.equal(a.get('x').version, v, 'x keeps its version: nothing was written again')
  a.set('y', 2)
  t.ok(a.get('y').version < v + 1_000_000, 'a later write is not pushed above the lie')
  t.end()
})

test('a stray record of our own source above what we wrote, with no claim that showed a loss, rewrites nothing', async (t) => {
  const a = node('A', { now: () => 7 })
  a.set('x', 1)
  const v = a.get('x').version
  // What a relay of a forgery looks like: a record of A's source, far above A's writes, linked.
  a.write({ key: 'forged', value: 1, source_id: 'A', version: v + 1_000_000, prev: v + 999_999 })
  await until(() => a.record('forged') !== undefined || a.stats.invalid > 0, 1000, 'the record handled')
  t.equal(a.get('x').version, v, 'x keeps its version: nothing was written again')
  t.equal(a.clock.get('A'), v, "A's clock of itself does not move across the gap the record's link skips")
  t.end()
})

test("a built-in resolver called from the user's resolve judges a record without a generation by that source's clock, not another life's", async (t) => {
  let time = 1_000
  const now = () => time
  const wrapped = node('C', { now, resolve: (g, u) => base.resolution.lww_vs_clock(g, u) })
  const a0 = node('A', { now }) // A's first life: no generation
  const b = node('B', { now })
  a0.set('old', 'from A0')
  await exchange(a0, b)
  time = 2_000
  const a1 = node('A', { now, generation: 'g1' }) // A again, under a fresh generation
  a1.set('new', 'from A1')
  await exchange(wrapped, a1) // C hears of A:g1 first (its clock is above A0's record)
  await exchange(wrapped, b) // then of A0's record, through B
  t.equal(wrapped.clock.get('A'), a0.get('old').version, "clock.get('A') is the source without a generation")
  t.equal(wrapped.clock.get('A', 'g1'), a1.get('new').version, "and clock.get('A', 'g1') the later life")
  t.equal(wrapped.get('old').value, 'from A0', "C took A0's record")
  t.end()
})

/** A few exchanges over a pair of fresh streams, then close them. */
async function exchange(x: Gossip, y: Gossip): Promise<void> {
  const sx = x.createStream()
  const sy = y.createStream()
  sx.pipe(sy).pipe(sx)
  await rounds([sx, sy], 4)
  sx.destroy()
  sy.destroy()
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`recovery over lossy links (10% of objects lost, seed ${seed}): the claim of nothing resets what the peer believes we hold, and only an intact chain ends it`, async (t) => {
    const { seededRandom } = await import('../../lib/core/random.ts')
    const random = seededRandom(seed)
    const link = (x: Gossip, y: Gossip) => lossyLink(x, y, random, 0.1)
    let time = 10_000
    const now = () => time
    const a = node('A', { now, lossy: true, random: seededRandom(seed + 1) })
    const b = node('B', { now, lossy: true, random: seededRandom(seed + 2) })
    let l = link(a, b)
    for (let i = 0; i < 40; i++) a.set('k' + i, i)
    for (let i = 0; i < 60 && b.size < 40; i++) await rounds(l, 1, 6)
    t.equal(b.size, 40, 'B holds 40 keys of A')
    for (const s of l) (s as { destroy(): void }).destroy()
    a.destroy()

    time = 15_000
    const a2 = node('A', { now, lossy: true, random: seededRandom(seed + 3) })
    a2.set('fresh', 1)
    l = link(a2, b)
    let n = 0
    for (; n < 30 && a2.size < 41; n++) {
      time += 100 // well under the fingerprint checks' minute
      await rounds(l, 1, 6)
    }
    t.equal(a2.size, 41, `A2 got its 40 earlier writes back over the lossy link (${n} rounds)`)
    t.end()
  })
}

test("on a lossy link, a peer's claim of nothing of another source does not make the node resend that source's history", async (t) => {
  const { seededRandom } = await import('../../lib/core/random.ts')
  let time = 10_000
  const n = node('N', { now: () => time, mtu: 10, lossy: true, random: seededRandom(1) })
  for (let i = 0; i < 500; i++) {
    n.set('k' + i, i)
    time += 1
  }
  const top = n.clock.get('N')
  const h = n.createStream({ peer: { id: 'H' } })
  let updates = 0
  let received = 0
  h.on('data', (o: { digest?: boolean; done?: boolean; final?: boolean; reply?: boolean }) => {
    received++
    if (o.digest !== true) updates++
    else if (o.done === true && o.reply === true && o.final !== true) h.write({ digest: true, done: true, final: true, ack: received })
  })
  const request = (v: number) => {
    h.write({ digest: true, source_id: 'N', version: v })
    h.write({ digest: true, done: true, ack: received })
  }
  request(top) // H claims to hold all of N
  await until(() => received > 0)
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  const before = updates
  for (let i = 0; i < 5; i++) {
    request(0) // then, again and again, to hold nothing of N
    for (let j = 0; j < 50; j++) await new Promise((r) => setImmediate(r))
  }
  t.ok(updates - before <= 5 * 10, `five such requests got at most an MTU each (${updates - before} updates), not N's 500 records each time`)
  t.end()
})
