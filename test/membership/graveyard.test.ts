/**
 * The resurrection guard (lib/membership/graveyard.ts and its use by the
 * table): a collected dead member re-gossiped by a laggard stays dead; the
 * same id with a new generation joins; a life that really kept running
 * comes back by its rising heartbeats.
 */
import test from 'tape'
import { Graveyard, REVIVE_RISES } from '../../lib/membership/graveyard.ts'
import { WALL, beatEvery, beats, rec, state, table, tickUntil } from './support/tables.ts'

/** A table `a` that knew `b` (heartbeats up to counter `n`), held it dead and collected it. */
function collectedB() {
  const made = table('a')
  const a = made.t
  a.applyRecord(rec('b'), 0)
  const n = beatEvery(a, 'b', 0, 3000, 300)
  tickUntil(a, 3000, 67_000, 1000)
  return { a, events: made.events, n }
}

test('a collected dead member re-gossiped by a laggard stays dead', (t) => {
  const { a, events, n } = collectedB()
  t.equal(a.get('b'), undefined, 'b was collected')
  t.ok(events.some((e) => e.kind === 'down') && events.some((e) => e.kind === 'leave'), 'after down, and leave when collected')
  const before = events.length
  // A laggard (a node that was cut off) still holds b's record and its last counters, and gossips them.
  t.equal(a.applyRecord(rec('b'), 70_000), 'buried', 'b\'s record from a laggard: refused (buried)')
  t.equal(a.applyRecord(rec('b', { v: 4 }), 70_000), 'buried', 'a later version of that life too')
  for (let i = 0; i < 10; i++) a.applyBeats(beats(['b', n + 1]), 70_000 + i * 300, `laggard-${i}`)
  t.equal(a.applyRecord(rec('b'), 73_000), 'buried', 'the laggards\' frozen counter, heard ten times, even above ours, does not bring it back')
  a.applyBeats(beats(['b', n]), 73_100, 'laggard')
  t.equal(a.get('b'), undefined, 'b is not in the table')
  t.equal(events.length, before, 'no event at all')
  t.equal(a.members(73_100).length, 1, 'members() lists only a')
  t.end()
})

test('the same id with a new generation joins (a real restart)', (t) => {
  const { a, events } = collectedB()
  t.equal(a.applyRecord(rec('b', { gen: WALL + 70_000 }), 70_000), 'applied', 'b\'s new generation: applied (relayed: no life of b is held)')
  t.equal(state(a, 'b'), 'alive', 'alive')
  t.deepEqual(events.at(-1), { kind: 'join', id: 'b', gen: WALL + 70_000, reason: 'new member' }, 'join')
  t.equal(a.applyRecord(rec('b'), 70_100), 'buried', 'the old life stays buried')
  t.end()
})

test(`a buried life that kept running comes back after ${REVIVE_RISES} rises of its counter`, (t) => {
  const { a, events, n } = collectedB()
  a.applyBeats(beats(['b', n + 1]), 70_000, 'link')
  a.applyBeats(beats(['b', n + 2]), 70_300, 'link')
  t.equal(a.applyRecord(rec('b'), 70_400), 'buried', 'two rises: still buried')
  a.applyBeats(beats(['b', n + 3]), 70_600, 'link')
  t.equal(a.applyRecord(rec('b'), 70_700), 'applied', 'the third rise: its record is taken again')
  t.equal(state(a, 'b'), 'alive', 'alive')
  t.deepEqual(events.at(-1), { kind: 'join', id: 'b', gen: WALL, reason: 'back: its heartbeats rose past where it was collected' }, 'join, with the reason')
  t.end()
})

test('Graveyard: holds a life and older ones, expires after its ttl, keeps at most max burials', (t) => {
  const g = new Graveyard(1000, 2)
  g.bury('x', 10, 0, 5)
  t.ok(g.holds('x', 10), 'the buried life')
  t.ok(g.holds('x', 9), 'an older one')
  t.notOk(g.holds('x', 11), 'not a later one')
  t.notOk(g.holds('y', 10), 'not another id')
  g.bury('x', 8, 10)
  t.ok(g.holds('x', 10), 'burying an older life does not lower the generation held')
  t.notOk(g.beat('x', 10, 5), 'a counter not above the one at burial is no rise')
  t.notOk(g.beat('x', 9, 100), 'a counter of another life is no rise')
  g.bury('y', 1, 500)
  g.bury('z', 1, 600)
  t.equal(g.size, 2, 'at most two burials')
  t.notOk(g.holds('x', 10), 'the oldest went first')
  g.expire(1499)
  t.ok(g.holds('y', 1), 'y is kept until its ttl')
  g.expire(1500)
  t.notOk(g.holds('y', 1), 'y expires at 1000 ms')
  t.ok(g.holds('z', 1), 'z is younger')
  t.end()
})
