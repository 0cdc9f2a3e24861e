import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { LogCorruptError } from '../../lib/store/errors.ts'
import { readLog } from '../../lib/store/log-reader.ts'
import { frameLines } from '../../lib/store/log-format.ts'
import { LogStore } from '../../lib/store/log-store.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { MemFs } from '../support/fault-fs.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-log-'))
const file = (dir: string) => path.join(dir, 'log.ndjson')

test('restart from the log is exact: values, versions, sources, tombstones, clocks', (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir })
  a.gossip.set('x', 1)
  a.gossip.set('y', { deep: [1, 2] })
  a.gossip.del('x')
  a.gossip.write({ key: 'z', value: 'from B', source_id: 'B', version: 5 })
  a.gossip.write({ digest: true, done: true })
  const before = [...a.gossip.records()].map((r) => JSON.stringify(r)).sort()
  const version = a.gossip.version
  a.store.close()
  const b = openDurable('A', cfg, { dir })
  t.deepEqual([...b.gossip.records()].map((r) => JSON.stringify(r)).sort(), before, 'same records, tombstone included')
  t.equal(b.gossip.get('x').version, -Infinity, 'the deleted key reads as absent')
  t.equal(b.store.generation, a.store.generation, 'same generation: the node resumes its own sequence')
  t.ok(b.gossip.version >= version, 'versions continue above what was used')
  b.gossip.set('w', 1)
  t.ok(b.gossip.get('w').version > version, 'a new write goes above the old ones')
  b.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a torn last line is ignored with a warning and cut before new appends', (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir, durability: 'write' })
  a.gossip.set('x', 1)
  a.store.close()
  fs.appendFileSync(file(dir), '{"key":"half","value":')
  const b = openDurable('A', cfg, { dir, durability: 'write' })
  t.equal(b.warnings.length, 1, 'one warning')
  t.match(b.warnings[0], /cut a torn tail of 22 byte\(s\)/, b.warnings[0])
  t.equal(b.gossip.get('x').value, 1, 'the good lines loaded')
  b.gossip.set('y', 2)
  b.store.close()
  const c = readLog(file(dir))
  t.deepEqual(c.warnings, [], 'after the next append the log is clean again')
  t.equal(c.records.get('y')?.value, 2, 'and holds the new write')
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a corrupt line in the middle is an error naming its line', (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir, durability: 'write' })
  for (let i = 0; i < 5; i++) a.gossip.set('k' + i, i)
  a.store.close()
  const lines = fs.readFileSync(file(dir), 'utf8').split('\n')
  lines[3] = '{"key": garbage'
  fs.writeFileSync(file(dir), lines.join('\n'))
  t.throws(() => openDurable('A', cfg, { dir }), (e: unknown) => e instanceof LogCorruptError && e.line === 4 && /line 4 is corrupt/.test(e.message), 'LogCorruptError at line 4')
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a log of another node is refused', (t) => {
  const dir = tmp()
  openDurable('A', cfg, { dir }).store.close()
  t.throws(() => new LogStore('B', { dir }), /belongs to node "A"/, 'names the owner')
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a fresh folder gets a new generation; the same folder keeps it', (t) => {
  const d1 = tmp()
  const d2 = tmp()
  const [s1, s2] = [new LogStore('A', { dir: d1 }), new LogStore('A', { dir: d2 })]
  const [g1, g2] = [s1.generation, s2.generation]
  t.notEqual(g1, g2, 'two fresh folders, two generations')
  s1.close()
  s2.close()
  const again = new LogStore('A', { dir: d1 })
  t.equal(again.generation, g1, 'reopening keeps it')
  again.close()
  fs.rmSync(d1, { recursive: true })
  fs.rmSync(d2, { recursive: true })
  t.end()
})

