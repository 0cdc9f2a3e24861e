/**
 * Regressions for the defects of the earlier libraries (design.md section 2),
 * each reproduced on the original code.
 */
import test from 'tape'
import { PassThrough } from 'readable-stream'
import { Gossip, base, type Rec } from '../../lib/index.ts'
import { config, connect, node, quiet, sameState, turn, until } from '../support/streams.ts'

test('a late joiner with max_history 2 receives all 25 keys', async (t) => {
  const a = node('A', { max_history: 2 })
  for (let i = 0; i < 25; i++) a.set('k' + i, i)
  const b = node('B', { max_history: 2 })
  connect(a, b)
  b.gossip()
  await until(() => [...b.keys()].length === 25)
  t.equal([...b.keys()].length, 25, 'all 25, though history holds 2')
  t.ok(sameState([a, b]), 'same state')
  t.end()
})

test('a stale update is refused by resolve', async (t) => {
  const g = node('A')
  g.write({ key: 'x', value: 'new', source_id: 'B', version: 9 })
  g.write({ key: 'x', value: 'old', source_id: 'C', version: 4 })
  await quiet()
  t.equal(g.get('x').value, 'new', 'the newer value stays')
  t.equal(g.stats.rejected, 1, 'the stale one was refused')
  t.end()
})

test('two instances fed interleaved digests do not disturb each other', async (t) => {
  const one = node('one', { mtu: 100 })
  const two = node('two', { mtu: 100 })
  for (let i = 1; i <= 4; i++) {
    one.set('a' + i, i)
    two.set('b' + i, i)
  }
  one.write({ digest: true, source_id: 'one', version: 3 })
  two.write({ digest: true, source_id: 'two', version: 1 })
  one.write({ digest: true, done: true })
  two.write({ digest: true, done: true })
  await quiet()
  const read = (g: Gossip) => {
    const out: Record<string, unknown>[] = []
    for (let o = g.read(); o !== null; o = g.read()) if (o.digest !== true) out.push(o)
    return out.map((u) => u.version)
  }
  t.deepEqual(read(one), [4], 'one answers its own digest only')
  t.deepEqual(read(two), [2, 3, 4], 'two answers its own digest only')
  t.end()
})

test('__proto__, constructor and prototype keys from a peer neither throw nor pollute', async (t) => {
  const plainState: Record<string, unknown> = {}
  for (const g of [node('A'), node('B', {}, plainState)]) {
    let threw = false
    g.on('error', () => (threw = true))
    for (const key of ['__proto__', 'constructor', 'prototype', 'toString']) {
      g.write({ key, value: { polluted: true }, source_id: 'evil', version: 3 })
    }
    g.write(JSON.parse('{"key":"x","value":{"__proto__":{"polluted":true}},"source_id":"evil","version":4}'))
    await quiet()
    t.notOk(threw, `${g.id}: no error`)
    t.deepEqual(g.get('__proto__').value, { polluted: true }, `${g.id}: __proto__ is an ordinary key`)
    t.deepEqual(g.get('constructor').value, { polluted: true }, `${g.id}: constructor is an ordinary key`)
    t.equal(({} as Record<string, unknown>).polluted, undefined, `${g.id}: Object.prototype untouched`)
    t.equal(typeof ({} as object).toString, 'function', `${g.id}: toString intact`)
  }
  t.equal(Object.getPrototypeOf(plainState), Object.prototype, 'caller state keeps its prototype')
  t.end()
})

test('equal-version writes of one key on two nodes converge to the same winner', async (t) => {
  const a = node('A')
  const b = node('B')
  a.set('k', 'from A')
  b.set('k', 'from B')
  t.equal(a.get('k').version, b.get('k').version, 'same version on both')
  connect(a, b)
  a.gossip()
  await until(() => a.get('k').value === b.get('k').value)
  t.equal(a.get('k').value, 'from B', 'the higher source_id wins on both')
  t.end()
})

test('a paused reader with mtu 1 loses nothing', async (t) => {
  const a = node('A', { mtu: 1 })
  const b = node('B', { mtu: 1 })
  const aToB = new PassThrough({ objectMode: true, highWaterMark: 1 })
  a.pipe(aToB)
  b.pipe(a)
  for (let i = 0; i < 40; i++) a.set('k' + i, i)
  b.gossip()
  await quiet(20)
  // Nobody reads A's output: A must hold its updates back, not queue all 40.
  const queued = a.readableLength + aToB.writableLength + aToB.readableLength
  t.ok(queued < 10, `${queued} objects queued towards B while nobody reads, not the 40 updates`)
  aToB.pipe(b)
  await until(() => [...b.keys()].length === 40, 20_000)
  t.ok(sameState([a, b]), 'all 40 arrived once the reader started')
  t.end()
})

test('updates beyond mtu are deferred in resumable order, never dropped', async (t) => {
  const a = node('A', { mtu: 3 })
  for (let i = 0; i < 50; i++) a.set('k' + i, i)
  const b = node('B', { mtu: 3 })
  const seen: number[] = []
  b.history.on('update', (u) => seen.push(u.version))
  connect(a, b)
  b.gossip()
  await until(() => seen.length === 50)
  t.deepEqual(seen, seen.slice().sort((x, y) => x - y), 'one source arrives in ascending order across exchanges')
  t.end()
})

