/**
 * The resurrection guard (lib/membership/graveyard.ts and its use by the
 * table): a collected dead member re-gossiped by a laggard stays dead; the
 * same id with a new generation joins; a life that really kept running
 * comes back by its rising heartbeats, and so does an earlier life, or its
 * own record on its own link, over a later generation a peer forged.
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

test('Graveyard: a burial spares a life known alive below it, and passes the owner\'s own word over a later life it never confirmed', (t) => {
  const g = new Graveyard(1000, 10)
  g.bury('x', 10, 0, 5)
  g.bury('x', 20, 0, 0, { alive: 15 })
  t.ok(g.holds('x', 20) && g.holds('x', 14) && g.holds('x', 10), 'the buried life and those below the one alive are refused')
  t.notOk(g.holds('x', 15), 'the life alive is not')
  t.notOk(g.holds('x', 17), 'nor one between it and the buried one')
  t.notOk(g.holds('x', 12, true), 'the owner\'s own word passes a later life it never confirmed')
  t.ok(g.holds('x', 20, true), 'but not the buried life itself')
  g.bury('y', 30, 0, 0, { confirmed: true })
  t.ok(g.holds('y', 25, true), 'nor a later life it confirmed on its own link')
  g.spare('y', 25)
  t.notOk(g.holds('y', 25) || g.holds('y', 29), 'spared: that life is no longer refused, nor later ones')
  t.ok(g.holds('y', 24) && g.holds('y', 30), 'earlier ones and the buried one are')
  t.notOk(g.beat('y', 20, 1) || g.beat('y', 20, 2) || g.beat('y', 20, 3), 'an earlier life rising twice past where it was first seen: not yet')
  t.ok(g.beat('y', 20, 4), 'the third rise brings it back')
  t.notOk(g.holds('y', 20), 'no longer refused')
  t.end()
})

/**
 * A forged later generation of `v` (within the clock offset), relayed to a
 * table `a` that did not hold `v` alive: taken, as a relayed later life is.
 */
function forgedV() {
  const made = table('a')
  const a = made.t
  const forged = WALL + 290_000
  t0(a.applyRecord(rec('v', { gen: forged, addr: 'evil.test:1' }), 0))
  return { a, events: made.events, forged }
}
function t0(outcome: string): void {
  if (outcome !== 'applied') throw new Error(`setup: ${outcome}`)
}

test('a forged later generation does not keep out the member\'s own record on its own link, held or buried', (t) => {
  const { a, events, forged } = forgedV()
  t.equal(a.applyRecord(rec('v'), 100), 'stale', 'v\'s real (earlier) life relayed: stale while the later one is held')
  t.equal(a.applyRecord(rec('v'), 200, true), 'applied', 'from v itself, on its own link: taken over the later life v never confirmed')
  t.equal(a.get('v')!.record.gen, WALL, 'v at its real generation')
  t.equal(a.get('v')!.record.addr, 'v.test:7000', 'and address')
  t.deepEqual(events.slice(-2).map((e) => [e.kind, e.gen, e.reason]), [
    ['leave', forged, `replaced by generation ${WALL} (its own record, on its own link)`],
    ['join', WALL, `generation ${WALL}, not ${forged} (its own record, on its own link)`],
  ], 'the forged life leaves, the real one joins, with the reasons')
  t.equal(a.applyRecord(rec('v', { gen: forged, addr: 'evil.test:1' }), 300), 'buried', 'the forged life relayed again: buried')
  t.equal(a.applyRecord(rec('v', { v: 2, meta: { k: 1 } }), 300), 'applied', 'v\'s real life relayed: taken (not buried)')
  t.equal(a.applyRecord(rec('v', { gen: WALL - 1000 }), 300, true), 'stale', 'an earlier life than the one v confirmed: stale, even on v\'s link')

  // Collected first: the burial of a later life v never confirmed does not refuse v's own record.
  const b = forgedV()
  tickUntil(b.a, 0, 20_000, 1000)
  t.ok(b.a.get('v') === undefined && b.a.isBuried('v', b.forged), 'never heard to beat: dead after 10 s, collected and buried 10 s later')
  t.equal(b.a.applyRecord(rec('v'), 21_000), 'buried', 'v\'s real life relayed: refused (buried under the later one)')
  t.equal(b.a.applyRecord(rec('v'), 21_000, true), 'applied', 'from v, on its own link: taken')
  t.equal(b.a.applyRecord(rec('v', { v: 2 }), 21_100), 'applied', 'then relayed records of it too')
  t.equal(b.a.applyRecord(rec('v', { gen: b.forged }), 21_100), 'buried', 'the forged life stays buried')
  t.end()
})

