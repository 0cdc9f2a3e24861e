/**
 * The IndexedDB store on an in-memory IndexedDB (test/support): what a
 * reloaded tab continues, and what it must not. A reloaded tab always
 * keeps its generation. A tab closed before its last batch committed may
 * have given out versions its peers hold but its disk does not, ahead of
 * its wall clock when a peer's clock is ahead; giving them out again,
 * peers holding the earlier ones would never take the new writes. So a
 * life that did not close starts above now plus the run-ahead stored with
 * its last batch; one that closed, above its stored version. Two tabs of
 * one origin never open the same database at once (Web Locks).
 */
import test from 'tape'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'
import { openIndexedDB, type IndexedDbOptions } from '../../lib/store/indexeddb.ts'
import { DatabaseLockedError, type LockManager } from '../../lib/store/web-lock.ts'
import { FakeIndexedDB } from '../support/fake-indexeddb.ts'
import { FakeLocks } from '../support/fake-locks.ts'
import { quiet, sameState } from '../support/streams.ts'

const T0 = 1_796_000_000_000

function config(now: () => number): GossipConfig {
  return { ...base.config, resolve: base.resolution.lww_vs_current_vers, now }
}

/** One link between `a` and `b`, an exchange each way until they hold the same records (at most `rounds`). */
async function sync(a: Gossip, b: Gossip, rounds = 5): Promise<boolean> {
  const ab = a.createStream({ peer: { id: b.id } })
  const ba = b.createStream({ peer: { id: a.id } })
  ab.pipe(ba).pipe(ab)
  for (let i = 0; i < rounds && !sameState([a, b]); i++) {
    ab.gossip()
    await quiet(30)
    ba.gossip()
    await quiet(30)
  }
  ab.destroy()
  ba.destroy()
  await quiet(5)
  return sameState([a, b])
}

/** A crash copy stands for the disk a later tab finds: no lock is shared with the tab that wrote it (locks: null). */
const opts = (idb: FakeIndexedDB, locks: LockManager | null = null): IndexedDbOptions => ({ indexedDB: idb, batchMs: 60_000, locks })

/** A tab on a fresh database, met once by a peer whose clock runs `ahead` ms ahead of `clock.now` (both read it). */
async function tabMetByPeer(clock: { now: number }, ahead: number) {
  const idb = new FakeIndexedDB()
  const tab = await openIndexedDB('tab', config(() => clock.now), opts(idb))
  const peer = new Gossip('peer', config(() => clock.now + ahead))
  peer.set('p', 1)
  const met = await sync(peer, tab.gossip)
  return { idb, tab, peer, met }
}

/** The end of a reload test: the held commits let go, the earlier life closed (it may have failed), the later one closed. */
async function closeLives(idb: FakeIndexedDB, tab: { store: { close(): Promise<void> } }, again: { store: { close(): Promise<void> } }): Promise<void> {
  idb.release()
  await tab.store.close().catch(() => {})
  await again.store.close()
}

test('a tab reloaded after its last batch was lost keeps its generation and never gives out a version a peer holds (peer clock ahead)', async (t) => {
  const clock = { now: T0 }
  const { idb, tab, peer, met } = await tabMetByPeer(clock, 120_000) // two minutes ahead, within maxClockOffset
  t.ok(met, 'the tab met the peer: its versions now follow the peer\'s clock')
  tab.gossip.set('first', 1)
  await tab.store.flush()
  idb.hold = true // the next batch never commits: the tab is closed before
  tab.gossip.set('a', 'written just before the tab closed')
  t.ok(await sync(peer, tab.gossip), 'the peer holds a')
  const a = peer.record('a')!
  t.ok(a.version > clock.now * 1000, 'a\'s version is ahead of the tab\'s wall clock')

  clock.now += 50
  const again = await openIndexedDB('tab', config(() => clock.now), opts(idb.crashCopy()))
  t.equal(again.loaded, 2, 'the reloaded tab has p and first, not a')
  t.equal(again.store.generation, tab.store.generation, 'the same generation, though it did not close')
  again.gossip.set('b', 'new after the reload')
  const b = again.gossip.record('b')!
  t.equal(b.gen, a.gen, 'b is of a\'s source')
  t.ok(b.version > a.version, `b's version (${b.version}) is above a's (${a.version}): the run-ahead of the last batch was kept`)
  t.ok(await sync(peer, again.gossip, 3), 'one link: both converge')
  t.equal(peer.get('b').value, 'new after the reload', 'the peer took b')
  t.equal(again.gossip.get('a').value, 'written just before the tab closed', 'the tab got a back')
  await closeLives(idb, tab, again)
  t.end()
})

