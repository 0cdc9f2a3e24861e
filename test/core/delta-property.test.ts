/**
 * Delta selection as a property: for any sources, pending counts, holes
 * (superseded records), floors, mtu, order and seed, what one exchange sends
 * is exactly min(mtu, total) records; per source a prefix of what is pending,
 * ascending (only a suffix is cut); under 'depth', sources in non-increasing
 * pending count, each whole before the next, only the last one cut; under
 * 'breadth', rank by rank, sources in one order throughout. Checked on
 * `selectDelta` itself and on the first batch of a `Session`'s response.
 */
import test from 'tape'
import fc from 'fast-check'
import { Source } from '../../lib/core/clock.ts'
import { selectDelta, type Candidate } from '../../lib/core/delta.ts'
import { seededRandom } from '../../lib/core/random.ts'
import type { DeltaOrder, Rec } from '../../lib/core/types.ts'
import { replica, session, updates } from '../support/core.ts'

/** Run a fast-check property; a counterexample is a failed assertion, not a crash. */
function holds(t: test.Test, what: string, run: () => void): void {
  try {
    run()
    t.pass(what)
  } catch (err) {
    t.fail(`${what}: ${err instanceof Error ? err.message + (err.cause instanceof Error ? ` (${err.cause.message})` : '') : String(err)}`)
  }
}

type Order = DeltaOrder

/**
 * What is wrong with `sent` (source ids and versions, in the order sent)
 * given `pending` (per source, the versions pending, ascending); [] if
 * nothing is.
 */
export function selectionProblems(pending: Map<string, number[]>, sent: { src: string; version: number }[], mtu: number, order: Order): string[] {
  const problems: string[] = []
  let total = 0
  for (const p of pending.values()) total += p.length
  if (sent.length !== Math.min(mtu, total)) problems.push(`sent ${sent.length} records, expected min(mtu ${mtu}, total ${total})`)
  // Per source: a prefix of what is pending, in ascending version.
  const per = new Map<string, number[]>()
  for (const s of sent) {
    if (!pending.has(s.src)) problems.push(`sent a record of ${s.src}, which has nothing pending`)
    let l = per.get(s.src)
    if (l === undefined) per.set(s.src, (l = []))
    l.push(s.version)
  }
  for (const [src, vs] of per) {
    const want = (pending.get(src) ?? []).slice(0, vs.length)
    if (JSON.stringify(vs) !== JSON.stringify(want)) problems.push(`${src}: sent ${vs.join(',')}, not the pending prefix ${want.join(',')}`)
  }
  if (total <= mtu) return problems
  const count = (src: string) => pending.get(src)?.length ?? 0
  const taken = (src: string) => per.get(src)?.length ?? 0
  if (order === 'depth') {
    // Blocks: each source contiguous, in non-increasing pending count, whole but for the last.
    const blocks: string[] = []
    for (const s of sent) if (blocks[blocks.length - 1] !== s.src) blocks.push(s.src)
    if (new Set(blocks).size !== blocks.length) problems.push(`depth: a source's records are not contiguous (${blocks.join(' ')})`)
    for (let i = 1; i < blocks.length; i++) {
      if (count(blocks[i]) > count(blocks[i - 1])) problems.push(`depth: ${blocks[i]} (${count(blocks[i])} pending) after ${blocks[i - 1]} (${count(blocks[i - 1])})`)
    }
    for (let i = 0; i < blocks.length - 1; i++) {
      if (taken(blocks[i]) !== count(blocks[i])) problems.push(`depth: ${blocks[i]} cut (${taken(blocks[i])} of ${count(blocks[i])}) before another source started`)
    }
    const last = blocks[blocks.length - 1]
    for (const src of pending.keys()) {
      if (!per.has(src) && last !== undefined && count(src) > count(last)) problems.push(`depth: ${src} (${count(src)} pending) left out for ${last} (${count(last)})`)
    }
  } else {
    // Ranks: the r-th record of each source goes out after every source's (r-1)-th.
    const seen = new Map<string, number>()
    const ranks: { src: string; rank: number }[] = []
    for (const s of sent) {
      const r = seen.get(s.src) ?? 0
      seen.set(s.src, r + 1)
      ranks.push({ src: s.src, rank: r })
    }
    for (let i = 1; i < ranks.length; i++) {
      if (ranks[i].rank < ranks[i - 1].rank) problems.push(`breadth: rank ${ranks[i].rank} of ${ranks[i].src} after rank ${ranks[i - 1].rank}`)
    }
    const lastRank = ranks.length === 0 ? 0 : ranks[ranks.length - 1].rank
    // Every rank before the last holds every source that has that many pending.
    for (let r = 0; r < lastRank; r++) {
      for (const src of pending.keys()) {
        if (count(src) > r && taken(src) <= r) problems.push(`breadth: ${src} has no record at rank ${r} although ${count(src)} are pending`)
      }
    }
    // One source order throughout: each rank's order is rank 0's order, restricted.
    const first = ranks.filter((x) => x.rank === 0).map((x) => x.src)
    const pos = new Map(first.map((s, i) => [s, i]))
    for (let r = 1; r <= lastRank; r++) {
      const at = ranks.filter((x) => x.rank === r).map((x) => pos.get(x.src) ?? -1)
      for (let i = 1; i < at.length; i++) if (at[i] < at[i - 1]) problems.push(`breadth: sources in another order at rank ${r}`)
    }
    // In the last rank, the sources served come first in that order among those with records left.
    const lastServed = new Set(ranks.filter((x) => x.rank === lastRank).map((x) => x.src))
    const eligible = first.filter((s) => count(s) > lastRank)
    const k = lastServed.size
    if (eligible.slice(0, k).some((s) => !lastServed.has(s))) problems.push(`breadth: the last rank does not serve a prefix of the source order`)
  }
  return problems
}

