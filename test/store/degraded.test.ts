/**
 * Write-ahead discipline, durability promises and degraded mode, over the
 * fault-injecting file system with injected timers.
 */
import test from 'tape'
import { RefusedError } from '../../lib/core/replica.ts'
import { StoreDegradedError, type LogReplacedError } from '../../lib/store/errors.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { MemFs } from '../support/fault-fs.ts'
import { DIR, START_MS, codesOf, openOn, storeConfig } from '../support/store-workload.ts'
import { openDurable } from '../../lib/store/durable.ts'

const now = () => START_MS
const settled = async (p: Promise<void>): Promise<string> => p.then(() => 'resolved', (e: Error) => `rejected: ${codesOf(e).join(',')}`)

test('write mode: a failed append fails the set with the disk error and changes nothing; the node goes read-only', (t) => {
  const fs = new MemFs()
  const timers = new FakeTimers()
  const { gossip, store } = openOn(fs, 'write', timers, now)
  const events: string[] = []
  store.on('degraded', (e) => events.push(`degraded ${codesOf(e)[0]}`))
  store.on('recovered', () => events.push('recovered'))
  gossip.set('a', 1)
  t.equal(store.stats.appended, 2, 'the first write appended two lines: its lease and its record')
  fs.failNth('write', 1, 'ENOSPC')
  t.throws(() => gossip.set('a', 2), (e: unknown) => e instanceof RefusedError && /^not stored: ENOSPC/.test(e.message) && codesOf(e).includes('ENOSPC'), 'set throws "not stored: ENOSPC ..." with the error as cause')
  t.equal(gossip.get('a').value, 1, 'the value is unchanged')
  t.deepEqual(events, ['degraded ENOSPC'], "a 'degraded' event with the error")
  t.equal(store.status().degraded, true, 'status: degraded')
  t.throws(() => gossip.set('b', 1), (e: unknown) => e instanceof RefusedError && e.cause instanceof StoreDegradedError, 'further writes are refused at once')
  t.throws(() => gossip.del('a'), RefusedError, 'deletes too')
  t.equal(gossip.get('b').version, -Infinity, 'nothing was applied')
  t.equal(gossip.get('a').value, 1, 'reads go on')
  timers.advance(20)
  t.deepEqual(events, ['degraded ENOSPC', 'recovered'], 'the first probe rewrote the log and left degraded mode')
  gossip.set('b', 3)
  t.equal(gossip.get('b').value, 3, 'writes are taken again')
  store.close()
  const again = openOn(fs.powerLossCopy(() => 0), 'write', new FakeTimers(), now)
  t.deepEqual([again.gossip.get('a').value, again.gossip.get('b').value], [1, 3], 'after a power loss: the state the node reported')
  again.store.close()
  t.end()
})

test("batch mode: durable() and flush() say when writes are on disk; a failed batch rejects them and degrades", async (t) => {
  const fs = new MemFs()
  const timers = new FakeTimers()
  const { gossip, store } = openOn(fs, 'batch', timers, now)
  gossip.set('first', 0) // the first write takes a lease: synced at once
  gossip.set('a', 1)
  let state = 'pending'
  void store.durable().then(() => (state = 'resolved'))
  await Promise.resolve()
  t.equal(state, 'pending', 'durable() waits for the batch')
  timers.advance(5)
  await Promise.resolve()
  t.equal(state, 'resolved', 'and resolves once the batch is synced')
  gossip.set('b', 2)
  fs.failNth('fsync', 1, 'EIO')
  const waiting = store.durable()
  timers.advance(5)
  t.equal(await settled(waiting), 'rejected: EIO', 'the batch failed: durable() rejects with EIO')
  t.equal(gossip.get('b').value, 2, 'b stays in memory (it was accepted, never reported durable)')
  t.equal(await settled(store.flush()), 'rejected: EIO', 'flush() rejects while degraded')
  t.throws(() => gossip.set('c', 3), RefusedError, 'writes are refused at once while degraded')
  timers.advance(20)
  t.equal(store.degraded, null, 'the probe succeeded')
  t.equal(await settled(store.durable()), 'resolved', 'and its rewrite made b durable')
  const copy = openOn(fs.powerLossCopy(() => 0), 'batch', new FakeTimers(), now)
  t.equal(copy.gossip.get('b').value, 2, 'b survives a power loss now')
  copy.store.close()
  store.close()
  t.end()
})

