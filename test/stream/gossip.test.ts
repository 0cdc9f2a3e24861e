/** The seed README's behaviours, one test each. */
import test from 'tape'
import { Duplex } from 'readable-stream'
import { inspect } from 'node:util'
import { Gossip, base, seededRandom, type Rec } from '../../lib/index.ts'
import { config, connect, node, quiet, until, sameState } from '../support/streams.ts'

function readAll(s: Duplex): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (let o = s.read(); o !== null; o = s.read()) out.push(o)
  return out
}

test('Gossip is an object-mode Duplex whose highWaterMark is config.mtu', (t) => {
  const g = node('A', { mtu: 7 })
  t.ok(g instanceof Duplex, 'a Duplex')
  t.ok(g.readableObjectMode && g.writableObjectMode, 'object mode both ways')
  t.equal(g.readableHighWaterMark, 7, 'readable highWaterMark = mtu')
  t.equal(g.writableHighWaterMark, 7, 'writable highWaterMark = mtu')
  t.end()
})

test('config.max_history defaults to 10 when falsy', (t) => {
  for (const falsy of [0, undefined, null]) {
    const g = node('A', { max_history: falsy as any })
    for (let i = 0; i < 15; i++) g.set('k' + i, i)
    t.equal(g.history.memory.length, 10, `max_history ${falsy} -> 10`)
  }
  t.end()
})

test('config.resolve is required: a missing one is a clear error naming the built-ins', (t) => {
  const c = base.config
  t.throws(() => new Gossip('A', c), /resolve is required.*lww_vs_current_vers.*lww_vs_clock.*strictly_order_values|resolve is required.*strictly_order_values/, 'names the choices')
  t.throws(() => new Gossip('A', undefined as any), /config is required/, 'no config at all')
  t.end()
})

test('config.resolve is called for every incoming update', async (t) => {
  const seen: string[] = []
  const b = new Gossip('B', {
    ...config(),
    resolve: (g, u) => {
      seen.push(`${u.key}@${u.version}`)
      return base.resolution.lww_vs_current_vers(g, u)
    },
  })
  b.write({ key: 'x', value: 1, source_id: 'A', version: 5 })
  b.write({ key: 'x', value: 0, source_id: 'A', version: 3 }) // stale
  b.write({ key: 'y', value: 2, source_id: 'C', version: 9 })
  await quiet()
  t.deepEqual(seen, ['x@5', 'x@3', 'y@9'], 'called once per update, stale ones included')
  t.equal(b.get('x').value, 1, 'its answer decides: the stale update was refused')
  t.end()
})

test('config.sort orders history.memory', (t) => {
  const byKeyDesc = (a: Rec, b: Rec) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0)
  const g = node('A', { sort: byKeyDesc, max_history: 50 })
  for (const k of ['m', 'c', 'x', 'a']) g.set(k, k)
  t.deepEqual(g.history.memory.map((u) => u.key), ['x', 'm', 'c', 'a'], 'memory sorted by the given sort')
  t.equal(g.sort, byKeyDesc, 'exposed as gossip.sort')
  t.end()
})

test('a caller-supplied state object is the key/value store, pre-populated or not', async (t) => {
  const stored: Record<string, any> = { greeting: { value: 'hi', version: 4, source_id: 'Z' } }
  const g = node('A', {}, stored)
  t.equal(g.state, stored, 'gossip.state is the caller\'s object')
  t.equal(g.get('greeting').value, 'hi', 'pre-populated entries are held')
  g.set('name', 'Doctor')
  t.equal(stored.name.value, 'Doctor', 'writes land in the caller\'s object')
  t.equal(stored.name.version, 5, 'above the loaded versions')
  const peer = node('B')
  connect(g, peer)
  peer.gossip()
  await until(() => peer.get('greeting').value === 'hi' && peer.get('name').value === 'Doctor')
  t.pass('a peer receives the pre-populated entries')
  t.end()
})

