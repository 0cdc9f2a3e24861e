import test from 'tape'
import { Replica } from '../../lib/core/replica.ts'
import type { Rec } from '../../lib/core/types.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import { Collected } from '../../lib/core/tombstones.ts'
import { GENERATION_QUIET_MS } from '../../lib/core/clock.ts'
import { replica } from '../support/core.ts'

test('local versions count up from 1 and stay above everything seen', (t) => {
  const r = replica('a')
  t.equal(r.writeLocal('x', 1).rec.version, 1, 'first write: version 1')
  t.equal(r.writeLocal('y', 1).rec.version, 2, 'second: 2')
  r.applyRemote({ key: 'z', value: 0, source_id: 'b', version: 40 }, r.clock.intern('b', undefined))
  t.equal(r.version, 40, 'version is the highest seen, remote included')
  t.equal(r.writeLocal('x', 2).rec.version, 41, 'the next local write goes above it (never silently dropped)')
  t.equal(r.get('x').value, 2, 'and it is applied')
  t.end()
})

test('a physical clock floors versions (hybrid logical clock)', (t) => {
  let now = 1_000
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, now: () => now })
  t.equal(r.writeLocal('x', 1).rec.version, 1000, 'version follows the clock')
  t.equal(r.writeLocal('x', 2).rec.version, 1001, 'same instant: still strictly increasing')
  now = 500
  t.equal(r.writeLocal('x', 3).rec.version, 1002, 'the clock going back never lowers versions')
  t.end()
})

test('resolve is called with the host and the update; a refusal leaves state alone', (t) => {
  const calls: unknown[] = []
  const r = new Replica({
    id: 'a',
    resolve: (host, u) => {
      calls.push([host, u.key])
      return u.value !== 'no'
    },
    sort,
    maxHistory: 10,
  })
  t.ok(r.writeLocal('k', 'yes').applied, 'accepted')
  t.notOk(r.applyRemote({ key: 'k', value: 'no', source_id: 'b', version: 9 }, r.clock.intern('b', undefined)), 'refused')
  t.equal(calls.length, 2, 'called for the local and the remote update')
  t.equal((calls[0] as unknown[])[0], r, 'with the replica as host')
  t.equal(r.get('k').value, 'yes', 'refused update not applied')
  t.equal(r.stats.rejected, 1, 'counted')
  t.end()
})

test('a caller-supplied state is loaded, indexed and written through', (t) => {
  const state: Record<string, any> = {
    a: { value: 1, version: 3, source_id: 'x' },
    b: { value: 2, version: 7 }, // no source: taken as our own
  }
  const r = replica('me', { state })
  t.equal(r.get('a').value, 1, 'loaded a')
  t.equal(r.clock.get('x'), 3, 'clock covers the loaded source')
  t.equal(r.clock.get('me'), 7, 'own source from entries without source_id')
  t.equal(r.writeLocal('c', 3).rec.version, 8, 'new versions go above the loaded ones')
  t.equal(state.c.value, 3, 'write-through')
  t.equal(state.c.source_id, 'me', 'with the source')
  t.end()
})

test('__proto__, constructor and prototype keys neither throw nor pollute', (t) => {
  const state: Record<string, any> = {}
  const r = replica('me', { state })
  for (const key of ['__proto__', 'constructor', 'prototype', 'hasOwnProperty']) {
    r.applyRemote({ key, value: { polluted: true }, source_id: 'evil', version: 5 }, r.clock.intern('evil', undefined))
    t.deepEqual(r.get(key).value, { polluted: true }, `${key} stored as data`)
  }
  t.equal(({} as any).polluted, undefined, 'Object.prototype untouched')
  t.equal(Object.getPrototypeOf(state), Object.prototype, 'the caller\'s object keeps its prototype')
  t.ok(Object.prototype.hasOwnProperty.call(state, '__proto__'), '__proto__ is an own property of the caller\'s object')
  t.end()
})

