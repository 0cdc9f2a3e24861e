/** Restarts with and without data, over streams. */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base, replicaOf, type Gossip, type PeerStream } from '../../lib/index.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { node, quiet, sameState, until } from '../support/streams.ts'

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-restart-'))

function join(a: Gossip, b: Gossip): { ab: PeerStream; ba: PeerStream } {
  const ab = a.createStream()
  const ba = b.createStream()
  ab.pipe(ba).pipe(ab)
  return { ab, ba }
}

test('a node restarted with its data sends and receives only what changed while it was down', async (t) => {
  const dir = tmp()
  let now = 1_000_000
  const clock = () => now++
  const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 500, clock }
  const a1 = openDurable('A', cfg, { dir })
  const b = node('B', { mtu: 500, clock })
  for (let i = 0; i < 300; i++) (i % 2 ? a1.gossip : b).set('k' + i, i)
  const first = join(a1.gossip, b)
  first.ab.gossip()
  await until(() => sameState([a1.gossip, b]) && b.size === 300)
  first.ab.destroy()
  first.ba.destroy()
  a1.store.close()

  for (let i = 0; i < 10; i++) b.set('while-down-' + i, i)
  const a2 = openDurable('A', cfg, { dir })
  t.equal(a2.loaded, 300, 'A reloaded its 300 records')
  a2.gossip.set('after-restart', 1)
  const again = join(a2.gossip, b)
  again.ab.gossip()
  await until(() => sameState([a2.gossip, b]) && b.size === 311)
  await quiet(10)
  t.equal(again.ba.stats.updatesSent, 10, 'B sent exactly the 10 updates made while A was down')
  t.equal(again.ab.stats.updatesSent + again.ab.stats.pushesSent, 1, 'A sent only its one new write')
  a2.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a node restarted without its data: its new writes win and reach every node', async (t) => {
  let now = 5_000_000
  const clock = () => (now += 10)
  const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100, clock }
  const dirA = tmp()
  const a1 = openDurable('A', cfg, { dir: dirA })
  const b = node('B', { mtu: 100, clock })
  const c = node('C', { mtu: 100, clock })
  a1.gossip.set('shared', 'old from A')
  for (let i = 0; i < 20; i++) a1.gossip.set('a' + i, i)
  const l1 = join(a1.gossip, b)
  const l2 = join(b, c)
  l1.ab.gossip()
  l2.ab.gossip()
  await until(() => sameState([a1.gossip, b, c]) && c.get('shared').value === 'old from A')
  for (const s of [l1.ab, l1.ba]) s.destroy()
  a1.store.close()

  // A's disk is lost: it starts over in an empty folder, under the same id.
  fs.rmSync(dirA, { recursive: true })
  const a2 = openDurable('A', cfg, { dir: tmp() })
  t.notEqual(a2.store.generation, a1.store.generation, 'a new generation for the new life')
  a2.gossip.set('shared', 'new from A') // before it has heard from anyone
  a2.gossip.set('a0', 'rewritten')
  a2.gossip.set('fresh', true)
  t.equal(a2.gossip.get('shared').version > b.get('shared').version, true, 'its new version is above its earlier life\'s')
  const l3 = join(a2.gossip, c)
  const done = () => sameState([a2.gossip, b, c]) && b.get('fresh').value === true
  for (let round = 0; round < 20 && !done(); round++) {
    l3.ab.gossip()
    l2.ab.gossip()
    await quiet(10)
  }
  t.ok(done(), 'all three converged')
  for (const g of [a2.gossip, b, c]) {
    t.equal(g.get('shared').value, 'new from A', `${g.id}: the new write won`)
    t.equal(g.get('a0').value, 'rewritten', `${g.id}: the rewrite won`)
    t.equal(g.get('a5').value, 5, `${g.id}: the earlier life's other keys are kept`)
  }
  t.equal(a2.gossip.get('a5').value, 5, 'A got its earlier life\'s writes back from the others')
  a2.store.close()
  t.end()
})

