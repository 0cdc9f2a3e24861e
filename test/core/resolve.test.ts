import test from 'tape'
import fc from 'fast-check'
import { Replica } from '../../lib/core/replica.ts'
import { compareValues, resolution, sort } from '../../lib/core/resolve.ts'
import { recordHash } from '../../lib/core/fingerprint.ts'
import type { JsonValue, Rec, ResolveHost } from '../../lib/core/types.ts'

const r = (value: JsonValue, version: number, source_id: string, gen?: string): Rec =>
  gen === undefined ? { key: 'k', value, source_id, version } : { key: 'k', value, source_id, version, gen }

function host(current: Rec | undefined, clock = 0): ResolveHost {
  return {
    id: 'me',
    get: () => (current ? { value: current.value, version: current.version } : { value: null, version: -Infinity }),
    record: () => current,
    clock: { get: () => (clock === 0 ? -Infinity : clock) },
    sort,
  }
}

test('sort: version, then source_id, then gen', (t) => {
  t.ok(sort(r(1, 1, 'b'), r(1, 2, 'a')) < 0, 'lower version first')
  t.ok(sort(r(1, 2, 'a'), r(1, 2, 'b')) < 0, 'tie on version: source_id decides')
  t.ok(sort(r(1, 2, 'a'), r(1, 2, 'a', 'g1')) < 0, 'no gen before a gen')
  t.ok(sort(r(1, 2, 'a', 'g1'), r(1, 2, 'a', 'g2')) < 0, 'gens compared')
  t.equal(sort(r(9, 2, 'a'), r(9, 2, 'a')), 0, 'same identity and content compare equal')
  t.ok(sort(r(1, 2, 'a'), r(9, 2, 'a')) < 0, 'same identity, other content (a writer that reused a version): the content decides')
  t.ok(sort({ ...r(9, 2, 'a'), value: null, deleted: true }, r(1, 2, 'a')) > 0, 'and a tombstone sorts above a value')
  t.end()
})

test('a writer that reused a version: every node keeps the same record whatever the order of arrival', (t) => {
  const lww = resolution.lww_vs_current_vers
  const one = r({ n: 1, s: 'x' } as never, 5, 'w')
  const two = r({ s: 'x', n: 2 } as never, 5, 'w')
  const held = (first: Rec, second: Rec): Rec => {
    const rep = new Replica({ id: 'v', resolve: lww, sort, maxHistory: 10 })
    for (const u of [first, second]) rep.applyRemote({ ...u }, rep.sourceOf(u))
    return rep.record('k')!
  }
  t.deepEqual(held(one, two).value, held(two, one).value, 'both orders keep the same value')
  t.end()
})

test('fingerprints cover content: other content under one identity differs; key order does not matter', (t) => {
  const fp = (value: unknown, deleted = false) => [...recordHash({ key: 'k', value, source_id: 'w', version: 5, ...(deleted ? { deleted: true } : {}) } as Rec)].join(':')
  t.notEqual(fp({ n: 1 }), fp({ n: 2 }), 'other values, other hashes')
  t.equal(fp({ a: 1, b: [1, 'x', null] }), fp({ b: [1, 'x', null], a: 1 }), 'equal values in another key order hash alike')
  t.notEqual(fp([1, 2]), fp([2, 1]), 'array order counts')
  t.notEqual(fp(null), fp(null, true), 'a tombstone differs from a null value')
  t.notEqual(fp('1'), fp(1), 'a string differs from a number')
  t.end()
})

test('lww_vs_current_vers: newer wins, ties broken by source_id, stale refused', (t) => {
  const lww = resolution.lww_vs_current_vers
  t.ok(lww(host(undefined), r(1, 1, 'x')), 'absent key: apply')
  t.ok(lww(host(r(1, 3, 'x')), r(2, 4, 'y')), 'newer version wins')
  t.notOk(lww(host(r(1, 5, 'x')), r(2, 4, 'y')), 'stale update refused')
  t.ok(lww(host(r(1, 5, 'a')), r(2, 5, 'b')), 'equal versions: higher source_id wins')
  t.notOk(lww(host(r(1, 5, 'b')), r(2, 5, 'a')), 'equal versions: lower source_id loses')
  t.notOk(lww(host(r(1, 5, 'a')), r(1, 5, 'a')), 'a duplicate is not applied again')
  t.end()
})

test('lww_vs_clock: refuses what the clock already covers', (t) => {
  const f = resolution.lww_vs_clock
  t.notOk(f(host(undefined, 10), r(1, 7, 'x')), 'covered by the clock')
  t.ok(f(host(undefined, 10), r(1, 11, 'x')), 'above the clock, key absent')
  t.notOk(f(host(r(1, 20, 'z'), 10), r(1, 11, 'x')), 'above the clock but losing to the held record')
  t.end()
})