test('a digest is answered with every update of that source above its version', async (t) => {
  const g = node('A', { mtu: 50 })
  for (let i = 1; i <= 5; i++) g.set('k' + i, i)
  g.write({ digest: true, source_id: 'A', version: 2 })
  g.write({ digest: true, source_id: 'A', version: 2, done: true })
  await quiet()
  const out = readAll(g).filter((o) => o.digest !== true)
  t.deepEqual(out.map((u) => u.version), [3, 4, 5], 'versions above 2, ascending')
  t.deepEqual(out[0], { key: 'k3', value: 3, source_id: 'A', version: 3 }, 'the seed\'s update shape')
  t.end()
})

test('a digest asking with a negative version (the seed\'s tests send -10) is answered with everything of that source', async (t) => {
  const g = node('#A', { mtu: 50 })
  for (let i = 1; i <= 4; i++) g.set('k' + i, i)
  const invalid: unknown[] = []
  g.on('invalid', (r) => invalid.push(r))
  g.write({ source_id: '#A', version: -10, digest: true, done: true })
  await quiet()
  const out = readAll(g).filter((o) => o.digest !== true)
  t.deepEqual(out.map((u) => u.key), ['k1', 'k2', 'k3', 'k4'], 'every update, ascending')
  t.deepEqual(invalid, [], 'the digest was not refused')
  t.end()
})

test('an update with a numeric key is held under its string, as set() holds it', async (t) => {
  const g = node('A')
  g.write({ key: 1, value: 'one', source_id: 'peer', version: 5 })
  g.set(2, 'two')
  await quiet()
  t.equal(g.get(1).value, 'one', 'get(1)')
  t.equal(g.get('1').value, 'one', "get('1')")
  t.deepEqual(g.keys().sort(), ['1', '2'], 'both keys are strings')
  t.end()
})

test('done: sources the digest did not mention are sent in full', async (t) => {
  const g = node('A', { mtu: 50 })
  g.write({ key: 'p', value: 1, source_id: 'peer', version: 24 })
  g.write({ key: 'q', value: 2, source_id: 'peer', version: 25 })
  g.set('mine', 0)
  await quiet()
  g.write({ digest: true, source_id: 'A', version: g.version, done: true })
  await quiet()
  const out = readAll(g).filter((o) => o.digest !== true)
  t.deepEqual(out.map((u) => `${u.source_id}:${u.key}`), ['peer:p', 'peer:q'], 'all of the unmentioned source, nothing of A')
  t.end()
})

test('an update written to the stream is applied to state', async (t) => {
  const g = node('A')
  g.write({ key: 'age', value: 100, source_id: '#B', version: 10 })
  await quiet()
  t.deepEqual(g.state.age, { value: 100, version: 10 }, 'state[key] -> {value, version}')
  t.equal(g.state.age.source_id, '#B', 'source_id available (not enumerable)')
  t.end()
})

test('set stamps the next version and this node\'s source_id', async (t) => {
  const g = node('#A')
  const peer = node('#B')
  const updates: Rec[] = []
  peer.history.on('update', (u) => updates.push(u))
  connect(g, peer)
  t.equal(g.set('greeting', 'hello'), true, 'true while there is room')
  g.set('name', 'Doctor')
  g.gossip()
  await until(() => updates.length === 2)
  t.deepEqual(updates.map((u) => [u.key, u.value, u.source_id, u.version]), [
    ['greeting', 'hello', '#A', 1],
    ['name', 'Doctor', '#A', 2],
  ], 'versions 1, 2 from #A')
  t.end()
})