test('a node restarted after collecting a tombstone takes a cut-off node\'s older write of another key, and still refuses the record the tombstone beat', async (t) => {
  const dir = tmp()
  let now = 10_000_000 // ms
  let tick = 0
  const clock = () => now * 1000 + ++tick
  const opts = { resolve: base.resolution.lww_vs_current_vers, clock, now: () => now, tombstoneGrace: 1_000 }
  const cfg = { ...base.config, ...opts }
  const b = node('B', opts)
  const c = node('C', opts)
  const s = node('S', opts)
  b.set('gone', 'first')
  const bc = join(b, c)
  bc.ab.gossip()
  await until(() => c.get('gone').value === 'first')
  bc.ab.destroy()
  bc.ba.destroy()
  // S writes while cut off from everyone; C holds B's first write and is cut off before the delete.
  now += 10
  s.set('k', 'written while cut off')
  now += 10
  b.del('gone')
  t.ok(b.record('gone')!.version > s.get('k').version, 'the delete is newer than the cut-off write')
  const a1 = openDurable('A', cfg, { dir })
  const ab = join(a1.gossip, b)
  ab.ab.gossip()
  await until(() => a1.gossip.record('gone')?.deleted === true && a1.gossip.sources().some((x) => x.id === 'B' && x.clock >= b.record('gone')!.version))
  ab.ab.destroy()
  ab.ba.destroy()
  now += 2_000
  t.equal(a1.gossip.collect(), 1, 'A forgot B\'s tombstone after its grace period')
  a1.store.compact() // the remembered tombstone must survive a rewrite of the log too
  a1.store.close()

  const a2 = openDurable('A', cfg, { dir })
  t.deepEqual([...a2.gossip.forgotten().tombstones].map((x) => x.key), ['gone'], 'A remembers which key it forgot')
  t.equal(a2.gossip.forgotten().floor, 0, 'and no floor stands in for keys it does not remember')
  const as = join(a2.gossip, s)
  const ac = join(a2.gossip, c)
  // S is behind A's gc floor of B: it holds its records back and offers them
  // only in a full send, once fingerprints have differed for a verify interval.
  for (let round = 0; round < 4; round++) {
    now += 61_000
    as.ab.gossip()
    ac.ab.gossip()
    await quiet(20)
  }
  t.equal(a2.gossip.get('k').value, 'written while cut off', 'the cut-off write older than the forgotten tombstone reached A')
  t.equal(s.get('k').value, 'written while cut off', 'and stays at S')
  t.equal(a2.gossip.record('gone'), undefined, 'the record the tombstone beat did not come back to A')
  t.ok(s.record('gone') === undefined || s.record('gone')?.deleted === true, 'nor spread through A to S (which may get the delete from A)')
  for (const l of [as, ac]) {
    l.ab.destroy()
    l.ba.destroy()
  }
  a2.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a durable node restarted after a crash, cut off longer than the grace period, gets a delete from a peer that forgot it (its clocks restored to 0)', async (t) => {
  const dir = tmp()
  let now = 10_000_000 // ms
  let tick = 0
  const opts = { resolve: base.resolution.lww_vs_current_vers, clock: () => now * 1000 + ++tick, now: () => now, tombstoneGrace: 1_000 }
  const a = node('A', opts)
  const b = node('B', opts)
  const c1 = openDurable('C', { ...base.config, ...opts }, { dir, durability: 'write', snapshotMs: Infinity, snapshotEvery: Infinity })
  const ab = join(a, b)
  const bc = join(b, c1.gossip)
  a.set('k', 1)
  ab.ab.gossip()
  bc.ab.gossip()
  await until(() => c1.gossip.get('k').value === 1)
  // C crashes: the folder as it is, no clock snapshot since it took k.
  const crashed = tmp()
  fs.cpSync(dir, crashed, { recursive: true })
  bc.ab.destroy()
  bc.ba.destroy()
  c1.store.close()
  now += 10
  a.del('k')
  ab.ab.gossip()
  await until(() => b.record('k')?.deleted === true)
  now += 2_000
  t.equal(b.collect(), 1, 'B forgot A\'s tombstone of k')
  const c2 = openDurable('C', { ...base.config, ...opts }, { dir: crashed })
  t.equal(c2.gossip.get('k').value, 1, 'C comes back holding k')
  t.equal(c2.gossip.sources().find((s) => s.id === 'A')?.clock ?? 0, 0, 'with no clock for A (no snapshot was written)')
  const again = join(b, c2.gossip)
  for (let round = 0; round < 3; round++) {
    again.ab.gossip()
    await quiet(20)
  }
  t.equal(c2.gossip.record('k')?.deleted, true, 'C has the delete from B, the only peer it has')
  t.equal(b.record('k'), undefined, 'and B did not take k back')
  for (const s of [ab.ab, ab.ba, again.ab, again.ba]) s.destroy()
  c2.store.close()
  fs.rmSync(dir, { recursive: true })
  fs.rmSync(crashed, { recursive: true })
  t.end()
})