/** One source's log: `n` records at increasing versions (gaps from `steps`), some superseded (holes). */
interface SourceSpec {
  steps: number[]
  holes: boolean[]
  floorAt: number
}

const sourceSpec: fc.Arbitrary<SourceSpec> = fc.record({
  steps: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 30 }),
  holes: fc.array(fc.boolean(), { maxLength: 30 }),
  floorAt: fc.nat(),
})

function build(specs: SourceSpec[]): { candidates: Candidate[]; pending: Map<string, number[]> } {
  const candidates: Candidate[] = []
  const pending = new Map<string, number[]>()
  specs.forEach((spec, i) => {
    const src = new Source('s' + i, undefined)
    let v = 0
    const recs: Rec[] = []
    for (const step of spec.steps) {
      v += step
      const rec: Rec = { key: `s${i}-${v}`, value: v, source_id: src.id, version: v }
      src.log.insert(rec)
      recs.push(rec)
    }
    recs.forEach((rec, j) => {
      if (spec.holes[j] === true) src.log.remove(rec)
    })
    const floor = spec.floorAt % (v + 1)
    const from = src.log.firstAfter(floor)
    const count = src.log.liveFrom(from)
    const live = recs.filter((r, j) => spec.holes[j] !== true && r.version > floor).map((r) => r.version)
    if (count !== live.length) throw new Error(`liveFrom says ${count}, ${live.length} live records above the floor`)
    if (count > 0) {
      candidates.push({ src, from, count })
      pending.set(src.id, live)
    }
  })
  return { candidates, pending }
}

test('property: selectDelta sends min(mtu, total), per source a prefix, depth or breadth as specified', (t) => {
  let runs = 0
  let cut = 0
  const orders = { depth: 0, breadth: 0 }
  holds(t, 'every selection as specified', () => fc.assert(
    fc.property(
      fc.array(sourceSpec, { minLength: 1, maxLength: 8 }),
      fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 80 })),
      fc.constantFrom<Order>('depth', 'breadth'),
      fc.integer({ min: 1, max: 1_000_000 }),
      (specs, mtu, order, seed) => {
        runs++
        const { candidates, pending } = build(specs)
        let total = 0
        for (const c of candidates) total += c.count
        const sel = selectDelta(candidates, mtu, order, seededRandom(seed))
        if (sel.truncated !== total > mtu) return false
        if (sel.truncated) {
          cut++
          orders[order]++
        }
        const sent = sel.recs.map((r) => ({ src: r.source_id, version: r.version }))
        const problems = selectionProblems(pending, sent, mtu, order)
        if (problems.length > 0) throw new Error(problems.join('; '))
        // The same seed gives the same selection (replayable runs).
        const again = selectDelta(build(specs).candidates, mtu, order, seededRandom(seed))
        return JSON.stringify(again.recs.map((r) => r.key)) === JSON.stringify(sel.recs.map((r) => r.key))
      },
    ),
    { numRuns: 2000, seed: 4242 },
  ))
  t.equal(runs, 2000, '2000 generated selections')
  t.ok(orders.depth > 300 && orders.breadth > 300, `${cut} of them cut at mtu (depth ${orders.depth}, breadth ${orders.breadth})`)
  t.end()
})