test('set returns false when a peer is not reading, and drain follows once it does', async (t) => {
  const g = node('A', { mtu: 2 })
  const s = g.createStream()
  s.write({ digest: true, done: true }) // the peer asked once: pushes may flow
  await quiet()
  readAll(s)
  let results: boolean[] = []
  for (let i = 0; i < 5; i++) results.push(g.set('k' + i, i))
  t.deepEqual(results.slice(0, 2), [true, true], 'room for mtu pushes')
  t.equal(results[4], false, 'then false: wait for drain')
  let drained = 0
  g.on('drain', () => drained++)
  await quiet(20)
  t.equal(drained, 0, 'no drain while the reader does not read')
  const got = readAll(s)
  await until(() => drained > 0, 1000, 'drain')
  t.equal(drained, 1, 'drain emitted once, after the reader caught up')
  t.ok(got.length >= 2, `the reader took the ${got.length} objects waiting`)
  t.equal(g.set('after', 1), true, 'and set has room again')
  t.end()
})

test('collect() forgets another source\'s tombstone only after tombstoneGrace, and reports the drop', async (t) => {
  let now = 1_000
  const g = node('A', { now: () => now, tombstoneGrace: 5_000 })
  const drops: [string, string][] = []
  g.on('drop', (rec: Rec, reason: string) => drops.push([rec.key, reason]))
  const s = g.createStream()
  s.write({ key: 'gone', value: 1, source_id: 'B', version: 10 })
  s.write({ key: 'gone', value: null, source_id: 'B', version: 11, deleted: true })
  await quiet()
  g.del('mine')
  t.equal(g.record('gone')?.deleted, true, 'B\'s tombstone applied at t = 1 s')
  t.equal(g.collect(), 0, 'collect() at once: nothing forgotten')
  now = 5_999
  t.equal(g.collect(), 0, 'collect() 1 ms before the grace period ends: nothing forgotten')
  t.equal(g.collect(5_999), 0, 'collect(now) likewise')
  t.equal(g.record('gone')?.deleted, true, 'the tombstone is still held')
  t.deepEqual(drops, [], 'no drop reported yet')
  now = 6_000
  t.equal(g.collect(), 1, 'collect() once tombstoneGrace has passed: forgotten')
  t.equal(g.record('gone'), undefined, 'the key is gone from state')
  t.deepEqual(drops, [['gone', 'collected']], 'reported as a drop')
  t.equal(g.stats.collected, 1, 'counted')
  t.equal(g.record('mine')?.deleted, true, 'the node keeps its own tombstone')
  t.end()
})

test('collect() with the default grace (24 h) keeps a tombstone applied a second ago', async (t) => {
  let now = 1_000_000
  const g = node('A', { now: () => now })
  g.createStream().write({ key: 'gone', value: null, source_id: 'B', version: 11, deleted: true })
  await quiet()
  now += 1_000
  t.equal(g.collect(), 0, 'nothing forgotten after 1 s')
  now += 24 * 3_600_000 - 1_001
  t.equal(g.collect(), 0, 'nor 1 ms before 24 h')
  t.equal(g.record('gone')?.deleted, true, 'the tombstone is held')
  now += 1
  t.equal(g.collect(), 1, 'forgotten at 24 h')
  t.end()
})

test('get: {version: -Infinity, value: null} when absent, {version, value} when present', (t) => {
  const g = node('A')
  t.deepEqual(g.get('nothing'), { version: -Infinity, value: null }, 'absent')
  g.set('x', [1, 2])
  t.deepEqual(g.get('x'), { version: 1, value: [1, 2] }, 'present')
  t.end()
})

test('gossip() queues digest objects, in random order, ending with done', async (t) => {
  const orders = new Set<string>()
  for (let seed = 1; seed <= 8; seed++) {
    const g = node('A', { random: seededRandom(seed), mtu: 100 })
    for (const src of ['p', 'q', 'r', 's']) g.write({ key: src, value: 1, source_id: src, version: 3 })
    await quiet()
    g.gossip()
    const out = readAll(g)
    const last = out[out.length - 1]
    t.deepEqual(last, { digest: true, done: true }, `seed ${seed}: ends with done`)
    const entries = out.slice(0, -1)
    t.ok(entries.every((d) => d.digest === true && typeof d.source_id === 'string' && typeof d.version === 'number'), 'digest entries')
    orders.add(entries.map((d) => d.source_id).join(','))
  }
  t.ok(orders.size > 1, `random order (${orders.size} distinct orders over 8 seeds)`)
  t.end()
})