test(`an earlier generation whose counter rises ${REVIVE_RISES} times comes back over a later one held dead or buried; a laggard's does not`, (t) => {
  // Buried: the forged life was never heard to beat, and was collected.
  const { a, events, forged } = forgedV()
  tickUntil(a, 0, 20_000, 1000)
  const vBeat = (n: number, at: number) => a.applyBeats(beats(['v', n]), at, 'relay')
  vBeat(40, 21_000)
  for (let i = 0; i < 10; i++) vBeat(40, 21_100 + i)
  t.equal(a.applyRecord(rec('v'), 21_200), 'buried', 'a frozen counter of the earlier life, heard eleven times: still refused')
  vBeat(41, 21_300)
  vBeat(42, 21_600)
  t.equal(a.applyRecord(rec('v'), 21_700), 'buried', 'two rises: still refused')
  vBeat(43, 21_900)
  t.equal(a.applyRecord(rec('v'), 22_000), 'applied', `the ${REVIVE_RISES}rd rise: v's real life, relayed, is taken`)
  t.deepEqual(events.at(-1), { kind: 'join', id: 'v', gen: WALL, reason: 'back: its heartbeats rose past where it was collected' }, 'join')
  t.equal(a.applyRecord(rec('v', { gen: forged }), 22_100), 'buried', 'the forged later life stays buried')

  // Held dead: the forged life was kept beating (by whoever forged it), then went silent.
  const h = forgedV()
  for (let i = 1; i <= 5; i++) h.a.applyBeats(['v', h.forged, i], i * 300, 'evil')
  tickUntil(h.a, 1500, 6000, 100)
  t.equal(state(h.a, 'v'), 'dead', 'the forged life went silent: dead')
  t.equal(h.a.applyRecord(rec('v'), 6100), 'stale', 'v\'s real life relayed: stale while the later one is held dead')
  for (let i = 0; i < REVIVE_RISES + 1; i++) h.a.applyBeats(beats(['v', 100 + i]), 6200 + i * 300, 'relay')
  t.equal(h.a.applyRecord(rec('v'), 7500), 'applied', 'its counter rose: its record is taken over the dead later life')
  t.equal(h.a.get('v')!.record.gen, WALL, 'v at its real generation')
  t.equal(h.a.applyRecord(rec('v', { gen: h.forged }), 7600), 'buried', 'the forged life is buried')
  t.equal(h.a.applyRecord(rec('v', { gen: WALL - 5 }), 7600), 'buried', 'and earlier lives than v\'s stay refused')
  t.end()
})

test('a later life held alive is not replaced by an earlier one\'s rising counter, relayed', (t) => {
  const { a, forged } = forgedV()
  for (let i = 1; i <= 10; i++) {
    a.applyBeats(['v', forged, i], i * 300, 'relay')
    a.applyBeats(beats(['v', 100 + i]), i * 300, 'relay')
  }
  a.tick(3000)
  t.equal(state(a, 'v'), 'alive', 'the later life beats: alive')
  t.equal(a.applyRecord(rec('v'), 3100), 'stale', 'the earlier life relayed: stale (no relay decides between two lives that beat)')
  t.end()
})