test('an ignored flush() promise that rejects is not an unhandled rejection; a listener that throws stops nothing', async (t) => {
  const fs = new MemFs()
  const timers = new FakeTimers()
  const { gossip, store } = openOn(fs, 'batch', timers, now)
  const unhandled: unknown[] = []
  const onUnhandled = (e: unknown) => unhandled.push(e)
  process.on('unhandledRejection', onUnhandled)
  store.on('degraded', () => {
    throw new Error('listener bug')
  })
  gossip.set('first', 0)
  gossip.set('a', 1)
  fs.failAll('write', 'EIO')
  void store.flush()
  void store.durable()
  await new Promise((r) => setImmediate(r))
  process.off('unhandledRejection', onUnhandled)
  t.deepEqual(unhandled, [], 'no unhandled rejection')
  t.ok(store.degraded !== null, 'the store is degraded, the listener error notwithstanding')
  timers.advance(1000)
  t.ok(store.stats.failures > 2, `the probes kept failing without a crash (${store.stats.failures} failures)`)
  fs.heal()
  timers.advance(100)
  t.equal(store.degraded, null, 'and one succeeded once the disk healed')
  store.close()
  t.end()
})

test('EMFILE during compaction fails the write that triggered it, never the process', (t) => {
  const fs = new MemFs()
  const timers = new FakeTimers()
  const { gossip, store } = openOn(fs, 'write', timers, now)
  fs.failAll('open', 'EMFILE')
  let refused: unknown = null
  for (let i = 0; i < 200 && refused === null; i++) {
    try {
      gossip.set('k' + (i % 3), 'x'.repeat(100) + i)
    } catch (e) {
      refused = e
    }
  }
  t.ok(refused instanceof RefusedError && codesOf(refused).includes('EMFILE'), 'the write that needed a compaction was refused with EMFILE')
  t.ok(store.degraded !== null, 'degraded')
  timers.advance(500)
  t.ok(store.degraded !== null, 'still degraded while descriptors run out')
  fs.heal()
  timers.advance(100)
  t.equal(store.degraded, null, 'recovered once they are back')
  t.equal(store.stats.compactions > 0, true, 'by a compaction')
  store.close()
  t.end()
})

test('the data folder removed while running: writes fail, nothing goes into the deleted file; recreated, the state is written back', (t) => {
  const fs = new MemFs()
  const timers = new FakeTimers()
  const { gossip, store } = openOn(fs, 'batch', timers, now)
  for (let i = 0; i < 5; i++) gossip.set('k' + i, i)
  timers.advance(5)
  fs.removeDir(DIR)
  gossip.set('k5', 5)
  timers.advance(5)
  t.ok(store.degraded !== null && (store.degraded as LogReplacedError).code === 'ELOGREPLACED', `degraded: ${store.degraded?.message}`)
  t.throws(() => gossip.set('k6', 6), RefusedError, 'writes are refused')
  timers.advance(1000)
  t.ok(store.degraded !== null, 'probes fail while the folder is missing (it is not recreated behind the operator\'s back)')
  fs.mkdir(DIR)
  timers.advance(100)
  t.equal(store.degraded, null, 'recreated: the next probe writes the whole state there')
  store.close()
  const again = openOn(fs.crashCopy(), 'batch', new FakeTimers(), now)
  t.equal(again.loaded, 6, 'a restart finds all 6 keys, the one accepted just before the failure included')
  again.store.close()
  t.end()
})

test('a log replaced by another node\'s log is never overwritten', (t) => {
  const fs = new MemFs()
  const timers = new FakeTimers()
  const a = openOn(fs, 'write', timers, now)
  a.gossip.set('x', 1)
  const bFs = new MemFs()
  const b = openDurable('B', storeConfig(now), { dir: DIR, fs: bFs, timers: new FakeTimers() })
  b.store.close()
  fs.removeDir(DIR)
  fs.mkdir(DIR)
  const other = bFs.read_(`${DIR}/log.ndjson`)!
  const fd = fs.open(`${DIR}/log.ndjson`, 'w')
  fs.write(fd, other, 0, other.length, null)
  fs.close(fd)
  t.throws(() => a.gossip.set('y', 2), RefusedError, 'the write is refused: the log at the path is not the open one')
  timers.advance(1000)
  t.ok(a.store.degraded !== null && /not this node's log/.test(a.store.degraded.message), a.store.degraded?.message ?? '')
  t.ok(fs.read_(`${DIR}/log.ndjson`)!.equals(other), 'the other log is untouched')
  a.store.close()
  t.end()
})

test('close() never throws, even on a failing disk', (t) => {
  const fs = new MemFs()
  const { gossip, store } = openOn(fs, 'batch', new FakeTimers(), now)
  gossip.set('a', 1)
  for (const op of ['write', 'fsync', 'close', 'open', 'rename'] as const) fs.failAll(op, 'EIO')
  t.doesNotThrow(() => store.close(), 'close returns')
  t.throws(() => gossip.set('b', 2), /not stored: the store is closed/, 'writes after close are refused')
  t.end()
})
