/**
 * The member table (lib/membership/table.ts): alive, suspect, dead and left
 * by the detector and by records; collection; who may end a life; a node's
 * answer to forged records and counters of itself.
 */
import test from 'tape'
import { MemberTable } from '../../lib/membership/table.ts'
import { MAX_MEMBER_V, OWN_CHANGES, readRecord } from '../../lib/membership/record.ts'
import { MEMBER_LIMITS, type MemberRecord } from '../../lib/membership/types.ts'
import { WALL, beatEvery, beats, rec, state, table, tableOptions, tickUntil } from './support/tables.ts'

test('a new member joins alive; no heartbeat within maxInterval: dead, then collected soon (nothing says it ever lived)', (t) => {
  const { t: a, events } = table('a')
  t.deepEqual(a.counts(), { alive: 1, suspect: 0, dead: 0, left: 0 }, 'a table holds its own node, alive')
  t.equal(a.applyRecord(rec('b'), 0), 'applied', 'b is learnt')
  t.deepEqual(events[0], { kind: 'join', id: 'b', gen: WALL, reason: 'new member' }, 'join, "new member"')
  tickUntil(a, 0, 9_900)
  t.equal(state(a, 'b'), 'alive', 'alive for maxInterval (10 s) without a heartbeat')
  a.tick(10_000)
  t.equal(state(a, 'b'), 'dead', 'dead at 10 s')
  t.match(events[1].reason, /no heartbeat in the 10\.0 s since it was learnt/, `down: "${events[1].reason}"`)
  t.equal(events[1].kind, 'down', 'a down event')
  tickUntil(a, 10_000, 20_000)
  t.equal(a.get('b'), undefined, 'collected maxInterval later, long before the grace period (60 s)')
  t.ok(a.isBuried('b', WALL), 'and buried: its record is refused from now on')
  t.equal(a.applyRecord(rec('b'), 20_100), 'buried', 'a laggard re-gossiping it: refused')
  t.end()
})

test('alive -> suspect -> dead by phi (8 mean intervals of silence), down with the reason; heartbeats again: up', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  const last = beatEvery(a, 'b', 0, 3000, 300) // 10 arrivals, 9 intervals of 300 ms: mean 300
  const lastAt = 2700
  t.equal(a.get('b')!.window.mean(a.opts.detector), 300, 'mean interval 300 ms')
  a.tick(lastAt + 1499)
  t.equal(state(a, 'b'), 'alive', 'phi just under 5: alive')
  a.tick(lastAt + 1500)
  t.equal(state(a, 'b'), 'suspect', 'phi 5: suspect')
  t.equal(events.filter((e) => e.kind !== 'join').length, 0, 'suspect is not an event')
  a.tick(lastAt + 2399)
  t.equal(state(a, 'b'), 'suspect', 'phi just under 8: still suspect')
  a.tick(lastAt + 2400)
  t.equal(state(a, 'b'), 'dead', 'phi 8: dead')
  const down = events.find((e) => e.kind === 'down')!
  t.equal(down.reason, 'no heartbeat for 2.4 s (phi 8.0 >= 8)', `the reason: "${down.reason}"`)
  t.equal(a.members(lastAt + 2400).find((m) => m.id === 'b')!.phi, 0, 'a dead member shows phi 0')
  a.applyBeats(beats(['b', last]), 6000, 'link')
  t.equal(state(a, 'b'), 'dead', 'the same counter again is no heartbeat')
  a.applyBeats(beats(['b', last + 1]), 6100, 'link')
  t.equal(state(a, 'b'), 'alive', 'a higher counter: alive again')
  t.deepEqual(events.at(-1), { kind: 'up', id: 'b', gen: WALL, reason: 'heartbeats resumed' }, 'up, "heartbeats resumed"')
  t.equal(a.get('b')!.window.samples, 0, 'the detector starts afresh for the new stretch')
  t.end()
})