test('get reports absent keys and tombstones the seed\'s way', (t) => {
  const r = replica('a')
  t.deepEqual(r.get('nope'), { version: -Infinity, value: null }, 'absent')
  r.writeLocal('k', 'v')
  r.writeLocal('k', null, true)
  t.deepEqual(r.get('k'), { version: -Infinity, value: null }, 'deleted reads as absent')
  t.equal(r.record('k')?.deleted, true, 'the tombstone is held')
  t.deepEqual([...r.keys()], [], 'keys() skips tombstones')
  t.end()
})

test('tombstones in a caller-supplied state are collected like applied ones', (t) => {
  let time = 10_000
  const state: Record<string, any> = {
    gone: { value: null, version: 6, source_id: 'b', deleted: true },
    mine: { value: null, version: 9, source_id: 'a', deleted: true },
    live: { value: 1, version: 7, source_id: 'b' },
  }
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => time, state })
  t.equal(r.collect(14_999, 5_000), 0, 'before the grace period: nothing forgotten')
  time = 15_000
  t.equal(r.collect(time, 5_000), 1, 'after it: b\'s loaded tombstone is forgotten')
  t.equal(r.record('gone'), undefined, 'its key is gone')
  t.notOk('gone' in state, 'from the caller\'s object too')
  t.equal(r.clock.find('b', undefined)?.gc, 6, 'b\'s gc floor rose to it')
  t.equal(r.record('mine')?.deleted, true, 'our own loaded tombstone is kept')
  t.equal(r.get('live').value, 1, 'live records stay')
  t.end()
})

test('a forgotten tombstone is remembered by key: a record it beat is refused however it comes back; other old records are taken', (t) => {
  let time = 10_000
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => time })
  const b = r.clock.intern('b', undefined)
  r.applyRemote({ key: 'k', value: 1, source_id: 'b', version: 50 }, b)
  r.applyRemote({ key: 'k', value: null, source_id: 'b', version: 60, deleted: true }, b)
  r.clock.advance(b, 60)
  time = 20_000
  t.equal(r.collect(time, 5_000), 1, 'b\'s tombstone of k is forgotten')
  // A source this node never knew (its clock of it is 0): a replay of a record the tombstone beat.
  const x = r.clock.intern('x', undefined)
  t.notOk(r.applyRemote({ key: 'k', value: 'old', source_id: 'x', version: 40 }, x), 'an older record of k from an unknown source is refused')
  t.equal(r.record('k'), undefined, 'k stays deleted')
  t.ok(r.applyRemote({ key: 'k', value: 'new', source_id: 'x', version: 70 }, x), 'a newer record of k is taken (k is written again)')
  t.equal(r.get('k').value, 'new', 'and held')
  // A record the clock covers, of a key never deleted here, older than the forgotten tombstone.
  const c = r.clock.intern('c', undefined)
  r.clock.advance(c, 30)
  t.ok(r.applyRemote({ key: 'other', value: 1, source_id: 'c', version: 20 }, c), 'an old covered record of a key never deleted here is taken (a lie about completeness, repaired)')
  t.equal(r.get('other').value, 1, 'and held')
  t.end()
})

test('a user resolve is not overruled by a forgotten tombstone: only a record the clock covers at or below it is refused', (t) => {
  let time = 10_000
  // strictly_order_values wrapped in a function of the user's: a value beats a delete.
  const resolve = (g: Parameters<typeof resolution.strictly_order_values>[0], u: Rec) => resolution.strictly_order_values(g, u)
  const r = new Replica({ id: 'c', resolve, sort, maxHistory: 10, time: () => time })
  const b = r.clock.intern('b', undefined)
  r.applyRemote({ key: 'k', value: null, source_id: 'b', version: 60, deleted: true }, b)
  r.clock.advance(b, 60)
  time = 20_000
  t.equal(r.collect(time, 5_000), 1, 'b\'s tombstone of k is forgotten')
  const a = r.clock.intern('a', undefined)
  t.ok(r.applyRemote({ key: 'k', value: 5, source_id: 'a', version: 40 }, a), 'a record the clock does not cover is left to resolve, which takes it (as the deleter itself did)')
  t.equal(r.get('k').value, 5, 'held')
  r.applyRemote({ key: 'j', value: null, source_id: 'b', version: 61, deleted: true }, b)
  r.clock.advance(b, 61)
  time = 30_000
  t.equal(r.collect(time, 5_000), 1, 'a tombstone of j is forgotten too')
  r.clock.advance(a, 45)
  t.notOk(r.applyRemote({ key: 'j', value: 9, source_id: 'a', version: 45 }, a), 'a record of j the clock covers, at or below that tombstone, is refused')
  t.equal(r.record('j'), undefined, 'j stays deleted')
  t.end()
})