test('version is the highest version seen, local or remote', async (t) => {
  const g = node('A')
  t.equal(g.version, 0, 'nothing seen')
  g.set('a', 1)
  t.equal(g.version, 1, 'local')
  g.write({ key: 'b', value: 1, source_id: 'B', version: 30 })
  await quiet()
  t.equal(g.version, 30, 'remote')
  g.set('c', 1)
  t.equal(g.get('c').version, 31, 'the next local write goes above')
  t.end()
})

test('history emits update for every applied update, local and remote', async (t) => {
  const g = node('A')
  const seen: string[] = []
  g.history.on('update', (u) => seen.push(`${u.source_id}:${u.key}`))
  g.set('x', 1)
  g.write({ key: 'y', value: 1, source_id: 'B', version: 2 })
  g.write({ key: 'y', value: 0, source_id: 'B', version: 1 }) // stale: not applied
  await quiet()
  t.deepEqual(seen, ['A:x', 'B:y'], 'applied updates only')
  t.end()
})

test('history emits compaction(memory, history) before dropping old entries', (t) => {
  const g = node('A', { max_history: 3 })
  let seen: { len: number; same: boolean } | null = null
  g.history.on('compaction', (memory, h) => {
    seen = { len: memory.length, same: h === g.history && memory === g.history.memory }
  })
  for (let i = 0; i < 3; i++) g.set('k' + i, i)
  t.equal(seen, null, 'not at max')
  g.set('k3', 3)
  t.deepEqual(seen, { len: 4, same: true }, 'at max + 1, with the memory array and the history')
  t.equal(g.history.memory.length, 3, 'then dropped back to max')
  t.end()
})

test('history.write records an update into sorted memory and emits update', (t) => {
  const g = node('A', { max_history: 10 })
  const emitted: Rec[] = []
  g.history.on('update', (u) => emitted.push(u))
  const u1 = { key: 'b', value: 1, source_id: 'X', version: 9 }
  const u2 = { key: 'a', value: 1, source_id: 'X', version: 4 }
  g.history.write(u1)
  g.history.write(u2)
  t.deepEqual(g.history.memory, [u2, u1], 'sorted by version')
  t.deepEqual(emitted, [u1, u2], 'each emitted')
  t.end()
})

test('history.news(id, version) returns that source\'s updates after version', (t) => {
  const g = node('A', { max_history: 10 })
  for (let i = 0; i < 5; i++) g.set('k' + i, i)
  t.deepEqual(g.history.news('A', 3).map((u) => u.version), [4, 5], 'after 3')
  t.deepEqual(g.history.news('B', 0), [], 'unknown source')
  t.end()
})

test('persistence through history events: a log of updates rebuilds a node', async (t) => {
  const log: string[] = []
  const a = node('A')
  a.history.on('update', (u) => log.push(JSON.stringify(u)))
  a.set('x', 1)
  a.set('y', { nested: true })
  a.set('x', 2)
  const restored = node('A2')
  for (const line of log) restored.write(JSON.parse(line))
  await quiet()
  t.deepEqual(restored.get('x'), a.get('x'), 'x replayed')
  t.deepEqual(restored.get('y'), a.get('y'), 'y replayed')
  t.end()
})

test('the README pipe: gossip -> serializer -> peer -> deserializer -> gossip converges', async (t) => {
  const a = node('A')
  const b = node('B')
  connect(a, b) // JSON serialisation both ways
  a.set('from-a', 1)
  b.set('from-b', 2)
  a.gossip()
  await until(() => sameState([a, b]) && a.get('from-b').value === 2)
  t.pass('both hold both keys')
  t.end()
})