test('suspect back to alive without an event when heartbeats come before the threshold', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  const n = beatEvery(a, 'b', 0, 3000, 300)
  a.tick(2700 + 1800)
  t.equal(state(a, 'b'), 'suspect', 'suspect after 1.8 s')
  a.applyBeats(beats(['b', n + 1]), 4600, 'link')
  a.tick(4600)
  t.equal(state(a, 'b'), 'alive', 'alive again')
  t.deepEqual(events.map((e) => e.kind), ['join'], 'no down, no up')
  t.end()
})

test('this node\'s own stall convicts no one: a round long after the last overlooks the stall; the heartbeats read after it keep the members alive', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  a.applyRecord(rec('c'), 0)
  let n = 0
  for (let at = 0; at <= 3000; at += 300) {
    n++
    a.applyBeats(beats(['b', n], ['c', n]), at, 'link')
    a.tick(at)
  }
  const samples = a.get('b')!.window.samples
  // a stalls after its round at 3000 (SIGSTOP, a 4.3 s synchronous task): the round due at 3300 runs at 7300,
  // before the heartbeats b and c sent meanwhile, which wait in its socket buffers, are read.
  a.tick(7300, 4000)
  t.equal(state(a, 'b'), 'alive', 'b is not convicted over a\'s stall')
  t.equal(state(a, 'c'), 'alive', 'nor c')
  t.deepEqual(events.map((e) => e.kind), ['join', 'join'], 'no down, no up')
  a.applyBeats(beats(['b', n + 13], ['c', n + 13]), 7320, 'link')
  t.equal(a.get('b')!.window.samples, samples + 1, 'the queued heartbeats are read: one more sample')
  t.ok(a.get('b')!.window.mean(a.opts.detector) < 400, `and the 4 s stall is not in it (mean ${a.get('b')!.window.mean(a.opts.detector).toFixed(0)} ms)`)
  // c really died during the stall: it is still convicted, on a's time after the stall.
  for (let at = 7600; at <= 12_000; at += 300) {
    a.applyBeats(beats(['b', n + 14 + (at - 7600) / 300]), at, 'link')
    a.tick(at)
  }
  t.equal(state(a, 'b'), 'alive', 'b beats on: alive')
  t.equal(state(a, 'c'), 'dead', 'c, silent after the stall too: dead')
  t.deepEqual(events.filter((e) => e.kind === 'down').map((e) => e.id), ['c'], 'one down, for c')
  t.end()
})

test('a node that stalls every round still convicts: silence grows by an interval a round', (t) => {
  const { t: a } = table('a')
  a.applyRecord(rec('b'), 0)
  beatEvery(a, 'b', 0, 3000, 300)
  let at = 2700
  let rounds = 0
  while (state(a, 'b') !== 'dead' && rounds < 100) {
    at += 1000 // every round 1,000 ms after the last: 700 ms of it a stall
    a.tick(at, 700)
    rounds++
  }
  t.equal(state(a, 'b'), 'dead', `b, silent, is dead after ${rounds} rounds`)
  t.ok(rounds <= 9, 'within eight mean intervals (of 300 ms) of rounds, as without stalls')
  t.end()
})

test('dead members are collected after the grace period (and leave the summary at half of it)', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  beatEvery(a, 'b', 0, 3000, 300)
  a.tick(6000)
  t.equal(state(a, 'b'), 'dead', 'dead')
  const withB = a.summary()
  t.equal(a.summarized, 2, 'the dead member is still in the summary (others learn it is gone by their own detectors)')
  tickUntil(a, 6000, 6000 + 30_000, 1000)
  t.equal(a.summarized, 1, 'at half the grace period it leaves the summary')
  t.notEqual(a.summary(), withB, 'the summary changed')
  tickUntil(a, 36_000, 66_000, 1000)
  t.equal(a.get('b'), undefined, 'collected after 60 s')
  t.equal(events.at(-1)!.kind, 'leave', 'a leave event')
  t.match(events.at(-1)!.reason, /collected after 60\.0 s dead/, events.at(-1)!.reason)
  t.equal(a.stats.collected, 1, 'counted')
  t.end()
})