test('a tab that closed its store continues right above its versions; a later life that did not close starts above the run-ahead', async (t) => {
  const clock = { now: T0 }
  const { idb, tab, peer } = await tabMetByPeer(clock, 120_000)
  tab.gossip.set('a', 1)
  tab.gossip.set('b', 2)
  const last = tab.gossip.record('b')!.version
  await tab.store.close()
  t.throws(() => tab.gossip.set('c', 3), /not stored: the store is closed/, 'a change after close is refused')
  t.equal(tab.gossip.get('c').value, null, 'and never entered state')

  clock.now += 50
  const again = await openIndexedDB('tab', config(() => clock.now), opts(idb))
  t.equal(again.store.generation, tab.store.generation, 'the same generation')
  t.equal(again.loaded, 3, 'every record, the last batch included (written by close)')
  again.gossip.set('d', 4)
  const d = again.gossip.record('d')!.version
  t.equal(d, last + 1, 'the next version is the one above the last the closed life gave out (no run-ahead floor)')
  t.ok(await sync(peer, again.gossip), 'converges with the peer')
  again.gossip.set('e', 5)
  const e = again.gossip.record('e')!.version

  // This life does not close (nothing of it committed): the mark of the earlier one was removed when it opened.
  clock.now += 50
  const third = await openIndexedDB('tab', config(() => clock.now), opts(idb.crashCopy()))
  t.equal(third.store.generation, again.store.generation, 'the same generation again')
  third.gossip.set('f', 6)
  t.ok(third.gossip.record('f')!.version > e, 'a life after one that did not close starts above what that one gave out, though only the closed life\'s clock is on disk')
  await again.store.close()
  await third.store.close()
  t.end()
})

test('close writes every change whose batch has not committed, in one transaction that stands alone', async (t) => {
  const now = T0
  const idb = new FakeIndexedDB()
  const tab = await openIndexedDB('tab', config(() => now), opts(idb))
  tab.gossip.set('x', 1)
  const inFlight = tab.store.flush()
  idb.failNext = new Error('the batch transaction aborted')
  tab.gossip.set('y', 2)
  const closing = tab.store.close()
  await inFlight.catch(() => {})
  let closeError = 'none'
  await closing.catch((err: Error) => {
    closeError = err.message
  })
  t.equal(closeError, 'the batch transaction aborted', 'close reports the failed batch')
  t.deepEqual(idb.row('simple-scuttle:tab', 'meta', 'closed'), { gen: tab.store.generation }, 'and the mark: every change of that life is stored')
  const again = await openIndexedDB('tab', config(() => now), opts(idb))
  t.deepEqual([again.gossip.get('x').value, again.gossip.get('y').value], [1, 2], 'the closing transaction held x (whose batch failed) and y')
  await again.store.close()
  t.end()
})

test('a store that failed before close does not mark its life closed', async (t) => {
  const now = T0
  const idb = new FakeIndexedDB()
  const tab = await openIndexedDB('tab', config(() => now), opts(idb))
  tab.gossip.set('x', 1)
  idb.failNext = new Error('quota')
  await tab.store.flush().catch(() => {})
  t.equal(tab.store.error?.message, 'quota', 'the store failed')
  t.throws(() => tab.gossip.set('y', 2), /not stored: quota/, 'and refuses changes')
  await tab.store.close().catch(() => {})
  t.equal(idb.row('simple-scuttle:tab', 'meta', 'closed'), undefined, 'no closed mark')
  const again = await openIndexedDB('tab', config(() => now), opts(idb))
  t.equal(again.store.generation, tab.store.generation, 'the next open continues the generation (above the run-ahead floor)')
  await again.store.close()
  t.end()
})

test('a second tab opening a database another tab holds is refused, naming the database; it opens once the first closes', async (t) => {
  const now = T0
  const idb = new FakeIndexedDB()
  const locks = new FakeLocks() // one origin
  const first = await openIndexedDB('tab-1', config(() => now), opts(idb, locks))
  first.gossip.set('a', 1)
  let refused: unknown = null
  await openIndexedDB('tab-1', config(() => now), opts(idb, locks)).catch((err) => {
    refused = err
  })
  t.ok(refused instanceof DatabaseLockedError, 'DatabaseLockedError')
  t.match((refused as Error).message, /IndexedDB database "simple-scuttle:tab-1" is open in another tab or worker of this origin/, 'naming the database')
  t.equal((refused as DatabaseLockedError).database, 'simple-scuttle:tab-1')
  first.gossip.set('b', 2)
  await first.store.flush()
  t.equal(first.store.error, null, 'the first tab writes on')

  const other = await openIndexedDB('tab-2', config(() => now), opts(idb, locks))
  t.pass('another database of the origin opens meanwhile')
  await other.store.close()

  await first.store.close()
  t.deepEqual(locks.names, [], 'close released the lock')
  const second = await openIndexedDB('tab-1', config(() => now), opts(idb, locks))
  t.equal(second.store.generation, first.store.generation, 'then it opens, continuing the closed life')
  t.equal(second.loaded, 2, 'with its records')
  await second.store.close()
  t.end()
})

