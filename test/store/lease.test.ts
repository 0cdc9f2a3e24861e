/**
 * Version leases: a node never issues a version twice, even when the clock
 * does not move and a power loss takes every write that was not fsynced.
 * In batch mode, records are only queued; what stops a restarted node from
 * numbering new writes with versions it already gave out (and gossiped) is
 * the lease, fsynced before the first version above the previous lease.
 */
import test from 'tape'
import { FakeTimers } from '../support/fake-timers.ts'
import { MemFs } from '../support/fault-fs.ts'
import { openOn } from '../support/store-workload.ts'
import { seededRandom as rng } from '../../lib/core/random.ts'

const NOW_MS = 1_796_000_000_000

test('after a power loss that drops every unsynced write, new versions are above all issued before it (frozen clock)', (t) => {
  const now = () => NOW_MS // the physical clock never moves: versions advance by +1 only
  for (const seed of [1, 2, 3]) {
    const fs = new MemFs()
    const a = openOn(fs, 'batch', new FakeTimers(), now)
    const issued: number[] = []
    for (let i = 0; i < 20; i++) {
      a.gossip.set(`k${i}`, i)
      issued.push(a.gossip.record(`k${i}`)!.version)
    }
    // The batch timer never fires: only what was synced at once (the lease) is surely on disk.
    const after = openOn(fs.powerLossCopy(rng(seed)), 'batch', new FakeTimers(), now)
    t.ok(after.loaded < 20, `seed ${seed}: the power loss took unsynced writes (${after.loaded} of 20 reloaded)`)
    after.gossip.set('new', 1)
    const v = after.gossip.record('new')!.version
    const highest = Math.max(...issued)
    t.ok(v > highest, `seed ${seed}: the first write after restart has version ${v}, above the ${highest} issued before`)
    after.store.close()
  }
  t.end()
})
