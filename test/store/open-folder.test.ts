/** Opening a data folder: new folders' entries synced into their parents, and clear errors for what is in the way. */
import test from 'tape'
import * as nodeFs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { createdParents } from '../../lib/store/open-folder.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { MemFs } from '../support/fault-fs.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }

test('createdParents: the parent of each folder a recursive mkdir created, top first', (t) => {
  t.deepEqual(createdParents('/srv/a/data', '/srv'), ['/', '/srv', '/srv/a'], 'three folders created: /, /srv and /srv/a get their new entries synced')
  t.deepEqual(createdParents('/srv/a/data', '/srv/a/data'), ['/srv/a'], 'only the folder itself created: its parent')
  t.deepEqual(createdParents('/srv/a/data/', '/srv/a'), ['/srv', '/srv/a'], 'a trailing slash is the same folder')
  t.end()
})

test('a data folder created at open survives a power loss with the writes reported durable in it', (t) => {
  const fs = new MemFs()
  const a = openDurable('A', cfg, { dir: '/srv/a/data', fs, timers: new FakeTimers(), durability: 'write' })
  a.gossip.set('k', 'durable') // write mode: on disk when set returns
  const after = fs.powerLossCopy(() => 0)
  a.store.close()
  const b = openDurable('A', cfg, { dir: '/srv/a/data', fs: after, timers: new FakeTimers() })
  t.equal(b.loaded, 1, 'the log is found after the power loss')
  t.equal(b.gossip.get('k').value, 'durable', 'with the write')
  t.equal(b.store.generation, a.store.generation, 'and the same generation')
  b.store.close()
  t.end()
})

test('a folder where the log or its sidecar should be: the error names that file', (t) => {
  for (const name of ['log.ndjson', 'log.ndjson.synced']) {
    const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-open-'))
    const where = path.join(dir, name)
    nodeFs.mkdirSync(where)
    t.throws(
      () => openDurable('A', cfg, { dir }),
      (e: unknown) => (e as { code?: string }).code === 'EISDIR' && (e as Error).message.endsWith(`'${where}'`) && (e as { path?: string }).path === where,
      `${name} is a folder: EISDIR naming ${where}`,
    )
    nodeFs.rmSync(dir, { recursive: true })
  }
  t.end()
})
