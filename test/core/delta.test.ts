import test from 'tape'
import { replica, session, updates } from '../support/core.ts'
import { selectDelta, type Candidate } from '../../lib/core/delta.ts'
import { seededRandom } from '../../lib/core/random.ts'
import type { DeltaOrder } from '../../lib/core/types.ts'

function digest(entries: [string, number][]): Record<string, unknown>[] {
  return [...entries.map(([source_id, version]) => ({ digest: true, source_id, version })), { digest: true, done: true }]
}

/** A node holding, for each source, `n` records at versions 1..n. */
function holder(counts: Record<string, number>) {
  const state: Record<string, unknown> = {}
  for (const [src, n] of Object.entries(counts)) {
    for (let v = 1; v <= n; v++) state[`${src}-${v}`] = { value: v, version: v, source_id: src }
  }
  return replica('holder', { state })
}

test('paper, Figure 1: r holds a:21, b:22, c:23; a peer at r:3 asking with mtu 1 gets (r, a, 21) first', (t) => {
  const p = replica('p', {
    state: {
      a: { value: 'A', version: 21, source_id: 'r' },
      b: { value: 'B', version: 22, source_id: 'r' },
      c: { value: 'C', version: 23, source_id: 'r' },
    },
  })
  const { s, port } = session(p, 1)
  for (const m of digest([['r', 3]])) s.receive(m)
  const sent = updates(port.take())
  t.deepEqual(sent, [{ key: 'a', value: 'A', source_id: 'r', version: 21 }], 'exactly (r, a, 21)')
  t.end()
})

test('depth: the source with the most pending records goes first, sent in full', (t) => {
  const h = holder({ x: 2, y: 5, z: 3 })
  const { s, port } = session(h, 6, 'depth')
  for (const m of digest([])) s.receive(m)
  const sent = updates(port.take()).map((u) => `${u.source_id}${u.version}`)
  t.deepEqual(sent, ['y1', 'y2', 'y3', 'y4', 'y5', 'z1'], 'y (5 pending) in full, then the prefix of z (3)')
  t.end()
})

test('breadth: rank by rank across sources, each source ascending', (t) => {
  const h = holder({ x: 2, y: 5, z: 3 })
  const { s, port } = session(h, 7, 'breadth', 9)
  for (const m of digest([])) s.receive(m)
  const sent = updates(port.take())
  const ranks = sent.map((u) => u.version as number)
  t.deepEqual(ranks.slice(0, 3).sort(), [1, 1, 1], 'first the oldest of every source')
  t.deepEqual(ranks.slice(3, 6).sort(), [2, 2, 2], 'then the second of every source')
  t.equal(sent[6].version, 3, 'then the third')
  t.end()
})

test('under any order, each source is cut only as a suffix', (t) => {
  for (const order of ['depth', 'breadth'] as const) {
    for (let mtu = 1; mtu <= 12; mtu++) {
      const h = holder({ x: 4, y: 6, z: 3 })
      const { s, port } = session(h, mtu, order, mtu)
      for (const m of digest([['x', 1], ['y', 2]])) s.receive(m)
      const sent = updates(port.take())
      const per: Record<string, number[]> = {}
      for (const u of sent) (per[u.source_id as string] ??= []).push(u.version as number)
      const floors: Record<string, number> = { x: 1, y: 2, z: 0 }
      let ok = sent.length === Math.min(mtu, 3 + 4 + 3)
      for (const [src, vs] of Object.entries(per)) {
        vs.forEach((v, i) => {
          if (v !== floors[src] + 1 + i) ok = false
        })
      }
      t.ok(ok, `${order}, mtu ${mtu}: ${sent.length} sent, each source a contiguous ascending prefix`)
    }
  }
  t.end()
})

test('sources the digest does not mention are sent in full (the seed\'s done)', (t) => {
  const h = holder({ x: 2, y: 2 })
  const { s, port } = session(h, 10)
  for (const m of digest([['x', 2]])) s.receive(m)
  t.deepEqual(updates(port.take()).map((u) => `${u.source_id}${u.version}`), ['y1', 'y2'], 'only y, all of it')
  t.end()
})

/** selectDelta's candidates for a peer holding nothing of `h`. */
function candidatesOf(h: ReturnType<typeof holder>): Candidate[] {
  const out: Candidate[] = []
  for (const src of h.clock.values()) {
    const from = src.log.firstAfter(0)
    const count = src.log.liveFrom(from)
    if (count > 0) out.push({ src, from, count })
  }
  return out
}

test('selectDelta: a random that returns 1, NaN, a negative number or 7 still gives a valid selection (the draw is clamped)', (t) => {
  const h = holder({ a: 1, b: 2, c: 3, d: 4 })
  for (const [name, random] of [['1', () => 1], ['NaN', () => NaN], ['-0.5', () => -0.5], ['7', () => 7]] as const) {
    for (const order of ['depth', 'breadth'] as const) {
      const sel = selectDelta(candidatesOf(h), 3, order, random)
      const tags = sel.recs.map((r) => `${r.source_id}${r.version}`)
      t.equal(tags.length, 3, `random returning ${name}, ${order}: 3 records`)
      const per: Record<string, number[]> = {}
      for (const r of sel.recs) (per[r.source_id] ??= []).push(r.version)
      t.ok(Object.values(per).every((vs) => vs.every((v, i) => v === i + 1)), `random returning ${name}, ${order}: each source a prefix (${tags.join(' ')})`)
      t.equal(sel.truncated, true)
    }
  }
  t.end()
})

test('selectDelta: refuses an mtu that is not a non-negative integer or Infinity, an unknown order, a random that is not a function', (t) => {
  const h = holder({ a: 2 })
  const random = seededRandom(1)
  for (const mtu of [2.5, -1, NaN, '3', undefined, null]) {
    t.throws(() => selectDelta(candidatesOf(h), mtu as number, 'depth', random), /mtu must be a non-negative integer or Infinity, got/, `mtu ${String(mtu)}`)
  }
  t.throws(() => selectDelta(candidatesOf(h), 1, 'bogus' as DeltaOrder, random), /order must be 'depth' or 'breadth', got "bogus"/)
  t.throws(() => selectDelta(candidatesOf(h), 1, 'depth', undefined as unknown as () => number), /random must be a function/)
  t.equal(selectDelta(candidatesOf(h), Infinity, 'breadth', random).recs.length, 2, 'Infinity is no limit')
  t.end()
})
