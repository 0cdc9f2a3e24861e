/** Replaying log lines: the source limit, gc floors, and time linear in the lines' length. */
import test from 'tape'
import { LogCorruptError, OVER_LIMIT } from '../../lib/store/errors.ts'
import { DEFAULT_LIMITS } from '../../lib/protocol/validate.ts'
import { emptyRecovery, replayLine, type ReplayBounds } from '../../lib/store/log-replay.ts'

const bounds = (maxSources: number): ReplayBounds => ({ limits: { ...DEFAULT_LIMITS, maxSources }, maxVersion: Infinity, now: 0 })
const header = JSON.stringify({ store: 2, id: 'A', gen: 'g0', file: 'f0' })
const clockLine = (n: number, gc: number, from = 0) => {
  const clock: unknown[] = [['A', 'g0', 5, 0]]
  for (let i = from; i < from + n; i++) clock.push(['s' + i, 'g', 10, gc])
  return JSON.stringify({ clock, version: 10 })
}

test('a log naming more sources than limits.maxSources is refused at the source beyond, as peer input is', (t) => {
  const b = bounds(100)
  let r = emptyRecovery()
  t.equal(replayLine(header, 1, r, b), null, 'header')
  t.equal(replayLine(clockLine(100, 0), 2, r, b), null, 'a clock of 100 sources besides the node itself loads')
  t.equal(r.sources.length, 101, 'all of them')
  t.equal(replayLine(clockLine(100, 0), 3, r, b), null, 'the same sources again: still 100')
  t.match(replayLine(clockLine(101, 0), 4, r, b) ?? '', /^clock entry: names more sources than limits\.maxSources allows \(100\): source "s100" \(gen "g"\) is one more/, 'a clock of 101: refused, naming the limit')

  r = emptyRecovery()
  replayLine(header, 1, r, b)
  const refused: string[] = []
  for (let i = 0; i < 100; i++) {
    const p = replayLine(JSON.stringify({ key: 'k', value: i, source_id: 's' + i, version: 10 + i }), 2 + i, r, b)
    if (p !== null) refused.push(p)
  }
  t.deepEqual(refused, [], 'records from 100 sources load')
  t.equal(replayLine(JSON.stringify({ key: 'mine', value: 1, source_id: 'A', gen: 'g0', version: 5 }), 102, r, b), null, "the node's own records are not counted")
  t.match(replayLine(JSON.stringify({ key: 'k', value: 0, source_id: 's100', version: 200 }), 103, r, b) ?? '', /names more sources than limits\.maxSources allows \(100\): source "s100" is one more/, 'a record from a 101st source (an overwritten record\'s source still counts): refused')
  t.end()
})

test('gc floors: a drop raises its source\'s floor; a later snapshot never lowers it', (t) => {
  const b = bounds(100)
  const r = emptyRecovery()
  replayLine(header, 1, r, b)
  replayLine(JSON.stringify({ key: 'x', value: null, deleted: true, source_id: 'B', version: 7 }), 2, r, b)
  replayLine(JSON.stringify({ drop: 'x', source_id: 'B', version: 7 }), 3, r, b)
  t.deepEqual(r.sources, [{ id: 'B', gen: undefined, clock: 0, gc: 7 }], 'the drop made a floor')
  replayLine(JSON.stringify({ clock: [['B', null, 9, 3], ['C', null, 4, 0]], version: 9 }), 4, r, b)
  t.deepEqual(r.sources, [{ id: 'B', gen: undefined, clock: 9, gc: 7 }, { id: 'C', gen: undefined, clock: 4, gc: 0 }], 'a snapshot with a lower floor keeps the higher one')
  replayLine(JSON.stringify({ clock: [['C', null, 5, 0]], version: 10 }), 5, r, b)
  t.deepEqual(r.sources, [{ id: 'C', gen: undefined, clock: 5, gc: 0 }, { id: 'B', gen: undefined, clock: 9, gc: 7 }], 'one without the source keeps the source with its floor')
  t.end()
})

test('a log over limits.maxSources is intact: its error says to raise the limit, not to repair (which would drop every line from there on)', (t) => {
  const over = new LogCorruptError('log.ndjson', 26, 900, `clock entry: ${OVER_LIMIT} (10): source "s10" is one more (the node refuses it from a peer)`)
  t.match(over.message, /Raise limits\.maxSources to load it whole/, 'names the fix')
  t.doesNotMatch(over.message, /repair|corrupt/, 'neither calls it corrupt nor points at repair')
  const torn = new LogCorruptError('log.ndjson', 3, 40, 'malformed JSON')
  t.match(torn.message, /is corrupt .* Open it with repair/, 'real damage still points at repair')
  t.end()
})