test('compaction: 100k overwrites of 1k keys leave a log within a small multiple of the live state', (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir, durability: 'none' })
  for (let i = 0; i < 100_000; i++) a.gossip.set('key-' + (i % 1000), { i, pad: 'x'.repeat(50) })
  a.store.flush()
  const size = fs.statSync(file(dir)).size
  const live = [...a.gossip.records()].reduce((n, r) => n + JSON.stringify(r).length + 1, 0)
  const uncompacted = 100_000 * (live / 1000)
  t.ok(a.store.stats.compactions > 0, `${a.store.stats.compactions} compactions ran`)
  t.ok(size <= 5 * live, `log ${size} bytes vs live state ${live} bytes (${(size / live).toFixed(1)}x; ${(uncompacted / 1e6).toFixed(1)} MB without compaction)`)
  t.notOk(fs.existsSync(path.join(dir, 'log.ndjson.tmp')), 'no temp file left')
  const before = [...a.gossip.records()].map((r) => JSON.stringify(r)).sort()
  a.store.close()
  const b = openDurable('A', cfg, { dir })
  t.deepEqual([...b.gossip.records()].map((r) => JSON.stringify(r)).sort(), before, 'a restart from the compacted log is exact')
  b.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a leftover temp file from a crash during compaction is ignored', (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir, durability: 'write' })
  a.gossip.set('x', 1)
  a.store.close()
  fs.writeFileSync(path.join(dir, 'log.ndjson.tmp'), '{"store":1,"id":"A","gen":"zzz"}\n{"key":"bogus"')
  const b = openDurable('A', cfg, { dir })
  t.equal(b.gossip.get('x').value, 1, 'the real log loaded')
  t.equal(b.gossip.get('bogus').version, -Infinity, 'the half-written compaction did not')
  t.notOk(fs.existsSync(path.join(dir, 'log.ndjson.tmp')), 'and was removed')
  b.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('collected tombstones are logged, so a restart does not bring them back; own tombstones are kept', (t) => {
  const dir = tmp()
  let now = 0
  const a = openDurable('A', { ...cfg, now: () => now, tombstoneGrace: 100 }, { dir, durability: 'write' })
  a.gossip.write({ key: 'gone', value: 1, source_id: 'B', version: 1 })
  a.gossip.write({ key: 'gone', value: null, deleted: true, source_id: 'B', version: 2 })
  a.gossip.set('mine', 1)
  a.gossip.del('mine')
  now = 1000
  t.equal(a.gossip.collect(), 1, 'collected B\'s tombstone')
  t.equal(a.gossip.record('mine')?.deleted, true, 'A keeps its own tombstone')
  // No clean close: the process stops without writing a clock snapshot; the copy is the folder as it left it.
  const crashed = tmp()
  fs.cpSync(dir, crashed, { recursive: true })
  const b = openDurable('A', cfg, { dir: crashed })
  t.equal(b.gossip.record('gone'), undefined, 'the collected tombstone stays gone')
  t.ok(b.gossip.sources().some((s) => s.id === 'B' && s.gc === 2), 'and the gc floor was restored')
  t.equal(b.gossip.record('mine')?.deleted, true, 'the own tombstone is still there')
  b.store.close()
  a.store.close()
  fs.rmSync(dir, { recursive: true })
  fs.rmSync(crashed, { recursive: true })
  t.end()
})

test('compaction stays amortised with many sources and few keys: the clock snapshot counts as live state', (t) => {
  const mem = new MemFs()
  const timers = new FakeTimers()
  const S = 3000
  const a = openDurable('A', cfg, { dir: '/data', fs: mem, timers, durability: 'batch', minCompactBytes: 16 * 1024 })
  const now = Date.now() * 1000
  // S peers each bump one shared key: one live record, S sources in every clock snapshot.
  for (let i = 0; i < S; i++) {
    a.gossip.write({ key: 'shared', value: i, source_id: 'client-' + i, version: now - (S - i) * 10 })
    if (i % 100 === 99) timers.advance(1000)
  }
  t.equal(a.gossip.sources().length, S + 1, `${S} peer sources (and A)`)
  const peers = a.store.stats.compactions
  t.ok(peers <= 20, `${S} peer updates rewrote the log ${peers} times (each rewrite waits for 3 times its size appended)`)
  for (let i = 0; i < 200; i++) a.gossip.set('own' + (i % 5), i)
  timers.advance(1000)
  const local = a.store.stats.compactions - peers
  t.ok(local <= 1, `200 local writes then rewrote it ${local} times`)
  const held = JSON.stringify([...a.gossip.records()].sort((x, y) => (x.key < y.key ? -1 : 1)))
  a.store.close()
  const b = openDurable('A', cfg, { dir: '/data', fs: mem.crashCopy(), timers: new FakeTimers() })
  t.equal(JSON.stringify([...b.gossip.records()].sort((x, y) => (x.key < y.key ? -1 : 1))), held, 'a restart loads the same state')
  t.equal(b.gossip.sources().length, S + 1, 'and every source')
  b.store.close()
  t.end()
})