test('property: a Session\'s first batch of updates follows the same rules (floors from the peer\'s digest)', (t) => {
  let runs = 0
  let cut = 0
  let withHoles = 0
  holds(t, 'every first batch as specified', () => fc.assert(
    fc.property(
      // Per source, how many records it wrote; some keys overwritten by a later source (holes).
      fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(30), { maxLength: 6 }),
      fc.integer({ min: 1, max: 60 }),
      fc.constantFrom<Order>('depth', 'breadth'),
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer({ min: 0, max: 4 }),
      (counts, floors, mtu, order, seed, overwriteEvery) => {
        runs++
        // Source i writes keys at versions 100*i + 1..n; with overwriteEvery, some
        // of its writes overwrite a key of source i-1, which leaves a hole there.
        const holder = replica('holder')
        counts.forEach((n, i) => {
          const src = holder.clock.intern('s' + i, undefined)
          for (let v = 1; v <= n; v++) {
            const version = 100 * i + v
            const key = overwriteEvery > 0 && i > 0 && v % (overwriteEvery + 1) === 0 ? `s${i - 1}-${100 * (i - 1) + v}` : `s${i}-${version}`
            holder.applyRemote({ key, value: version, source_id: src.id, version }, src)
            holder.advance(src, version)
          }
        })
        const versions = new Map<string, number[]>()
        for (const r of holder.records()) {
          let l = versions.get(r.source_id)
          if (l === undefined) versions.set(r.source_id, (l = []))
          l.push(r.version)
        }
        const floorOf = (i: number) => (floors[i] === undefined ? 0 : 100 * i + floors[i])
        const pending = new Map<string, number[]>()
        for (const [src, vs] of versions) {
          const i = Number(src.slice(1))
          const p = vs.filter((v) => v > floorOf(i)).sort((a, b) => a - b)
          if (p.length > 0) pending.set(src, p)
        }
        let total = 0
        for (const p of pending.values()) total += p.length
        if (total > mtu) cut++
        if (holder.size < counts.reduce((a, b) => a + b, 0)) withHoles++
        const { s, port } = session(holder, mtu, order, seed)
        counts.forEach((_, i) => {
          if (floors[i] !== undefined) s.receive({ digest: true, source_id: 's' + i, version: floorOf(i) })
        })
        s.receive({ digest: true, done: true })
        const out = port.take()
        const firstDigest = out.findIndex((m) => m.digest === true)
        const batch = updates(out.slice(0, firstDigest))
        const sent = batch.map((u) => ({ src: u.source_id as string, version: u.version as number }))
        const problems = selectionProblems(pending, sent, mtu, order)
        if (problems.length > 0) throw new Error(problems.join('; '))
        return updates(out.slice(firstDigest)).length === 0
      },
    ),
    { numRuns: 500, seed: 2027 },
  ))
  t.equal(runs, 500, '500 generated responses: each first batch as specified, then the reply digest')
  t.ok(cut > 150 && withHoles > 150, `${cut} of them cut at mtu, ${withHoles} with superseded records`)
  t.end()
})

test('the checker itself refuses selections that break each rule', (t) => {
  const pending = new Map([
    ['x', [1, 2, 3]],
    ['y', [5, 6]],
    ['z', [9]],
  ])
  const s = (list: string) => list.split(' ').map((p) => ({ src: p[0], version: Number(p.slice(1)) }))
  t.deepEqual(selectionProblems(pending, s('x1 x2 x3 y5'), 4, 'depth'), [], 'depth: x whole, then the prefix of y')
  t.ok(selectionProblems(pending, s('x1 x2 x3'), 4, 'depth').length > 0, 'fewer than mtu')
  t.ok(selectionProblems(pending, s('x1 x3 x2 y5'), 4, 'depth').length > 0, 'not ascending')
  t.ok(selectionProblems(pending, s('x1 x2 y5 x3'), 4, 'depth').length > 0, 'depth: x cut before y started')
  t.ok(selectionProblems(pending, s('y5 y6 x1 x2'), 4, 'depth').length > 0, 'depth: y (2 pending) before x (3)')
  t.ok(selectionProblems(pending, s('x1 x2 x3 z9'), 4, 'depth').length > 0, 'depth: z (1) taken while y (2) was left out')
  t.ok(selectionProblems(pending, s('x2 x3 y5 y6'), 4, 'depth').length > 0, 'a suffix sent without its prefix')
  t.deepEqual(selectionProblems(pending, s('y5 x1 z9 y6 x2'), 5, 'breadth'), [], 'breadth: rank 0 of every source, then rank 1')
  t.ok(selectionProblems(pending, s('y5 y6 x1 z9 x2'), 5, 'breadth').length > 0, 'breadth: rank 1 before every rank 0')
  t.ok(selectionProblems(pending, s('y5 x1 z9 x2 y6'), 5, 'breadth').length > 0, 'breadth: another source order at rank 1')
  t.ok(selectionProblems(pending, s('y5 x1 z9 x2'), 4, 'breadth').length > 0, 'breadth: the last rank skips the first source in order')
  t.end()
})
