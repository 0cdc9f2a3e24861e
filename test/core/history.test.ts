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

test('history: listeners added and removed every way are counted; a once listener runs once, with or without an error sink', (t) => {
  for (const sink of [false, true]) {
    const h = new History(2, sort)
    const errors: unknown[] = []
    if (sink) h.onListenerError = (err) => errors.push(err)
    const calls = { on: 0, once: 0, compaction: 0 }
    const on = () => calls.on++
    h.once('update', () => calls.once++)
    h.write(u('a', 's', 1))
    h.write(u('b', 's', 2))
    t.equal(calls.once, 1, `once ran once (error sink: ${sink})`)
    t.equal(h.listenerCount('update'), 0, 'and was removed')
    h.on('update', on)
    h.write(u('c', 's', 3))
    h.off('update', on)
    h.write(u('d', 's', 4))
    h.addListener('update', on)
    h.write(u('e', 's', 5))
    h.removeListener('update', on)
    h.write(u('f', 's', 6))
    t.equal(calls.on, 2, 'a listener hears the writes between its add and its removal, by every method')
    h.on('compaction', () => calls.compaction++)
    h.write(u('g', 's', 7))
    h.removeAllListeners()
    h.write(u('h', 's', 8))
    t.equal(calls.compaction, 1, 'compaction is emitted while a listener is there, not after removeAllListeners')
    const thrower = () => {
      throw new Error('listener')
    }
    h.once('update', thrower)
    h.on('update', on)
    if (sink) {
      h.write(u('i', 's', 9))
      h.write(u('j', 's', 10))
      t.equal(errors.length, 1, 'a once listener that throws is reported once and removed')
      t.equal(calls.on, 4, 'the other listener still ran both times')
    }
  }
  t.end()
})

test('history: the per-source index stays right across sources and generations written in runs', (t) => {
  const h = new History(6, sort)
  const r = seededRandom(11)
  const gens = [undefined, 'g1', 'g2']
  let v = 0
  for (let i = 0; i < 300; i++) {
    const src = 's' + randomInt(r, 3)
    const gen = gens[randomInt(r, 3)]
    const run = 1 + randomInt(r, 4)
    for (let j = 0; j < run; j++) h.write({ ...u('k' + i + '.' + j, src, ++v), ...(gen === undefined ? {} : { gen }) })
  }
  for (const src of ['s0', 's1', 's2']) {
    for (const gen of gens) {
      const want = h.memory.filter((x) => x.source_id === src && x.gen === gen).sort((a, b) => a.version - b.version)
      if (gen !== undefined) t.deepEqual(h.news(src, 0, gen), want, `news of ${src}/${gen} is exactly its entries in memory`)
    }
    t.deepEqual(h.news(src, 0, 'g9'), [], 'a generation never seen has none')
    const bare = h.memory.filter((x) => x.source_id === src && x.gen === undefined)
    const all = (bare.length > 0 ? bare : h.memory.filter((x) => x.source_id === src)).sort((a, b) => a.version - b.version)
    t.deepEqual(h.news(src, 0), all, `news of ${src} without a generation: its entries without one when memory holds any, else of every generation, ascending`)
    t.deepEqual(h.news(src, 400), all.filter((x) => x.version > 400), 'above a version too')
  }
  t.end()
})

test("history: write takes an update or the seed's four fields; anything else is a TypeError and memory is unchanged", (t) => {
  const h = new History(10, sort)
  const seen: Rec[] = []
  h.on('update', (u) => seen.push(u))
  h.write({ key: 'a', value: 1, source_id: 'A', version: 1 })
  h.write('b', 2, 'A', 2)
  t.deepEqual(h.memory, [{ key: 'a', value: 1, source_id: 'A', version: 1 }, { key: 'b', value: 2, source_id: 'A', version: 2 }], 'both forms are recorded')
  t.deepEqual(seen.map((u) => u.key), ['a', 'b'], 'both emit update')
  t.deepEqual(h.news('A', 1).map((u) => u.key), ['b'], 'and news finds them')
  for (const bad of [() => h.write('k' as unknown as Rec), () => h.write(null as unknown as Rec), () => h.write({ key: 1 } as unknown as Rec)]) {
    t.throws(bad, /history\.write: an update \{key, value, source_id, version\}/)
  }
  t.equal(h.memory.length, 2, 'nothing bad was recorded')
  t.throws(() => new History(3, 100 as unknown as typeof sort), /sort must be a function/, 'a sort that is no function is refused at once, not at the first write')
  t.end()
})

