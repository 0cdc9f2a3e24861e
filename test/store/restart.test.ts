/** Restarts with and without data, over streams. */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base, type Gossip, type PeerStream } from '../../lib/index.ts'
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