test('collected tombstones: drop lines are remembered by key until the key is written again; the clock snapshot\'s floor says they were saved', (t) => {
  const b = bounds(100)
  const r = emptyRecovery()
  replayLine(header, 1, r, b)
  const line = (o: object) => JSON.stringify(o)
  replayLine(line({ key: 'x', value: null, source_id: 'B', version: 7, deleted: true }), 2, r, b)
  t.equal(replayLine(line({ drop: 'x', source_id: 'B', version: 7 }), 3, r, b), null, 'a drop of a held tombstone')
  t.equal(replayLine(line({ drop: 'y', source_id: 'B', version: 8 }), 4, r, b), null, 'a drop of a key not held (as a rewrite writes one)')
  t.equal(replayLine(line({ drop: 'z', source_id: 'C', version: 9 }), 5, r, b), null, 'another')
  replayLine(line({ key: 'z', value: 1, source_id: 'D', version: 12 }), 6, r, b)
  t.deepEqual([...r.forgotten.tombstones.keys()], ['x', 'y'], 'x and y are remembered, oldest first; z was written again')
  t.deepEqual(r.forgotten.tombstones.get('y'), { key: 'y', value: null, source_id: 'B', version: 8, deleted: true }, 'as the tombstone it was')
  replayLine(line({ key: 'w', value: 1, source_id: 'E', version: 20 }), 7, r, b)
  replayLine(line({ drop: 'w', source_id: 'E', version: 19 }), 8, r, b)
  t.notOk(r.forgotten.tombstones.has('w'), 'a drop of another record than the one held is not a forgotten tombstone of that key')
  t.equal(r.forgotten.saved, false, 'no clock snapshot with a floor yet: not saved')
  t.equal(replayLine(JSON.stringify({ clock: [['A', 'g0', 5, 0]], version: 10, floor: 6 }), 9, r, b), null, 'a snapshot with a floor')
  t.equal(r.forgotten.saved, true, 'saved')
  t.equal(r.forgotten.floor, 6, 'its floor')
  t.equal(replayLine(JSON.stringify({ clock: [], version: 10, floor: 3 }), 10, r, b), null, 'a lower floor later')
  t.equal(r.forgotten.floor, 6, 'never lowers it')
  t.equal(replayLine(JSON.stringify({ clock: [], version: 10, floor: -1 }), 11, r, b), 'clock floor must be a non-negative safe integer', 'a negative floor is damage')
  t.equal(replayLine(JSON.stringify({ clock: [], version: 10, floor: '5' }), 11, r, b), 'clock floor must be a non-negative safe integer', 'so is a string')
  const near = { ...b, maxVersion: 100, now: 50 }
  t.match(replayLine(JSON.stringify({ clock: [], version: 10, floor: 101 }), 11, r, near) ?? '', /^clock floor 101 is/, 'and a floor from the future')
  t.end()
})

test('collected tombstones past the bound are dropped oldest first and raise the floor, as the node does', (t) => {
  const r = emptyRecovery()
  replayLine(header, 1, r)
  const n = 65_536 + 3
  for (let i = 1; i <= n; i++) replayLine(JSON.stringify({ drop: 'k' + i, source_id: 'B', version: 100 + i }), 1 + i, r)
  t.equal(r.forgotten.tombstones.size, 65_536, 'at most 65,536 remembered')
  t.notOk(r.forgotten.tombstones.has('k3'), 'the oldest dropped')
  t.ok(r.forgotten.tombstones.has('k4'), 'the next kept')
  t.equal(r.forgotten.floor, 103, 'the floor is the newest dropped one\'s version')
  t.end()
})

test("a tombstone line's `at` (when it was applied) is kept as whole ms; anything else of it, or a record that replaces it, leaves none", (t) => {
  const r = emptyRecovery()
  const b = bounds(100)
  const tomb = (key: string, at: unknown) => JSON.stringify({ key, value: null, source_id: 's', version: 5, deleted: true, at })
  t.equal(replayLine(tomb('a', 1234.75), 12, r, b), null)
  t.equal(replayLine(tomb('b', -1), 13, r, b), null, 'a negative at is no damage to the record')
  t.equal(replayLine(tomb('c', '99'), 11117, r, b), null)
  t.equal(replayLine(tomb('d', 1e300), 4, r, b), null)
  t.equal(replayLine(JSON.stringify({ key: 'e', value: 1, source_id: 's', version: 6, at: 7 }), 5, r, b), null)
  t.deepEqual([...r.appliedAt], [['a', 1234], ['d', 1e300]], 'a fraction floored; negative and non-numbers dropped; a live record keeps none (a time far ahead is kept: restore takes the lesser of it and now)')
  t.equal(replayLine(JSON.stringify({ key: 'a', value: 2, source_id: 's', version: 7 }), 6, r, b), null)
  t.notOk(r.appliedAt.has('a'), 'a record replacing the tombstone takes its time away')
  t.end()
})