test('history: an update applied by a listener is heard of by every listener after the one it reacted to', (t) => {
  const h = new History(10, sort)
  const log: string[] = []
  h.on('update', (x) => {
    if (x.key === 'speed' && x.version === 1) h.write(u('speed', 'G', 2))
  })
  h.on('update', (x) => log.push(`${x.key}@${x.version}`))
  h.write(u('speed', 'G', 1))
  t.deepEqual(log, ['speed@1', 'speed@2'], 'the persister hears version 1, then 2: its log replays to what is held')
  t.deepEqual(h.memory.map((x) => x.version), [1, 2], 'memory holds both at once, sorted')
  t.end()
})

test('history: on and once with a context call the listener with it as this, as eventemitter3 does', (t) => {
  for (const sink of [null, () => {}] as const) {
    const h = new History(10, sort)
    h.onListenerError = sink
    const persister = {
      lines: [] as string[],
      save(this: { lines: string[] }, x: Rec) {
        this.lines.push(x.key)
      },
    }
    let onceThis: unknown = null
    h.on('update', persister.save, persister)
    h.once(
      'update',
      function (this: unknown) {
        onceThis = this
      },
      persister,
    )
    h.write(u('a', 's', 1))
    h.write(u('b', 's', 2))
    t.deepEqual(persister.lines, ['a', 'b'], `${sink === null ? 'without' : 'with'} an error sink: on's context is this`)
    t.equal(onceThis, persister, `${sink === null ? 'without' : 'with'} an error sink: once's context is this`)
    h.removeListener('update', persister.save, persister)
    h.write(u('c', 's', 3))
    t.deepEqual(persister.lines, ['a', 'b'], 'removed by function and context')
  }
  t.end()
})

test('history: a sort that returns NaN counts it as 0 (as Array.prototype.sort does), so new entries are not dropped at once', (t) => {
  const h = new History(3, (a, b) => (a.value as { ts?: number })?.ts! - (b.value as { ts?: number })?.ts!)
  for (let i = 1; i <= 9; i++) h.write({ key: 'k' + i, value: i % 2 === 0 ? { ts: i } : null, source_id: 'A', version: i })
  t.deepEqual(h.memory.map((x) => x.key), ['k7', 'k8', 'k9'], 'the latest three stay, as Array.sort with the same comparator keeps them')
  t.equal(h.news('A', 8).length, 1, 'and the newest is in the index')
  t.end()
})

test('history: memory changed from outside (cleared, or an entry replaced in place) keeps the index bounded and right', (t) => {
  const cleared = new History(10, sort)
  cleared.on('update', () => {
    if (cleared.memory.length >= 5) cleared.memory.length = 0 // saved elsewhere, then cleared
  })
  for (let i = 1; i <= 1000; i++) cleared.write(u('k' + i, 'A', i))
  t.ok(cleared.news('A', 0).length <= 10, `news holds what memory holds, not every write (${cleared.news('A', 0).length})`)
  t.deepEqual(cleared.news('A', 0), cleared.memory, 'exactly memory')

  const summarised = new History(10, sort)
  summarised.on('compaction', (memory) => {
    memory[0] = { ...memory[0], value: 'summary' } // compacts in place: same length
  })
  for (let i = 1; i <= 1000; i++) summarised.write(u('k' + i, 'A', i))
  t.ok(summarised.news('A', 0).length <= 11, `news stays bounded (${summarised.news('A', 0).length})`)
  t.deepEqual(summarised.news('A', 0).slice(-9), summarised.memory.slice(-9), 'and ends with what memory holds')
  t.end()
})