test('base.config gives the defaults, a fresh copy each time; base.resolution has the three', (t) => {
  const c1 = base.config
  c1.resolve = base.resolution.lww_vs_clock
  c1.mtu = 99
  const c2 = base.config
  t.equal(c2.mtu, 10, 'default mtu 10, unaffected by a caller\'s change')
  t.equal(c2.max_history, 10, 'default max_history 10')
  t.equal(c2.resolve, null, 'no default resolve')
  t.equal(c2.sort, base.sort, 'default sort')
  t.deepEqual(Object.keys(base.resolution).sort(), ['lww_vs_clock', 'lww_vs_current_vers', 'strictly_order_values'], 'three resolutions')
  t.end()
})

test('the seed\'s chain: A <-> B <-> C, writes at A and B reach C', async (t) => {
  const A = node('#A')
  const B = node('#B')
  const C = node('#C')
  A.pipe(B).pipe(A)
  const toC = B.createStream()
  toC.pipe(C).pipe(toC)
  const keys = ['1', '2', '3', '4']
  keys.forEach((k, i) => (i % 2 ? A : B).set(k, 'abcd'[i]))
  A.gossip()
  B.gossip()
  C.gossip()
  await until(() => keys.every((k, i) => C.get(k).value === 'abcd'[i]))
  t.ok(sameState([A, B, C]), 'all three agree')
  t.end()
})

test('values in state are immutable: set keeps a frozen copy, and a reader cannot change a record behind its version', async (t) => {
  const a = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  const b = new Gossip('b', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  const mine = { n: 1, list: [1, 2] }
  a.set('k', mine)
  mine.n = 99
  mine.list.push(3)
  t.deepEqual(a.get('k').value, { n: 1, list: [1, 2] }, 'changing the object passed to set changes nothing held')
  t.ok(Object.isFrozen(mine) === false, 'and the caller\'s object is still its own to change')
  const held = a.get('k').value as { n: number; list: number[] }
  t.throws(() => {
    held.n = 2
  }, TypeError, 'the value get() returns is frozen')
  t.throws(() => held.list.push(4), TypeError, 'deeply')
  a.pipe(b).pipe(a)
  a.gossip()
  await until(() => b.get('k').value !== null)
  t.deepEqual(b.get('k').value, { n: 1, list: [1, 2] }, 'a peer over an object stream got the value as written')
  t.ok(Object.isFrozen(b.get('k').value), 'frozen there too')
  t.end()
})

test('the default state view reads like a plain object: own keys, Object.prototype methods, and a printable snapshot', (t) => {
  const g = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  g.set('x', 1)
  g.set('gone', 2)
  g.del('gone')
  const s = g.state as Record<string, unknown>
  t.deepEqual(Object.keys(s), ['x'], 'live keys only')
  t.equal(s.hasOwnProperty('x'), true, 'hasOwnProperty works on it')
  t.equal(s.hasOwnProperty('gone'), false, 'a deleted key is not its own')
  t.equal(String(s), '[object Object]', 'it converts to a string like any object')
  const shown = inspect(s)
  t.match(shown, /x: \{ value: 1, version: \d+ \}/, `console.log shows the keys and values: ${shown.replace(/\s+/g, ' ')}`)
  t.notOk(/gone/.test(shown), 'and not the deleted key')
  g.set('hasOwnProperty', 'a key like any other')
  t.deepEqual((s.hasOwnProperty as unknown as { value: unknown }).value, 'a key like any other', 'a key named like a method reads as the key, as on a plain object')
  t.throws(() => {
    s.x = 5
  }, /gossip\.state is read-only/, 'still read-only')
  t.end()
})

test('a destroyed node refuses writes and new streams (ERR_STREAM_DESTROYED) and still answers reads', async (t) => {
  const a = node('a')
  const b = node('b')
  a.set('k', 1)
  const s = a.createStream()
  a.destroy()
  await until(() => s.destroyed, 100, "the node's streams go with it")
  for (const [name, call] of [
    ['set', () => a.set('k', 2)],
    ['del', () => a.del('k')],
    ['createStream', () => a.createStream()],
    ['createWireStream', () => a.createWireStream()],
  ] as const) {
    try {
      call()
      t.fail(`${name} did not throw`)
    } catch (err) {
      t.equal((err as { code?: string }).code, 'ERR_STREAM_DESTROYED', `${name} throws ERR_STREAM_DESTROYED (${(err as Error).message})`)
    }
  }
  t.equal(a.get('k').value, 1, 'state is unchanged and readable')
  t.deepEqual(a.keys(), ['k'], 'keys() still answers')
  t.doesNotThrow(() => a.gossip(), 'gossip() is a no-op, as a timer may still call it')
  t.equal(b.size, 0, 'nothing reached another node')
  b.destroy()
  t.end()
})

test('a write queued by flow control is dropped when the node is destroyed: nothing is applied afterwards', async (t) => {
  let time = 1000
  const g = node('A', { now: () => time, flow: { desired: 1, initial: 1, burst: 1 } })
  const applied: string[] = []
  g.history.on('update', (u) => applied.push(u.key))
  g.set('k1', 1)
  t.equal(g.set('k2', 2), false, 'k2 waits for the allowed rate')
  t.equal(g.queued, 1, 'one write queued')
  time += 5000 // the allowance has grown
  g.desiredRate = 2 // a change of rate wakes the queue at the end of this call
  g.destroy()
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r))
  t.deepEqual(applied, ['k1'], 'k2 was never applied')
  t.equal(g.applyQueued(), 0, 'applyQueued() applies nothing on a destroyed node')
  t.equal(g.get('k2').version, -Infinity, 'k2 is absent')
  t.end()
})