test("a restart does not start the grace period of a held tombstone again: restarted more often than tombstoneGrace, a node still forgets other nodes' tombstones", async (t) => {
  for (const [rewrite, fraction] of [[false, 0], [true, 0], [false, 0.25]] as const) {
    const dir = tmp()
    let now = 50_000_000 + fraction // ms (a wall clock may give fractions: performance.timeOrigin + performance.now())
    let tick = 0
    const opts = { resolve: base.resolution.lww_vs_current_vers, clock: () => now * 1000 + ++tick, now: () => now, tombstoneGrace: 1_000 }
    const a = node('A', opts)
    const open = () => openDurable('C', { ...base.config, ...opts }, { dir })
    let c = open()
    const link = join(a, c.gossip)
    a.set('k', 1)
    a.set('kept', 2)
    link.ab.gossip()
    await until(() => c.gossip.get('kept').value === 2)
    a.del('k')
    link.ab.gossip()
    await until(() => c.gossip.record('k')?.deleted === true)
    link.ab.destroy()
    link.ba.destroy()
    const applied = now
    // Restarts every 600 ms, each before the 1,000 ms grace since the last one is over.
    for (let i = 0; i < 3; i++) {
      if (rewrite) c.store.compact()
      await c.store.close()
      now += 600
      c = open()
      const collected = c.gossip.collect()
      const over = now - applied >= 1_000
      t.equal(collected, over ? 1 : 0, `${rewrite ? 'compacted, ' : ''}restart ${i + 1}, ${now - applied} ms after the delete was applied: ${over ? 'forgotten' : 'still held'}`)
      if (over) break
    }
    t.equal(c.gossip.record('k'), undefined, `${rewrite ? 'compacted: ' : ''}the tombstone is gone once its grace is over, whatever the restarts`)
    t.equal(c.gossip.get('kept').value, 2, 'the rest is held')
    await c.store.close()
    fs.rmSync(dir, { recursive: true })
  }
  t.end()
})

test("a node's own tombstone past the grace period keeps when it was applied across rewrites of the log: after a restart it is still left out of the fingerprint", async (t) => {
  for (const rewrite of [false, true]) {
    const dir = tmp()
    let now = 50_000_000 // ms
    let tick = 0
    const opts = { resolve: base.resolution.lww_vs_current_vers, clock: () => now * 1000 + ++tick, now: () => now, tombstoneGrace: 1_000 }
    const open = () => openDurable('C', { ...base.config, ...opts }, { dir })
    const what = rewrite ? 'compacted' : 'appended'
    let c = open()
    c.gossip.set('k', 1)
    c.gossip.set('kept', 2)
    const applied = now
    c.gossip.del('k')
    now += 2_000
    t.equal(c.gossip.collect(), 0, `${what}: a node keeps its own tombstone past the grace period`)
    const fp = replicaOf(c.gossip).self.fp.toString()
    t.equal(c.gossip.tombstoneTimes().get('k'), applied, `${what}: it still knows when the tombstone was applied`)
    if (rewrite) c.store.compact()
    await c.store.close()
    const line = fs.readFileSync(path.join(dir, 'log.ndjson'), 'utf8').split('\n').filter((l) => l.includes('"key":"k"') && l.includes('"deleted":true'))
    t.equal(line.length, 1, `${what}: the log holds the tombstone once`)
    t.ok(line[0]?.includes(`"at":${applied}`), `${what}: with the time it was applied (at)`)
    now += 10
    c = open()
    t.equal(c.gossip.tombstoneTimes().get('k'), applied, `${what}: restarted, the tombstone's applied time is the one before`)
    c.gossip.collect()
    t.equal(replicaOf(c.gossip).self.fp.toString(), fp, `${what}: restarted, the tombstone is still past the grace period: left out of the fingerprint as before`)
    t.equal(c.gossip.record('k')?.deleted, true, `${what}: and still held`)
    await c.store.close()
    fs.rmSync(dir, { recursive: true })
  }
  t.end()
})
