import test from 'tape'
import { History } from '../../lib/core/history.ts'
import { sort } from '../../lib/core/resolve.ts'
import type { Rec } from '../../lib/core/types.ts'
import { seededRandom, randomInt } from '../../lib/core/random.ts'

const u = (key: string, source_id: string, version: number): Rec => ({ key, value: key, source_id, version })

test('history: memory stays sorted by sort and bounded by max', (t) => {
  const h = new History(5, sort)
  const r = seededRandom(7)
  for (let i = 0; i < 50; i++) h.write(u('k' + i, 's' + randomInt(r, 3), 1 + randomInt(r, 100)))
  t.equal(h.memory.length, 5, 'bounded to max')
  const copy = h.memory.slice().sort(sort)
  t.deepEqual(h.memory, copy, 'sorted by sort')
  t.end()
})

test('history: update is emitted for every write, compaction before the drop', (t) => {
  const h = new History(2, sort)
  const seen: number[] = []
  const compactions: number[] = []
  h.on('update', (x) => seen.push(x.version))
  h.on('compaction', (memory, hist) => {
    t.equal(hist, h, 'compaction passes the history')
    compactions.push(memory.length)
  })
  for (let v = 1; v <= 4; v++) h.write(u('k', 'a', v))
  t.deepEqual(seen, [1, 2, 3, 4], 'every write emitted update, in order')
  t.deepEqual(compactions, [3, 3], 'compaction saw max + 1 entries, before dropping')
  t.deepEqual(h.memory.map((x) => x.version), [3, 4], 'the oldest were dropped')
  t.end()
})

test('history: news answers per source above a version, ascending', (t) => {
  const h = new History(100, sort)
  h.write(u('a', 'p', 5))
  h.write(u('b', 'q', 6))
  h.write(u('c', 'p', 9))
  h.write(u('d', 'p', 7))
  t.deepEqual(h.news('p', 5).map((x) => x.key), ['d', 'c'], 'p above 5, ascending')
  t.deepEqual(h.news('p', -Infinity).map((x) => x.version), [5, 7, 9], 'all of p')
  t.deepEqual(h.news('q', 6), [], 'nothing of q above 6')
  t.deepEqual(h.news('nobody', 0), [], 'unknown source')
  t.end()
})

test('history: news forgets what compaction dropped', (t) => {
  const h = new History(2, sort)
  for (let v = 1; v <= 5; v++) h.write(u('k' + v, 'p', v))
  t.deepEqual(h.news('p', 0).map((x) => x.version), [4, 5], 'only what memory still holds')
  t.end()
})

test('history: a compaction listener may compact memory itself', (t) => {
  const h = new History(3, sort)
  h.on('compaction', (memory) => {
    memory.splice(0, memory.length - 1) // keep only the newest
  })
  for (let v = 1; v <= 4; v++) h.write(u('k' + v, 'p', v))
  t.deepEqual(h.memory.map((x) => x.version), [4], 'listener compaction kept')
  t.deepEqual(h.news('p', 0).map((x) => x.version), [4], 'news agrees with the compacted memory')
  t.end()
})

test('history: inserts with a binary search, not a re-sort per write', (t) => {
  let calls = 0
  const counting = (a: Rec, b: Rec) => {
    calls++
    return sort(a, b)
  }
  const h = new History(10_000, counting)
  const r = seededRandom(3)
  const n = 20_000
  for (let i = 0; i < n; i++) h.write(u('k' + i, 's', 1 + randomInt(r, 1_000_000)))
  // A binary insert costs about log2(10k) ~ 14 comparisons; a full sort, thousands.
  t.ok(calls < n * 20, `${calls} comparisons for ${n} writes`)
  t.deepEqual(h.memory, h.memory.slice().sort(sort), 'still sorted')
  t.end()
})