test('left: the node\'s own record says so (on its link): leave at once, heartbeats no longer count, collected after grace', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  const n = beatEvery(a, 'b', 0, 1500, 300)
  t.equal(a.applyRecord(rec('b', { v: 2, st: 'left' }), 1600, true), 'applied', 'b\'s own left record, from b')
  t.equal(state(a, 'b'), 'left', 'left')
  t.deepEqual(events.at(-1), { kind: 'leave', id: 'b', gen: WALL, reason: 'left the cluster' }, 'leave, "left the cluster"')
  a.applyBeats(beats(['b', n + 5]), 1700, 'link')
  t.equal(state(a, 'b'), 'left', 'a heartbeat does not bring a left member back')
  tickUntil(a, 1600, 1600 + 60_000, 1000)
  t.equal(a.get('b'), undefined, 'collected after the grace period')
  t.equal(events.filter((e) => e.kind === 'leave').length, 1, 'one leave event only')
  t.equal(a.applyRecord(rec('b', { v: 2, st: 'left' }), 62_000, true), 'buried', 'its record is refused after collection')
  t.end()
})

test('a peer cannot end a life this node holds alive (unsigned): a relayed left or a later generation waits for the detector', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  const n = beatEvery(a, 'b', 0, 1500, 300)
  t.equal(a.applyRecord(rec('b', { v: 2, st: 'left' }), 1500), 'not authority', 'a left record of b relayed by another peer: refused')
  t.equal(a.applyRecord(rec('b', { gen: WALL + 10, addr: 'evil.test:1' }), 1500), 'not authority', 'a later generation of b relayed: refused')
  t.equal(state(a, 'b'), 'alive', 'b stays alive')
  t.equal(a.get('b')!.record.gen, WALL, 'in its generation')
  t.deepEqual(events.map((e) => e.kind), ['join'], 'no leave, no down')
  t.equal(a.stats.recordsRefused, 2, 'both refusals counted')
  t.equal(a.applyRecord(rec('b', { v: 2, meta: { role: 'x' } }), 1500), 'applied', 'a relayed record that ends nothing (new metadata) is taken')
  // Once this node's own detector holds b dead, the relayed records are taken.
  a.tick(1200 + 3000)
  t.equal(state(a, 'b'), 'dead', 'b went silent: dead by the detector')
  t.equal(a.applyRecord(rec('b', { v: 3, st: 'left' }), 4300), 'applied', 'now the relayed left record is taken')
  t.equal(state(a, 'b'), 'left', 'dead -> left')
  t.equal(a.applyRecord(rec('b', { gen: WALL + 10 }), 4400), 'applied', 'and a later generation replaces the ended life')
  t.equal(state(a, 'b'), 'alive', 'the new life is alive')
  t.deepEqual(events.slice(-2).map((e) => [e.kind, e.gen]), [['leave', WALL], ['join', WALL + 10]], 'the old life leaves, the new one joins')
  t.ok(n > 0)
  t.end()
})

test('the node itself can end its life on its own link: a restart with a new generation', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  beatEvery(a, 'b', 0, 1500, 300)
  t.equal(a.applyRecord(rec('b', { gen: WALL + 5000 }), 1600, true), 'applied', 'b\'s new generation, from b')
  t.deepEqual(
    events.slice(-2).map((e) => [e.kind, e.gen, e.reason]),
    [
      ['leave', WALL, `restarted as generation ${WALL + 5000}`],
      ['join', WALL + 5000, `restarted (generation ${WALL + 5000} after ${WALL})`],
    ],
    'leave of the old life, join of the new, with the reasons',
  )
  t.ok(a.isBuried('b', WALL), 'the old life is buried')
  t.equal(a.applyRecord(rec('b'), 1700), 'buried', 'a laggard\'s record of the old life: refused')
  a.applyBeats(beats(['b', 99]), 1700, 'link')
  t.equal(a.get('b')!.hb, 0, 'heartbeats of the old generation do not count for the new one')
  t.equal(a.applyRecord(rec('b', { gen: WALL + 1000 }), 1800, true), 'stale', 'an older generation than held: stale')
  t.equal(a.applyRecord(rec('b', { gen: WALL + 5000 }), 1800), 'known', 'the same record again: known')
  t.end()
})