test('forgotten tombstones past the bound, or from an earlier life, leave a floor: covered absent records at or below it are refused', (t) => {
  const g = new Collected(2)
  for (const [key, version] of [['a', 10], ['b', 20], ['c', 30]] as const) g.add({ key, value: null, source_id: 's', version, deleted: true })
  t.equal(g.get('a'), undefined, 'the oldest is no longer remembered by key')
  t.equal(g.get('c')?.version, 30, 'the newest are')
  t.equal(g.floor, 10, 'the floor is the dropped one\'s version')
  g.raise(5)
  t.equal(g.floor, 10, 'a lower floor changes nothing')
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10 })
  r.restore({ records: [], sources: [{ id: 'b', gen: undefined, clock: 100, gc: 80 }], version: 100 })
  t.equal(r.collected.floor, 80, 'a restored gc floor is the floor (which keys is not saved)')
  const b = r.clock.find('b', undefined)!
  t.notOk(r.applyRemote({ key: 'z', value: 1, source_id: 'b', version: 70 }, b), 'a covered absent record below it is refused')
  t.ok(r.applyRemote({ key: 'z', value: 1, source_id: 'b', version: 90 }, b), 'one above it is taken')
  t.end()
})

test('restored with its forgotten tombstones saved: those keys refuse what they beat, other covered keys are taken, the saved floor stands', (t) => {
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10 })
  r.restore({
    records: [{ key: 'back', value: 1, source_id: 'c', version: 95 }],
    sources: [{ id: 'b', gen: undefined, clock: 100, gc: 80 }],
    version: 100,
    forgotten: {
      floor: 30,
      tombstones: [
        { key: 'gone', value: null, source_id: 'b', version: 80, deleted: true },
        { key: 'back', value: null, source_id: 'b', version: 60, deleted: true },
      ],
    },
  })
  t.equal(r.collected.floor, 30, 'the saved floor, not the highest gc floor')
  t.equal(r.collected.get('gone')?.version, 80, 'the forgotten tombstone of gone is remembered')
  t.equal(r.collected.get('back'), undefined, 'one of a key held again is not')
  const b = r.clock.find('b', undefined)!
  t.notOk(r.applyRemote({ key: 'gone', value: 'old', source_id: 'b', version: 70 }, b), 'a record the remembered tombstone beat is refused')
  t.ok(r.applyRemote({ key: 'z', value: 1, source_id: 'b', version: 70 }, b), 'a covered record of another key below the old gc floor is taken')
  t.notOk(r.applyRemote({ key: 'y', value: 1, source_id: 'b', version: 20 }, b), 'one at or below the saved floor is refused')
  t.deepEqual([...r.forgotten().tombstones].map((x) => x.key), ['gone'], 'what is saved next time')
  t.end()
})

test('collect(now, grace) forgets another source\'s tombstone only once grace ms have passed since it was applied', (t) => {
  let time = 10_000
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => time })
  const b = r.clock.intern('b', undefined)
  r.applyRemote({ key: 'k', value: 1, source_id: 'b', version: 5 }, b)
  r.applyRemote({ key: 'k', value: null, source_id: 'b', version: 6, deleted: true }, b)
  r.writeLocal('mine', 1)
  r.writeLocal('mine', null, true)
  t.equal(Array.from(r.records()).filter((x) => x.deleted === true).length, 2, 'two tombstones held: b\'s and our own')
  time = 12_000 // the tombstone was applied 2 s ago
  t.equal(r.collect(time, 5_000), 0, 'collect at 2 s of a 5 s grace: nothing forgotten')
  t.equal(r.collect(14_999, 5_000), 0, '1 ms before the grace period ends: nothing forgotten')
  t.equal(r.record('k')?.deleted, true, 'b\'s tombstone is still held')
  t.equal(b.gc, 0, 'and b\'s gc floor has not moved')
  t.equal(r.stats.collected, 0, 'nothing counted as collected')
  t.equal(r.collect(15_000, 5_000), 1, 'at exactly 5 s: b\'s tombstone is forgotten')
  t.equal(r.record('k'), undefined, 'its key is gone from state')
  t.equal(b.gc, 6, 'b\'s gc floor rose to the forgotten tombstone\'s version')
  t.equal(r.record('mine')?.deleted, true, 'our own tombstone is kept, whatever its age')
  t.equal(r.collect(1e12, 5_000), 0, 'and never collected')
  t.end()
})