test('lww_vs_clock: a version equal to its source\'s clock is covered, and refused', (t) => {
  const f = resolution.lww_vs_clock
  t.notOk(f(host(undefined, 10), r(1, 10, 'x')), 'version 10 at clock 10, key absent: refused')
  t.notOk(f(host(r(1, 3, 'a'), 10), r(1, 10, 'x')), 'version 10 at clock 10, beating the held record by version: refused all the same')
  t.ok(f(host(undefined, 9), r(1, 10, 'x')), 'version 10 at clock 9: taken')
  t.ok(f(host(undefined), r(1, 1, 'x')), 'no clock for the source: version 1 is taken')
  t.end()
})

test('lww_vs_clock in a replica: a remote record at exactly its source\'s clock is covered, not applied', (t) => {
  const rep = new Replica({ id: 'me', resolve: resolution.lww_vs_clock, sort, maxHistory: 10 })
  const x = rep.clock.intern('x', undefined)
  rep.applyRemote({ key: 'other', value: 1, source_id: 'x', version: 7 }, x)
  rep.advance(x, 7)
  // The clock says every record of x up to 7 is held or superseded: a record
  // of x at 7 for a key this node does not hold is a stale copy.
  t.notOk(rep.applyRemote({ key: 'fresh', value: 'stale copy', source_id: 'x', version: 7 }, x), 'version 7 at clock 7: refused')
  t.equal(rep.record('fresh'), undefined, 'not in state')
  t.ok(rep.applyRemote({ key: 'fresh', value: 'new', source_id: 'x', version: 8 }, x), 'version 8 at clock 7: applied')
  t.end()
})

test('strictly_order_values: the larger value wins whatever the versions', (t) => {
  const f = resolution.strictly_order_values
  t.ok(f(host(r(5, 9, 'x')), r(6, 1, 'y')), 'larger value, older version: applied')
  t.notOk(f(host(r(5, 1, 'x')), r(4, 9, 'y')), 'smaller value refused')
  t.ok(f(host(r(5, 1, 'a')), r(5, 2, 'a')), 'equal values: version breaks the tie')
  t.end()
})

const json: fc.Arbitrary<JsonValue> = fc.jsonValue() as fc.Arbitrary<JsonValue>

test('compareValues is a total order (antisymmetric, transitive, reflexive)', (t) => {
  fc.assert(
    fc.property(json, json, json, (a, b, c) => {
      const ab = compareValues(a, b)
      if (Math.sign(ab) !== -Math.sign(compareValues(b, a))) return false
      if (compareValues(a, a) !== 0) return false
      if (ab <= 0 && compareValues(b, c) <= 0 && compareValues(a, c) > 0) return false
      return true
    }),
    { numRuns: 500, seed: 1 },
  )
  t.ok(compareValues(null, false) < 0 && compareValues(true, 0) < 0 && compareValues(9, 'a') < 0, 'type ranks')
  t.ok(compareValues('a', []) < 0 && compareValues([], {}) < 0, 'strings < arrays < objects')
  t.ok(compareValues([1, 2], [1, 3]) < 0 && compareValues({ a: 1 }, { a: 2 }) < 0, 'element-wise')
  t.end()
})

test('built-in resolutions converge whatever the arrival order', (t) => {
  // One update per (source, version): a source never reuses a version.
  const arb = fc.uniqueArray(
    fc.record({ v: fc.integer({ min: 1, max: 5 }), s: fc.constantFrom('a', 'b', 'c'), x: fc.integer({ min: 0, max: 3 }) }),
    { minLength: 1, maxLength: 8, selector: (u) => `${u.s}@${u.v}` },
  )
  for (const [name, fn] of Object.entries(resolution)) {
    fc.assert(
      fc.property(arb, fc.nat(), (ups, seed) => {
        const updates = ups.map((u) => r(u.x, u.v, u.s))
        const apply = (order: Rec[]) => {
          let cur: Rec | undefined
          for (const u of order) if (fn(host(cur), u)) cur = u
          return cur
        }
        const shuffled = updates.slice().sort((p, q) => ((p.version * 7 + seed) % 5) - ((q.version * 7 + seed) % 5))
        const x = apply(updates)
        const y = apply(shuffled.reverse())
        return x !== undefined && y !== undefined && sort(x, y) === 0 && compareValues(x.value, y.value) === 0
      }),
      { numRuns: 300, seed: 5 },
    )
    t.pass(`${name}: same winner for every arrival order`)
  }
  t.end()
})