test('no echo: a live update is not sent back to its writer', async (t) => {
  const a = node('A')
  const b = node('B')
  const backToA: Record<string, unknown>[] = []
  const bOut = new PassThrough({ objectMode: true })
  bOut.on('data', (o) => backToA.push(o))
  a.pipe(b)
  b.pipe(bOut).pipe(a)
  a.gossip()
  await quiet(10)
  backToA.length = 0
  a.set('live', 1)
  await until(() => b.get('live').value === 1)
  await quiet(10)
  t.deepEqual(backToA.filter((o) => o.digest !== true), [], 'nothing but digests went back')
  t.end()
})

test('a local set is never dropped when the node has seen far-ahead versions', async (t) => {
  const c = node('C')
  c.write({ key: 'x', value: 'remote', source_id: 'Z', version: 1_000_000 })
  await quiet()
  c.set('x', 'local')
  t.equal(c.get('x').value, 'local', 'applied')
  t.ok(c.get('x').version > 1_000_000, 'with a version above what was seen')
  t.end()
})

test('config.resolve is consulted: one that refuses everything keeps state empty', async (t) => {
  const g = new Gossip('A', { ...config(), resolve: () => false })
  const refused: Rec[] = []
  g.on('rejected', (u) => refused.push(u))
  g.set('x', 1)
  g.write({ key: 'y', value: 1, source_id: 'B', version: 2 })
  await quiet()
  t.deepEqual([...g.keys()], [], 'nothing applied')
  t.equal(refused.length, 1, 'the local refusal is reported')
  t.end()
})

test('a ring of 600 nodes converges without overflowing the stack', async (t) => {
  const n = 600
  const nodes = Array.from({ length: n }, (_, i) => node('r' + i, { mtu: 50 }))
  for (let i = 0; i < n; i++) {
    const s = nodes[i].createStream()
    const u = nodes[(i + 1) % n].createStream()
    s.pipe(u).pipe(s)
  }
  nodes[0].set('hello', 'ring')
  let rounds = 0
  while (rounds < n && !nodes.every((x) => x.get('hello').value === 'ring')) {
    rounds++
    for (const x of nodes) x.gossip()
    await quiet(3)
  }
  t.ok(nodes.every((x) => x.get('hello').value === 'ring'), `every node has the value after ${rounds} rounds`)
  t.end()
})

test('base.resolution.lww_vs_clock works over streams', async (t) => {
  const g = new Gossip('A', { ...base.config, resolve: base.resolution.lww_vs_clock })
  g.write({ key: 'x', value: 1, source_id: 'B', version: 5 })
  g.write({ key: 'x', value: 0, source_id: 'B', version: 4 })
  await quiet()
  t.equal(g.get('x').value, 1, 'the newer applied, the older refused')
  t.end()
})

test('two peer streams piped both ways do not wait on each other when both outputs fill (writes after piping)', async (t) => {
  const a = node('a')
  const b = node('b')
  const sa = a.createStream()
  const sb = b.createStream()
  sa.pipe(sb).pipe(sa)
  await turn()
  for (let i = 0; i < 50; i++) a.set(`a${i}`, i)
  for (let i = 0; i < 50; i++) b.set(`b${i}`, i)
  sa.gossip()
  await until(() => a.size === 100 && b.size === 100, 2000, 'both hold every key')
  t.pass('both sides got all 100 keys (before: each held its write callback until the other read, and both stopped at 60 and 51)')
  t.end()
})

for (const how of ['the node itself', 'createStream()'] as const) {
  test(`object streams piped directly (${how}): a response arriving inside the digest's own sends still moves the clock, and a new link resends nothing`, async (t) => {
    const now = () => 1_796_000_000_000 // versions as a real clock makes them (the first is not 1)
    const a = node('A', { mtu: 1000, now })
    const b = node('B', { mtu: 1000, now })
    const d = node('D', { mtu: 1000, now })
    const pipe = (x: Gossip, y: Gossip, nodes = false) => {
      if (nodes) return void x.pipe(y).pipe(x) // the README's two peers in one process
      const sx = x.createStream()
      const sy = y.createStream()
      sx.pipe(sy).pipe(sx)
      return () => {
        sx.destroy()
        sy.destroy()
      }
    }
    const ab = pipe(a, b, how === 'the node itself')
    pipe(b, d)
    for (let i = 0; i < 500; i++) d.set('d' + i, i)
    for (let r = 0; r < 6; r++) {
      for (const g of [a, b, d]) g.gossip()
      await quiet(5)
    }
    t.equal([...a.keys()].length, 500, 'A holds all 500 keys of D (through B)')
    t.equal(a.clock.get('D'), d.version, "and A's clock of D covers them (the last is D's version)")
    if (how === 'createStream()' && typeof ab === 'function') {
      ab()
      pipe(a, b)
      const before = a.stats.redundant
      for (let r = 0; r < 3; r++) {
        for (const g of [a, b, d]) g.gossip()
        await quiet(5)
      }
      t.equal(a.stats.redundant - before, 0, 'a new link to B sends A none of the records it held')
    }
    t.end()
  })
}
