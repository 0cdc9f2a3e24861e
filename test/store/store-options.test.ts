/** Store options are checked at open: an error names the option, the value given and what is allowed; an unknown key is a warning. */
import test from 'tape'
import * as nodeFs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { LogStore, type StoreOptions } from '../../lib/store/log-store.ts'
import { openIndexedDB, type IDBFactory } from '../../lib/store/indexeddb.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { MemFs } from '../support/fault-fs.ts'
import { warningsOf } from '../support/warnings.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }

/** `${name}: ${message}` of what `f` throws, or 'no error'. */
function thrown(f: () => unknown): string {
  try {
    f()
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`
  }
  return 'no error'
}

const tmp = () => nodeFs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-opts-'))

test('a misspelt durability is refused before the folder is touched, never taken as a mode that syncs nothing', (t) => {
  for (const durability of ['sync', 'Write', '']) {
    const dir = path.join(tmp(), 'data')
    t.equal(
      thrown(() => openDurable('a', cfg, { dir, durability: durability as StoreOptions['durability'] })),
      `RangeError: store option durability must be 'write', 'batch' or 'none', got ${JSON.stringify(durability)}`,
      `durability ${JSON.stringify(durability)}`,
    )
    t.notOk(nodeFs.existsSync(dir), 'no folder was created')
  }
  t.equal(
    thrown(() => openDurable('a', cfg, { dir: tmp(), durability: 1 as unknown as StoreOptions['durability'] })),
    "TypeError: store option durability must be 'write', 'batch' or 'none', got 1",
    'a number: a TypeError',
  )
  t.end()
})

test('every numeric option out of range or of another type is refused, naming it and the value given', (t) => {
  const cases: [Partial<Record<keyof StoreOptions, unknown>>, string][] = [
    [{ batchMs: -1 }, 'RangeError: store option batchMs must be a non-negative number of ms, got -1'],
    [{ batchMs: 'x' }, 'TypeError: store option batchMs must be a non-negative number of ms, got "x"'],
    [{ batchMs: NaN }, 'RangeError: store option batchMs must be a non-negative number of ms, got NaN'],
    [{ batchMs: Infinity }, 'RangeError: store option batchMs must be a non-negative number of ms, got Infinity'],
    [{ retryMs: -5 }, 'RangeError: store option retryMs must be a positive number of ms, got -5'],
    [{ retryMs: 0 }, 'RangeError: store option retryMs must be a positive number of ms, got 0'],
    [{ maxRetryMs: 10 }, 'RangeError: store option maxRetryMs must be at least retryMs (1000), got 10'],
    [{ compactRatio: 0 }, 'RangeError: store option compactRatio must be a number greater than 1, or Infinity (never compact), got 0'],
    [{ compactRatio: 0.5, minCompactBytes: 0 }, 'RangeError: store option compactRatio must be a number greater than 1, or Infinity (never compact), got 0.5'],
    [{ compactRatio: 1 }, 'RangeError: store option compactRatio must be a number greater than 1, or Infinity (never compact), got 1'],
    [{ minCompactBytes: -1 }, 'RangeError: store option minCompactBytes must be a non-negative number of bytes, or Infinity (never compact), got -1'],
    [{ snapshotEvery: 0 }, 'RangeError: store option snapshotEvery must be a positive integer (lines), or Infinity, got 0'],
    [{ snapshotEvery: 2.5 }, 'RangeError: store option snapshotEvery must be a positive integer (lines), or Infinity, got 2.5'],
    [{ snapshotMs: 0 }, 'RangeError: store option snapshotMs must be a positive number of ms, or Infinity, got 0'],
    [{ maxClockOffset: -1 }, 'RangeError: store option maxClockOffset must be a non-negative number of ms, got -1'],
    [{ limits: { maxKeyLength: 0 } }, 'RangeError: store option limits.maxKeyLength must be a positive integer, got 0'],
    [{ compactOnHistory: 'yes' }, 'TypeError: store option compactOnHistory must be true or false, got "yes"'],
    [{ repair: 1 }, 'TypeError: store option repair must be true or false, got 1'],
    [{ lock: 'no' }, 'TypeError: store option lock must be true or false, got "no"'],
    [{ now: 5 }, 'TypeError: store option now must be a function returning ms, got 5'],
    [{ timers: {} }, 'TypeError: store option timers must be an object with setTimeout, clearTimeout and now (missing: setTimeout, clearTimeout, now)'],
  ]
  for (const [opts, message] of cases) {
    const fs = new MemFs()
    const label = Object.entries(opts).map(([k, v]) => `${k} ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`).join(', ')
    t.equal(thrown(() => openDurable('a', cfg, { dir: '/d', fs, ...opts } as StoreOptions)), message, label)
  }
  t.equal(thrown(() => new LogStore('a', { dir: '/d', fs: new MemFs(), batchMs: -1 })), 'RangeError: store option batchMs must be a non-negative number of ms, got -1', 'LogStore checks them too')
  t.end()
})

test('dir: required, a non-empty string, and a folder (or a path that can become one)', (t) => {
  t.equal(thrown(() => openDurable('a', cfg, {} as StoreOptions)), 'TypeError: store option dir is required: the folder of the log (created if missing)', 'missing')
  t.equal(thrown(() => openDurable('a', cfg, { dir: 42 } as unknown as StoreOptions)), 'TypeError: store option dir must be a non-empty string (the folder of the log), got 42', 'a number')
  t.equal(thrown(() => openDurable('a', cfg, { dir: '' })), 'TypeError: store option dir must be a non-empty string (the folder of the log), got ""', 'empty')
  t.equal(thrown(() => openDurable('a', cfg, undefined as unknown as StoreOptions)), "TypeError: openDurable(id, config, storeOpts): storeOpts must be an object with dir (the log's folder)", 'no store options at all')
  const file = path.join(tmp(), 'file')
  nodeFs.writeFileSync(file, 'x')
  t.equal(thrown(() => openDurable('a', cfg, { dir: file })), `Error: cannot use store option dir ${JSON.stringify(file)}: it is not a folder`, 'a file')
  const under = path.join(file, 'sub')
  t.equal(thrown(() => openDurable('a', cfg, { dir: under })), `Error: cannot use store option dir ${JSON.stringify(under)}: ${file} is not a folder`, 'a path under a file names the file')
  t.equal(nodeFs.readFileSync(file, 'utf8'), 'x', 'the file is left as it was')
  t.end()
})

test('undefined is the default; the bounds themselves and Infinity (never) are accepted', (t) => {
  const fs = new MemFs()
  const opts = { dir: '/d', fs, timers: new FakeTimers() }
  const all: StoreOptions = { ...opts, durability: undefined, batchMs: undefined, compactRatio: undefined, minCompactBytes: undefined, snapshotEvery: undefined, snapshotMs: undefined, retryMs: undefined, maxRetryMs: undefined, lock: undefined, repair: undefined, limits: undefined, now: undefined, maxClockOffset: undefined }
  const a = openDurable('a', cfg, all)
  t.equal(a.store.durability, 'batch', 'durability undefined: batch')
  a.gossip.set('k', 1)
  a.store.close()
  const b = openDurable('a', cfg, { ...opts, batchMs: 0, minCompactBytes: 0, compactRatio: Infinity, snapshotEvery: Infinity, snapshotMs: Infinity, retryMs: 60_000 })
  t.equal(b.gossip.get('k').value, 1, 'opened with batchMs 0, compactRatio Infinity, snapshots Infinity, retryMs over the default maxRetryMs')
  for (let i = 0; i < 50; i++) b.gossip.set('k', i)
  t.equal(b.store.stats.compactions, 0, 'compactRatio Infinity: never compacts, even with minCompactBytes 0')
  b.store.close()
  t.end()
})

test('an unknown store option is a warning naming the nearest one, once per key, never an error', async (t) => {
  const fs = new MemFs()
  let store: LogStore | undefined
  const seen = await warningsOf(() => {
    store = openDurable('a', cfg, { dir: '/d', fs, durabilty: 'write', batchms: 5, appField: 1 } as StoreOptions).store
  })
  t.deepEqual(seen, [
    'ConfigWarning: simple-scuttle: store option durabilty is not an option of openDurable or LogStore; it is ignored (did you mean durability?)',
    'ConfigWarning: simple-scuttle: store option batchms is not an option of openDurable or LogStore; it is ignored (did you mean batchMs?)',
    'ConfigWarning: simple-scuttle: store option appField is not an option of openDurable or LogStore; it is ignored',
  ])
  t.equal(store!.durability, 'batch', 'the misspelt option changed nothing')
  store!.close()
  const again = await warningsOf(() => openDurable('a', cfg, { dir: '/d', fs, durabilty: 'write' } as StoreOptions).store.close())
  t.deepEqual(again, [], 'once per process')
  const known = await warningsOf(() => openDurable('a', cfg, { dir: '/d', fs, durability: 'write', batchMs: 5, timers: new FakeTimers(), lock: false }).store.close())
  t.deepEqual(known, [], 'known options: no warning')
  t.end()
})

test('IndexedDB store options are checked before the database is opened', async (t) => {
  let opened = 0
  const factory: IDBFactory = {
    open: () => {
      opened++
      throw new Error('opened')
    },
  }
  const refused = async (opts: object) => {
    try {
      await openIndexedDB('tab', cfg, { indexedDB: factory, ...opts })
      return 'no error'
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`
    }
  }
  t.equal(await refused({ batchMs: -1 }), 'RangeError: IndexedDB store option batchMs must be a non-negative number of ms, got -1')
  t.equal(await refused({ batchMs: 'x' }), 'TypeError: IndexedDB store option batchMs must be a non-negative number of ms, got "x"')
  t.equal(await refused({ name: '' }), 'TypeError: IndexedDB store option name must be a non-empty string, got ""')
  t.equal(await refused({ indexedDB: {} }), 'TypeError: IndexedDB store option indexedDB must be an IDBFactory (an object with open) (missing: open)')
  t.equal(await refused({ locks: {} }), 'TypeError: IndexedDB store option locks must be a LockManager (an object with request) or null (missing: request)')
  t.equal(await refused({ waitForLock: 'yes' }), 'TypeError: IndexedDB store option waitForLock must be true or false, got "yes"')
  t.equal(opened, 0, 'none of them reached the database')
  const seen = await warningsOf(() => void refused({ batchMS: 5 }))
  t.deepEqual(seen, ['ConfigWarning: simple-scuttle: IndexedDB store option batchMS is not an option of openIndexedDB; it is ignored (did you mean batchMs?)'], 'an unknown key: a warning')
  t.equal(await refused({ batchMs: 0 }), 'Error: opened', 'valid options reach the database')
  t.end()
})