test('signed tables: a signed record of the node, relayed by anyone, can say it left; unsigned or badly signed ones are refused', (t) => {
  const sign = (r: MemberRecord) => `sig:${r.id}:${r.gen}:${r.v}:${r.st}`
  const verify = (r: MemberRecord) => r.sig === sign(r)
  const { t: a } = table('a', { sign, verify })
  t.equal(a.selfRecord.sig, `sig:a:${WALL}:1:up`, 'this node signs its own record')
  const b1 = { ...rec('b') }
  t.equal(a.applyRecord(b1, 0), 'unsigned', 'an unsigned record: refused')
  t.equal(a.applyRecord({ ...b1, sig: sign(b1) }, 0), 'applied', 'signed: applied')
  beatEvery(a, 'b', 0, 1500, 300)
  const left = rec('b', { v: 2, st: 'left' })
  t.equal(a.applyRecord({ ...left, sig: 'forged' }, 1500), 'bad signature', 'a forged left record: refused')
  t.equal(state(a, 'b'), 'alive', 'b stays alive')
  t.equal(a.applyRecord({ ...left, sig: sign(left) }, 1500), 'applied', 'b\'s signed left record, relayed: applied')
  t.equal(state(a, 'b'), 'left', 'left at once')
  const throwing = table('c', { verify: () => { throw new Error('boom') } }).t
  t.equal(throwing.applyRecord({ ...b1, sig: 'x' }, 0), 'bad signature', 'a verify that throws refuses the record')
  t.end()
})

test('records and counters of this node\'s own life that it did not write are answered, never taken', (t) => {
  const { t: a } = table('a')
  t.equal(a.applyRecord(rec('a', { v: 5, st: 'left' }), 0), 'refuted', 'a forged left record of a, v5: refuted')
  t.equal(a.selfRecord.v, 6, 'a writes its record again above it (v6)')
  t.equal(a.selfRecord.st, 'up', 'still up')
  t.equal(a.applyRecord(rec('a', { gen: WALL + 1 }), 0), 'not ours', 'another generation of a: not this life')
  t.equal(a.applyRecord(a.selfRecord, 0), 'known', 'its own record: known')
  a.beat()
  t.equal(a.heartbeat, 1, 'a beats once a round')
  a.applyBeats(beats(['a', 500]), 10, 'link')
  t.equal(a.heartbeat, 500, 'a forged higher counter of a: a catches up')
  a.beat()
  t.equal(a.heartbeat, 501, 'and its next beat rises above it, so others see a rise')
  t.equal(a.stats.refuted, 2, 'both answers counted')
  t.end()
})

test('a forged record of this node\'s life with a version near the bound is answered by a new generation: the forged record dies with the old life', (t) => {
  const { t: a } = table('a')
  const renewed: MemberRecord[] = []
  a.onRenew = (r) => renewed.push(r)
  const huge = rec('a', { v: MAX_MEMBER_V, addr: 'evil.test:1', st: 'up', meta: { owned: true } })
  t.equal(typeof readRecord(huge, MEMBER_LIMITS, WALL), 'object', 'the bound itself is readable')
  t.equal(readRecord({ ...huge, v: MAX_MEMBER_V + 1 }, MEMBER_LIMITS, WALL), `member v above ${MAX_MEMBER_V}`, 'above it is refused by every reader')
  t.equal(readRecord({ ...huge, v: Number.MAX_SAFE_INTEGER }, MEMBER_LIMITS, WALL), `member v above ${MAX_MEMBER_V}`, 'and so is the largest safe integer')
  t.equal(a.applyRecord(rec('a', { v: MAX_MEMBER_V - OWN_CHANGES, st: 'left' }), 0), 'refuted', 'one that leaves room for a\'s own changes is answered in this life')
  t.equal(a.selfRecord.gen, WALL, 'a\'s generation unchanged')
  t.equal(a.applyRecord(huge, 0), 'refuted', 'one at the bound: answered too')
  t.deepEqual([a.selfRecord.gen, a.selfRecord.v, a.selfRecord.addr, a.selfRecord.st], [WALL + 1, 1, 'a.test:7000', 'up'], 'by a new life: generation + 1, version 1, a\'s own address, up')
  t.deepEqual(renewed, [a.selfRecord], 'its record handed on to be sent at once')
  t.equal(a.applyRecord(huge, 0), 'not ours', 'the forged record is now of an earlier life: not ours')
  t.equal(a.stats.refuted, 2, 'both answers counted')
  a.leave()
  t.equal(a.applyRecord(rec('a', { gen: WALL + 1, v: MAX_MEMBER_V }), 0), 'not ours', 'after a leaves, a forged record at the bound is refused: a stays left')
  t.deepEqual([a.selfRecord.gen, a.selfRecord.st], [WALL + 1, 'left'], 'in its generation')
  t.equal(typeof readRecord(a.selfRecord, MEMBER_LIMITS, WALL + 1), 'object', 'and a\'s leave is a record every node reads')
  t.end()
})