test('a log written before collected tombstones were saved (no floor in its clock lines): its highest gc floor stands in, and is saved from then on', (t) => {
  const dir = tmp()
  const payloads = [
    JSON.stringify({ store: 2, id: 'A', gen: 'g1', file: 'f1' }),
    JSON.stringify({ key: 'live', value: 1, source_id: 'B', version: 50 }),
    JSON.stringify({ drop: 'gone', source_id: 'B', version: 80 }),
    JSON.stringify({ clock: [['A', 'g1', 0, 0], ['B', null, 100, 80]], version: 100 }),
  ]
  fs.writeFileSync(file(dir), Buffer.from(frameLines(payloads)))
  const a = openDurable('A', cfg, { dir })
  t.equal(a.gossip.forgotten().floor, 80, 'the highest gc floor is the floor (which keys went before is not known)')
  a.store.compact()
  a.store.close()
  const clock = readLog(file(dir)).sources
  t.ok(clock.some((s) => s.id === 'B' && s.gc === 80), 'the rewritten log keeps the gc floor')
  t.match(fs.readFileSync(file(dir), 'utf8'), /"floor":80\}/, 'and now saves the floor')
  const b = openDurable('A', cfg, { dir })
  t.equal(b.gossip.forgotten().floor, 80, 'which the next life restores')
  b.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a log that is mostly remembered tombstones is not rewritten again on the first write after a restart', (t) => {
  const mem = new MemFs()
  let now = 1_000_000
  const opts = { ...cfg, now: () => now, tombstoneGrace: 100 }
  const a = openDurable('A', opts, { dir: '/data', fs: mem, timers: new FakeTimers(), minCompactBytes: 16 * 1024 })
  const v = now * 1000
  const N = 3000
  for (let i = 0; i < N; i++) a.gossip.write({ key: 'gone' + i, value: null, deleted: true, source_id: 'B', version: v - N + i })
  now += 1000
  t.equal(a.gossip.collect(), N, `${N} tombstones forgotten`)
  t.ok(a.store.compact(), 'rewritten: the log is now their drop lines')
  a.store.close()
  const b = openDurable('A', opts, { dir: '/data', fs: mem, timers: new FakeTimers(), minCompactBytes: 16 * 1024 })
  t.equal(b.gossip.forgotten().count, N, `all ${N} remembered after the restart`)
  const before = b.store.stats.compactions
  for (let i = 0; i < 10; i++) b.gossip.set('own' + i, i)
  t.equal(b.store.stats.compactions - before, 0, '10 writes after the restart rewrote nothing')
  b.store.close()
  t.end()
})

test('a trickle of changes on a node of many sources writes clock snapshots less often as they grow', (t) => {
  const dir = tmp()
  const timers = new FakeTimers()
  const a = openDurable('A', cfg, { dir, timers, durability: 'batch', minCompactBytes: Infinity })
  const now = Date.now() * 1000
  const S = 6000 // a clock line of about 230 KB
  for (let i = 0; i < S; i++) a.gossip.write({ key: 'k' + i, value: i, source_id: 'writer-' + i, version: now - S + i })
  timers.advance(2000)
  a.gossip.set('first', 1)
  timers.advance(100)
  const count = () => fs.readFileSync(file(dir), 'utf8').split('\n').filter((l) => l.includes('"clock":[')).length
  const before = count()
  for (let s = 0; s < 30; s++) {
    timers.advance(1000)
    a.gossip.set('trickle', s) // one change a second
  }
  timers.advance(100)
  const snapshots = count() - before
  t.ok(snapshots >= 3 && snapshots <= 15, `30 changes a second apart wrote ${snapshots} snapshots of ${S} sources (one a second of a small clock)`)
  a.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})
