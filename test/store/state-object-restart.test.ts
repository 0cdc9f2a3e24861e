/** A caller-supplied state object (the seed's third argument) with a log: records restored at a restart reach it. */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { Gossip } from '../../lib/stream/gossip.ts'
import { LogStore } from '../../lib/store/log-store.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }

function open(dir: string) {
  const store = new LogStore('a', { dir })
  const state: Record<string, any> = {}
  const g = new Gossip('a', { ...cfg, generation: store.generation }, state)
  store.attach(g)
  return { store, state, g }
}

test('records restored from a LogStore are written into the state object, tombstones as a delete leaves them', (t) => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-state-')), 'a')
  let n = open(dir)
  n.g.set('x', 1)
  n.g.set('y', { deep: [2] })
  n.g.set('z', 3)
  n.g.del('z')
  const before = { x: n.state.x, y: n.state.y, z: n.state.z }
  n.store.close()

  n = open(dir)
  t.deepEqual(n.g.get('x').value, 1, 'the replica holds x')
  t.deepEqual(n.state.x, before.x, 'state.x is the restored record')
  t.deepEqual(n.state.y, before.y, 'state.y is the restored record')
  t.deepEqual(n.state.z, before.z, 'state.z is the tombstone, as the delete wrote it')
  t.equal(n.state.z?.deleted, true, 'the tombstone is marked deleted')
  t.equal(n.g.state.x, n.state.x, 'gossip.state is the state object')
  t.deepEqual(Object.keys(n.state).sort(), ['x', 'y', 'z'], 'nothing else')
  n.g.set('x', 4)
  t.equal(n.state.x.value, 4, 'a later write goes through as ever')
  n.store.close()
  t.end()
})