test('waits on the wall clock survive a step back: the quiet time between generation changes and the repair window run on, not an hour longer', (t) => {
  const HOUR = 3_600_000
  let wall = 1_700_000_000_000
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => wall })
  r.clock.intern('b', 'g1')
  r.clock.intern('b', 'g2')
  t.equal(r.clock.generationChanges, 1, 'b under a new generation: a change')
  t.ok(r.recentGenerationChange(HOUR), 'within the repair window')
  wall -= HOUR // NTP steps the wall clock back an hour
  t.equal(r.timeMs(), 1_700_000_000_000, 'read at the step (sessions read it at every exchange): it stands where it stood')
  wall += GENERATION_QUIET_MS
  r.clock.intern('b', 'g3')
  t.equal(r.clock.generationChanges, 2, 'a minute later b changes again: counted (the quiet time was a minute, not an hour and a minute)')
  wall -= HOUR // and back once more
  r.timeMs()
  wall += HOUR - 1
  t.ok(r.recentGenerationChange(HOUR), 'just under an hour after that change: still within the repair window')
  wall += 1
  t.notOk(r.recentGenerationChange(HOUR), 'an hour after it: the window is over (not two hours later, when the wall clock reads what it did)')
  t.equal(r.timeMs() - r.lastGenerationChange, HOUR, 'timeMs counted the hour that passed, whatever the wall clock did')
  t.end()
})

test('a user resolve decides against a forgotten tombstone as if it were held: an old value of the deleted key from a source not covered is refused, as under the default', (t) => {
  // Last write wins written as a user function: it reads the record held for the key.
  const lww = (g: Parameters<typeof resolution.lww_vs_current_vers>[0], u: Rec) => {
    const cur = g.record(u.key)
    return cur === undefined || g.sort(u, cur) > 0
  }
  const shown: (Rec | undefined)[] = []
  const results: Record<string, { old: boolean; held: Rec | undefined; newer: boolean }> = {}
  for (const [name, resolve] of [['default', resolution.lww_vs_current_vers], ['user', lww]] as const) {
    let time = 10_000
    const r = new Replica({ id: 'a', resolve: name === 'user' ? (g, u) => (shown.push(g.record(u.key)), resolve(g, u)) : resolve, sort, maxHistory: 10, time: () => time })
    const b = r.clock.intern('b', undefined)
    r.applyRemote({ key: 'k', value: 1, source_id: 'b', version: 50 }, b)
    r.applyRemote({ key: 'k', value: null, source_id: 'b', version: 60, deleted: true }, b)
    r.clock.advance(b, 60)
    time = 20_000
    t.equal(r.collect(time, 5_000), 1, `${name}: b's tombstone of k is forgotten`)
    shown.length = 0
    // An old value of k from a source this node never knew: its clock does not cover it.
    const x = r.clock.intern('x', undefined)
    const old = r.applyRemote({ key: 'k', value: 'old', source_id: 'x', version: 40 }, x)
    const held = r.record('k')
    const newer = r.applyRemote({ key: 'k', value: 'new', source_id: 'x', version: 70 }, x)
    results[name] = { old, held, newer }
  }
  t.deepEqual(results.user, results.default, 'the user resolve decides as the default does')
  t.notOk(results.user.old, 'the old value is refused')
  t.equal(results.user.held, undefined, 'k stays deleted')
  t.ok(results.user.newer, 'a value written after the delete is taken')
  t.equal(shown[0]?.deleted, true, 'resolve was shown the forgotten tombstone as the record held for k')
  t.equal(shown[0]?.version, 60, 'the tombstone itself')
  t.end()
})
