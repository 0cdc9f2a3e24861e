/** Tombstone collection and the reset of a stale peer, at the session level. */
import test from 'tape'
import { link, replica } from '../support/core.ts'
import type { Replica } from '../../lib/core/replica.ts'

/** R and Q share `k` = old; R deletes it and, much later, forgets the tombstone; Q saw none of it. */
function setup() {
  let now = 0
  const time = () => now
  const r = replica('r')
  const q = replica('q')
  ;(r as unknown as { time: () => number }).time = time
  r.writeLocal('k', 'old')
  r.writeLocal('keep', 'yes')
  const first = link(r, q)
  first.exchange()
  const tomb = r.writeLocal('k', null, true).rec
  now = 1000
  const collected = r.collect(now, 500)
  return { r, q, tomb, collected }
}

test('collect forgets old tombstones and raises the source\'s gc floor', (t) => {
  const { r, tomb, collected } = setup()
  t.equal(collected, 1, 'one tombstone collected')
  t.equal(r.record('k'), undefined, 'the key is gone, tombstone and all')
  t.equal(r.self.gc, tomb.version, 'gc floor = the tombstone\'s version')
  t.end()
})

test('a stale peer is reset: its copy of the deleted key is swept, and it cannot pass it on', (t) => {
  const { r, q } = setup()
  t.equal(q.get('k').value, 'old', 'before: the stale peer still has the deleted key')
  const { exchange, A, B } = link(q, r) // the stale peer starts the exchange
  exchange()
  t.equal(q.record('k'), undefined, 'after: swept from the stale peer')
  t.equal(q.get('keep').value, 'yes', 'what is still alive stays')
  t.equal(r.record('k'), undefined, 'and the healthy node did not take it back')
  t.equal(q.stats.reset, 1, 'one record dropped by the reset')
  t.equal(B.s.stats.staleDropped, 0, 'the stale side held its updates back (nothing had to be dropped)')
  t.equal(q.clock.get('r'), r.clock.get('r'), 'the stale peer caught up with the healthy clock')
  t.equal(q.self.gc, 0, 'q collected nothing itself')
  t.equal(q.clock.find('r')!.gc, r.self.gc, 'but took on r\'s gc floor, so it resets others in turn')
  t.end()
})

test('a stale peer\'s own new writes are held back until the reset, then accepted', (t) => {
  const { r, q } = setup()
  q.writeLocal('fresh', 1)
  const { exchange } = link(r, q)
  exchange()
  exchange()
  t.equal(r.get('fresh').value, 1, 'q\'s own write reached r once q was swept')
  t.equal(r.record('k'), undefined, 'the deleted key did not')
  t.end()
})

test('a reset marker from a peer we are not stale with is refused', (t) => {
  const a: Replica = replica('a')
  a.writeLocal('x', 1)
  const { A } = link(a, replica('b'))
  A.s.receive({ digest: true, reset: true, source_id: 'a', from: 0, to: 99, n: 0 })
  t.equal(a.get('x').value, 1, 'nothing swept')
  t.ok(A.port.invalids.some((r) => r.includes('not stale')), 'reported as invalid')
  t.end()
})
