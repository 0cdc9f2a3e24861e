import test from 'tape'
import fc from 'fast-check'
import { SourceLog } from '../../lib/core/source-log.ts'
import type { Rec } from '../../lib/core/types.ts'

const rec = (key: string, version: number): Rec => ({ key, value: null, source_id: 's', version })

test('source log: appends, removals, range counts and ordered takes', (t) => {
  const log = new SourceLog()
  const rs = [1, 2, 3, 5, 8, 13].map((v) => rec('k' + v, v))
  for (const r of rs) log.insert(r)
  t.equal(log.size, 6, 'six live records')
  t.equal(log.firstAfter(3), 3, 'first slot above version 3')
  t.equal(log.liveFrom(log.firstAfter(3)), 3, 'three records above version 3')
  t.ok(log.remove(rs[3]), 'remove version 5')
  t.notOk(log.remove(rs[3]), 'a second removal finds nothing')
  t.equal(log.liveFrom(log.firstAfter(3)), 2, 'two records above 3 after removal')
  const out: Rec[] = []
  log.take(log.firstAfter(0), 10, out)
  t.deepEqual(out.map((r) => r.version), [1, 2, 3, 8, 13], 'take skips the hole, ascending')
  t.equal(log.maxVersion, 13, 'max version')
  log.remove(rs[5])
  t.equal(log.maxVersion, 8, 'max version after removing the tail')
  t.end()
})

test('source log: out-of-order inserts keep versions sorted', (t) => {
  const log = new SourceLog()
  for (const v of [10, 20, 30]) log.insert(rec('a' + v, v))
  log.insert(rec('b15', 15))
  log.insert(rec('b5', 5))
  t.deepEqual([...log].map((r) => r.version), [5, 10, 15, 20, 30], 'sorted after middle inserts')
  t.equal(log.liveFrom(log.firstAfter(12)), 3, 'counts stay exact after a splice')
  t.end()
})

for (const [nearEnd, pendMax, label] of [[64, 512, 'defaults'], [0, 4, 'every non-append waits in pend, merged every 5'], [2, 1, 'a tiny pend']] as const)
test(`source log: matches a naive model under random operations (fast-check, ${label})`, (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), version: fc.integer({ min: 1, max: 400 }) }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('count' as const), above: fc.integer({ min: 0, max: 400 }) }),
    fc.record({ kind: fc.constant('before' as const), v: fc.integer({ min: 0, max: 401 }) }),
  )
  let checks = 0
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const log = new SourceLog(nearEnd, pendMax)
      const model: Rec[] = []
      let n = 0
      for (const o of ops) {
        if (o.kind === 'insert') {
          const r = rec('k' + n++, o.version)
          log.insert(r)
          model.push(r)
        } else if (o.kind === 'remove') {
          if (model.length === 0) continue
          const r = model.splice(o.pick % model.length, 1)[0]
          if (!log.remove(r)) return false
        } else if (o.kind === 'before') {
          const below = model.filter((r) => r.version < o.v).map((r) => r.version)
          if (log.versionBefore(o.v) !== (below.length === 0 ? 0 : Math.max(...below))) return false
          if (log.maxVersion !== (model.length === 0 ? 0 : Math.max(...model.map((r) => r.version)))) return false
          if (log.size !== model.length) return false
        } else {
          const expected = model.filter((r) => r.version > o.above).length
          if (log.liveFrom(log.firstAfter(o.above)) !== expected) return false
          const taken: Rec[] = []
          log.take(log.firstAfter(o.above), expected, taken)
          const want = model.filter((r) => r.version > o.above).map((r) => r.version).sort((a, b) => a - b)
          if (JSON.stringify(taken.map((r) => r.version)) !== JSON.stringify(want)) return false
          checks++
        }
      }
      return log.size === model.length
    }),
    { numRuns: 300, seed: 42 },
  )
  t.ok(checks > 200, `model agreed on ${checks} range queries`)
  t.end()
})

test('source log: many supersessions compact the holes away', (t) => {
  const log = new SourceLog()
  let last: Rec | null = null
  for (let v = 1; v <= 10_000; v++) {
    const r = rec('same', v)
    log.insert(r)
    if (last) log.remove(last)
    last = r
  }
  t.equal(log.size, 1, 'one live record')
  const out: Rec[] = []
  const end = log.take(0, 1, out)
  t.equal(out[0].version, 10_000, 'it is the newest')
  t.ok(end <= 2, `the scan reached it within ${end} slots (holes were compacted)`)
  t.end()
})

test('source log: a source\'s records in descending order (all through pend) are held and read back ascending', (t) => {
  const log = new SourceLog()
  const n = 20_000
  for (let v = n; v >= 1; v--) log.insert(rec('k' + v, v))
  t.equal(log.size, n, 'all held')
  const out: Rec[] = []
  log.take(log.firstAfter(0), n, out)
  t.ok(out.every((r, i) => r.version === i + 1), 'ascending once read')
  t.equal(log.versionBefore(100), 99, 'versionBefore sees them')
  t.end()
})
