/**
 * A record a node refuses for good (its `accept` says no, or the value is
 * over its `maxValueBytes`) is passed over there: its clock goes past it,
 * and it is not fetched again. That node must not vouch for it to its
 * peers: no chain it sends, and no clock entry, carries a peer's clock
 * past the record, so a peer that would take it still asks for it (from a
 * node that holds it), and the invariant (design rule 4) holds at the peer.
 */
import test from 'tape'
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import type { Rec } from '../../lib/core/types.ts'
import { link, replica } from '../support/core.ts'

let t0 = 1000
const now = () => t0
const node = (id: string, accept?: (r: Rec) => boolean) => new Replica({ id, resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, accept, now })
const noBig = (r: Rec) => r.key !== 'big'

/** Whether `q` holds every current entry of `p` it claims (design rule 4), for p's own keys. */
function invariant(p: Replica, q: Replica): string[] {
  const bad: string[] = []
  for (const rec of p.self.log) {
    const held = q.record(rec.key)
    if (rec.version <= q.clock.get(p.id) && (held === undefined || held.version < rec.version)) bad.push(rec.key)
  }
  return bad
}

test('a record passed over in a response is not vouched for: the next node still fetches it from its writer', (t) => {
  const a = node('A'), b = node('B', noBig), c = node('C')
  a.writeLocal('a0', 0)
  a.writeLocal('big', 'refused at B')
  for (let i = 1; i < 4; i++) a.writeLocal('a' + i, i)
  link(a, b).exchange()
  t.equal(b.record('big'), undefined, 'B refused big')
  t.equal(b.clock.get('A'), a.clock.get('A'), 'and passed over it: its clock covers it, it is not fetched again')
  const bc = link(b, c)
  bc.exchange()
  t.equal(c.get('a3').value, 3, 'C holds the records after big from B')
  t.ok(c.clock.get('A') < a.record('big')!.version, "but C's clock for A stays below big")
  t.deepEqual(invariant(a, c), [], 'the invariant holds at C')
  link(a, c).exchange()
  t.equal(c.get('big').value, 'refused at B', 'C fetched big from A')
  t.equal(c.clock.get('A'), a.clock.get('A'), "and C's clock for A caught up")
  const rounds = bc.exchange()
  t.ok(rounds <= 2, `B and C settle in ${rounds} exchange(s): B is not asked for big again and again`)
  t.equal(b.record('big'), undefined, 'B still does not hold big')
  t.end()
})

test('a record passed over from a push is not vouched for in relays or responses either', (t) => {
  const a = node('A'), b = node('B', noBig), c = node('C')
  a.writeLocal('a0', 0)
  const ab = link(a, b)
  const bc = link(b, c)
  ab.exchange()
  bc.exchange()
  t.equal(c.clock.get('A'), a.clock.get('A'), 'all caught up')
  a.writeLocal('big', 'refused at B')
  a.writeLocal('a1', 1)
  ab.run() // pushes
  t.equal(b.get('a1').value, 1, 'B took the push after big')
  t.equal(b.clock.get('A'), a.clock.get('A'), 'and passed over big')
  bc.run() // relays
  bc.exchange()
  t.equal(c.get('a1').value, 1, 'C holds a1')
  t.deepEqual(invariant(a, c), [], 'the invariant holds at C: its clock does not pass big')
  t.end()
})

test('a hole ends once its key is written again by its source and taken', (t) => {
  const a = node('A'), b = node('B', (r) => r.key !== 'big' || r.value !== 'no'), c = node('C')
  a.writeLocal('big', 'no')
  a.writeLocal('a1', 1)
  link(a, b).exchange()
  t.equal(b.record('big'), undefined, 'B refused big')
  a.writeLocal('big', 'yes')
  link(a, b).exchange()
  t.equal(b.get('big').value, 'yes', 'B took the newer big')
  link(b, c).exchange()
  t.equal(c.clock.get('A'), a.clock.get('A'), "C's clock for A follows B's again: nothing B passed over is current")
  t.deepEqual(invariant(a, c), [], 'the invariant holds at C')
  t.end()
})

test('holes are bounded: past MAX_HOLES a record refused for good is not passed over, its chain breaks instead', async (t) => {
  const { Holes, MAX_HOLES } = await import('../../lib/core/holes.ts')
  const h = new Holes()
  const src = { clock: 100 }
  t.equal(h.vouched(src), 100, 'no hole: the clock is vouched for')
  t.ok(h.add(src, 'k', 50), 'a hole')
  t.equal(h.vouched(src), 49, 'vouched below it')
  t.ok(h.between(src, 10, 60) && !h.between(src, 50, 60) && !h.between(src, 10, 50), 'a chain spans it only from below to above')
  h.taken(src, 'k', 40)
  t.equal(h.vouched(src), 49, 'an older record of the key ends nothing')
  h.taken(src, 'k', 70)
  t.equal(h.vouched(src), 100, 'a later one ends the hole')
  for (let i = 0; i < MAX_HOLES; i++) h.add(src, 'k' + i, 1000 + i)
  t.notOk(h.add(src, 'one more', 5000), `past ${MAX_HOLES} holes, add says no`)
  t.ok(h.add(src, 'k0', 6000), 'a held key still moves')
  t.end()
})

test('a record over a limit of this node is a hole too: the next node still fetches it', (t) => {
  const a = node('A'), b = node('B'), c = node('C')
  a.writeLocal('a0', 0)
  let deep: unknown = 1
  for (let i = 0; i < 70; i++) deep = [deep]
  a.writeLocal('deep', deep as never)
  a.writeLocal('a1', 1)
  link(a, b).exchange()
  t.equal(b.record('deep'), undefined, 'B refused the value nested deeper than its limit')
  t.equal(b.clock.get('A'), a.clock.get('A'), 'and passed over it')
  link(b, c).exchange()
  t.deepEqual(invariant(a, c), [], "C's clock does not pass it")
  t.end()
})