test('with waitForLock a second opener waits for the first to close', async (t) => {
  const now = T0
  const idb = new FakeIndexedDB()
  const locks = new FakeLocks()
  const first = await openIndexedDB('tab', config(() => now), opts(idb, locks))
  first.gossip.set('a', 1)
  let opened = false
  const waiting = openIndexedDB('tab', config(() => now), { ...opts(idb, locks), waitForLock: true }).then((n) => {
    opened = true
    return n
  })
  await quiet(50)
  t.notOk(opened, 'not opened while the first holds the database')
  await first.store.close()
  const second = await waiting
  t.equal(second.store.generation, first.store.generation, 'opened after the close, continuing its life')
  t.equal(second.gossip.get('a').value, 1, 'with what the first wrote')
  await second.store.close()
  t.end()
})

test('a failed open releases the lock; locks: null takes none', async (t) => {
  const now = T0
  const idb = new FakeIndexedDB()
  const locks = new FakeLocks()
  const a = await openIndexedDB('a', config(() => now), { ...opts(idb, locks), name: 'shared' })
  await a.store.close()
  const wrong = await openIndexedDB('b', config(() => now), { ...opts(idb, locks), name: 'shared' }).catch((err: Error) => err.message)
  t.equal(wrong, 'IndexedDB database shared belongs to node "a", not "b"', 'a database of another node is refused')
  t.deepEqual(locks.names, [], 'and its lock released')
  const bad = await openIndexedDB('a', { ...base.config }, { ...opts(idb, locks), name: 'shared' }).catch((err: Error) => err.message)
  t.match(String(bad), /config.resolve is required/, 'a config the gossip refuses fails the open')
  t.deepEqual(locks.names, [], 'and releases the lock')
  t.deepEqual(idb.row('shared', 'meta', 'closed'), { gen: a.store.generation }, 'the failed open gave out nothing: the closed mark is still there')
  const after = await openIndexedDB('a', config(() => now), { ...opts(idb, locks), name: 'shared' })
  t.equal(after.store.generation, a.store.generation, 'the closed life is continued')
  await after.store.close()
  const one = await openIndexedDB('a', config(() => now), { ...opts(idb, null), name: 'shared' })
  const two = await openIndexedDB('a', config(() => now), { ...opts(idb, null), name: 'shared' })
  t.pass('without a lock manager nothing refuses a second opener (the documented limit)')
  await one.store.close()
  await two.store.close()
  t.end()
})

test('a reload with no run-ahead starts right above now, in the same generation', async (t) => {
  const clock = { now: T0 }
  const { idb, tab, peer } = await tabMetByPeer(clock, 0) // same clock: the tab's versions follow its wall clock
  clock.now += 1000
  tab.gossip.set('x', 1) // at the wall clock: the batch stores no run-ahead
  await tab.store.flush()
  t.equal(tab.gossip.record('x')!.version, clock.now * 1000, 'x is at the wall clock')
  idb.hold = true
  tab.gossip.set('y', 2) // lost with the tab
  t.ok(await sync(peer, tab.gossip), 'the peer holds y')
  const y = peer.record('y')!

  clock.now += 10_000
  const again = await openIndexedDB('tab', config(() => clock.now), opts(idb.crashCopy()))
  t.equal(again.store.generation, tab.store.generation, 'the same generation')
  again.gossip.set('z', 3)
  const z = again.gossip.record('z')!.version
  t.equal(z, clock.now * 1000 + 1, 'its first version is the one right above now (µs), not pushed further')
  t.ok(z > y.version, 'and above what the earlier life gave out')
  t.ok(await sync(peer, again.gossip, 3), 'one link: both converge')
  t.equal(peer.get('z').value, 3, 'the peer took z')
  t.equal(again.gossip.get('y').value, 2, 'the tab got y back')
  await closeLives(idb, tab, again)
  t.end()
})

test('an open that fails after a life that did not close leaves that life unclosed', async (t) => {
  const clock = { now: T0 }
  const { idb, tab, peer } = await tabMetByPeer(clock, 120_000)
  tab.gossip.set('first', 1)
  await tab.store.flush()
  idb.hold = true
  tab.gossip.set('a', 2) // lost with the tab, held by the peer
  await sync(peer, tab.gossip)
  const a = peer.record('a')!
  const disk = idb.crashCopy()
  const bad = await openIndexedDB('tab', { ...base.config }, opts(disk)).catch((err: Error) => err.message)
  t.match(String(bad), /config.resolve is required/, 'a config the gossip refuses fails the open')
  t.equal(disk.row('simple-scuttle:tab', 'meta', 'closed'), undefined, 'and its close wrote no closed mark')
  clock.now += 50
  const again = await openIndexedDB('tab', config(() => clock.now), opts(disk))
  again.gossip.set('b', 3)
  const b = again.gossip.record('b')!
  t.ok(b.gen === a.gen && b.version > a.version, 'the next life still starts above the run-ahead: above a')
  await closeLives(idb, tab, again)
  t.end()
})