test('maxMembers bounds the table; beatsSince gives the rises after a mark, not back to their link', (t) => {
  const a = new MemberTable({ id: 'a', gen: WALL, addr: 'a.test:7000' }, tableOptions({ limits: { ...MEMBER_LIMITS, maxMembers: 3 } }), 0)
  t.equal(a.applyRecord(rec('b'), 0), 'applied', 'b')
  t.equal(a.applyRecord(rec('c'), 0), 'applied', 'c')
  t.equal(a.applyRecord(rec('d'), 0), 'full', 'a fourth member: refused (full)')
  a.beat()
  const mark0 = a.seq
  a.applyBeats(beats(['b', 1], ['c', 1]), 10, 'link-1')
  a.applyBeats(beats(['c', 2]), 20, 'link-2')
  const all = a.beatsSince(0, null, 100)
  t.deepEqual(all.beats, ['a', WALL, 1, 'b', WALL, 1, 'c', WALL, 2], 'every rise, the latest counter each')
  t.deepEqual(a.beatsSince(mark0, 'link-1', 100).beats, ['c', WALL, 2], 'after the mark, minus what came from link-1 (b)')
  t.deepEqual(a.beatsSince(mark0, 'link-2', 100).beats, ['b', WALL, 1], 'to link-2: b, not c (it came from there)')
  const capped = a.beatsSince(0, null, 2)
  t.equal(capped.beats.length, 6, 'at most max entries')
  t.deepEqual(a.beatsSince(capped.mark, null, 2).beats, ['c', WALL, 2], 'the next call goes on from the mark it returned')
  t.end()
})

test('summaries: equal records, equal summaries, whatever the order they were learnt in; buckets find what differs', (t) => {
  const x = table('x').t
  const y = table('y').t
  x.applyRecord(rec('y'), 0)
  for (const id of ['p', 'q', 'r', 's']) x.applyRecord(rec(id), 0)
  y.applyRecord(rec('x'), 0)
  for (const id of ['s', 'r', 'q', 'p']) y.applyRecord(rec(id), 0)
  y.applyRecord(x.selfRecord, 0)
  x.applyRecord(y.selfRecord, 0)
  t.equal(x.summary(), y.summary(), 'same six records: same 16-digit summary')
  t.match(x.summary(), /^[0-9a-f]{16}$/, 'sixteen hex digits')
  y.applyRecord(rec('q', { v: 2 }), 0)
  t.notEqual(x.summary(), y.summary(), 'one record newer at y: summaries differ')
  const bx = x.buckets(4)
  const by = y.buckets(4)
  const differ = new Set(bx.flatMap((h, i) => (h === by[i] ? [] : [i])))
  t.equal(differ.size, 1, 'one bucket of four differs')
  t.deepEqual(y.recordsIn(4, differ).map((r) => r.id).includes('q'), true, 'and it holds q')
  t.end()
})