test('a value no peer could receive is refused at set (limits.maxValueBytes); one just under the bound replicates over wire 1 and 2', async (t) => {
  const a = node('a')
  const limit = a.config.limits.maxValueBytes
  t.ok(limit < 1024 * 1024, `the default bound (${limit} bytes) leaves room in the default 1 MiB line for the rest of the record`)
  t.throws(() => a.set('big', 'x'.repeat(limit)), /gossip\.set\("big"\): value is \d+ bytes as (JSON|MessagePack), over limits\.maxValueBytes/, 'a value over the bound throws a RangeError')
  t.equal(a.get('big').version, -Infinity, 'and nothing was written')
  t.throws(() => a.set('wide', ['é'.repeat(limit / 2)]), RangeError, 'bytes count, not characters')
  const under = 'y'.repeat(limit - 10 - 'key'.length)
  for (const wire of [1, 2] as const) {
    const w = node('w' + wire)
    const r = node('r' + wire)
    const sw = w.createWireStream({ wire })
    const sr = r.createWireStream({ wire })
    const bad: string[] = []
    r.on('invalid', (reason: string) => bad.push(reason))
    sw.pipe(sr).pipe(sw)
    w.set('key', { v: under.slice(0, -10) })
    sw.gossip()
    await until(() => r.get('key').version !== -Infinity || bad.length > 0)
    t.equal((r.get('key').value as { v: string } | null)?.v.length, under.length - 10, `wire ${wire}: the value just under the bound arrived whole`)
    t.deepEqual(bad, [], `wire ${wire}: nothing refused on the way`)
    w.destroy()
    r.destroy()
  }
  const roomy = node('roomy', { limits: { maxValueBytes: 4 * 1024 * 1024 } })
  t.ok(roomy.set('big', 'x'.repeat(limit)), 'a node may raise the bound (with peers whose maxLineLength carries it)')
  t.end()
})
