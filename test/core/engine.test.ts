import test from 'tape'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { Engine, type Delta, type DigestEntry, type EngineOptions } from '../../lib/core/engine.ts'
import { DEFAULT_LIMITS } from '../../lib/protocol/validate.ts'
import { seededRandom, randomInt } from '../../lib/core/random.ts'
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import type { DeltaOrder, Rec } from '../../lib/core/types.ts'

/** An engine holding, for each source, `n` records at versions 1..n (keys `${src}-${v}`). */
function holder(counts: Record<string, number>, id = 'holder'): Engine {
  const state: Record<string, unknown> = {}
  for (const [src, n] of Object.entries(counts)) {
    for (let v = 1; v <= n; v++) state[`${src}-${v}`] = { value: v, version: v, source_id: src }
  }
  return new Engine({ id, state })
}

const digestOf = (entries: Record<string, number>): DigestEntry[] => Object.entries(entries).map(([source_id, version]) => ({ source_id, version }))
const tag = (d: Delta) => `${d.source_id}${d.version}`

/** One push-pull exchange: q's digest, p's deltas, then q's deltas for p's digest. */
function exchange(p: Engine, q: Engine, mtu: number, order: DeltaOrder, random: () => number) {
  const toQ = p.deltasFor(q.digest(), { mtu, order, random })
  const rq = q.apply(toQ.deltas)
  const toP = q.deltasFor(p.digest(), { mtu, order, random })
  const rp = p.apply(toP.deltas)
  return { toQ, toP, redundant: rq.redundant + rp.redundant }
}

test('digest: the clock of every source known, as {source_id, gen?, version}', (t) => {
  const e = new Engine({ id: 'a', gen: 'g1' })
  t.deepEqual(e.digest(), [{ source_id: 'a', gen: 'g1', version: 0 }], 'nothing written yet')
  e.set('x', 1)
  e.set('y', 2)
  t.deepEqual(e.digest(), [{ source_id: 'a', gen: 'g1', version: 2 }])
  const h = holder({ r: 3, s: 1 })
  t.deepEqual(h.digest().filter((d) => d.source_id !== 'holder'), [{ source_id: 'r', version: 3 }, { source_id: 's', version: 1 }])
  t.end()
})

test('set, del, get and the version known of each key', (t) => {
  const e = new Engine({ id: 'a' })
  const r = e.set('k', { v: 1 })
  t.equal(r.version, 1)
  t.deepEqual(e.get('k'), { version: 1, value: { v: 1 } })
  t.equal(e.versionOf('k'), 1)
  const d = e.del('k')
  t.equal(d.deleted, true)
  t.deepEqual(e.get('k'), { version: -Infinity, value: null }, 'deleted reads as absent')
  t.equal(e.versionOf('k'), 2, 'the tombstone is the version known')
  t.equal(e.versionOf('nothing'), 0)
  t.throws(() => e.set('bad', NaN), /not representable/, 'values are checked')
  t.end()
})

test('two engines converge through digest / deltasFor / apply, with nothing sent twice', (t) => {
  const a = new Engine({ id: 'a' })
  const b = new Engine({ id: 'b' })
  for (let i = 0; i < 7; i++) a.set(`a${i}`, i)
  for (let i = 0; i < 4; i++) b.set(`b${i}`, i)
  b.set('shared', 'from b')
  a.set('shared', 'from a') // a's version 8 beats b's 5
  const { toQ, toP, redundant } = exchange(a, b, 100, 'depth', seededRandom(1))
  t.equal(toQ.deltas.length, 8, 'a sends its 8 records')
  t.equal(toP.deltas.length, 4, 'b sends its 4 live ones (its "shared" lost to a\'s)')
  t.equal(redundant, 0)
  for (const k of ['a0', 'a6', 'b0', 'b3']) t.deepEqual(a.get(k), b.get(k), `${k} agrees`)
  t.deepEqual(a.get('shared'), { version: 8, value: 'from a' }, 'last write wins on both')
  t.deepEqual(b.get('shared'), a.get('shared'))
  t.equal(a.clockOf('a'), b.clockOf('a'), 'clocks of a equal')
  t.equal(a.clockOf('b'), 4, 'a covers b up to the last record b could send (no clock adoption here: see Session)')
  const again = exchange(a, b, 100, 'depth', seededRandom(2))
  t.equal(again.toQ.deltas.length + again.toP.deltas.length, 0, 'a second exchange sends nothing')
  t.end()
})

test('many engines under a small MTU converge, never redundant, keeping the paper\'s invariant', (t) => {
  for (const order of ['depth', 'breadth'] as const) {
    const random = seededRandom(order === 'depth' ? 7 : 8)
    const nodes = Array.from({ length: 6 }, (_, i) => new Engine({ id: `n${i}` }))
    const winner = new Map<string, Rec>()
    let redundant = 0
    for (let step = 0; step < 400; step++) {
      const w = nodes[randomInt(random, nodes.length)]
      if (step < 250) {
        const rec = w.set(`k${randomInt(random, 30)}`, step)
        const cur = winner.get(rec.key)
        if (cur === undefined || sort(rec, cur) > 0) winner.set(rec.key, rec)
      }
      const p = nodes[randomInt(random, nodes.length)]
      let q = nodes[randomInt(random, nodes.length - 1)]
      if (q === p) q = nodes[nodes.length - 1]
      redundant += exchange(p, q, 3, order, random).redundant
      // Eq. 2: every node holds each key's winner or its clock is below it.
      for (const n of nodes) {
        for (const [k, rec] of winner) {
          if (n.record(k) !== undefined && sort(n.record(k)!, rec) === 0) continue
          if (n.clockOf(rec.source_id) >= rec.version) {
            t.fail(`${order}: ${n.id} covers ${k}@${rec.version} without holding it`)
            return t.end()
          }
        }
      }
    }
    for (let round = 0; round < 200; round++) for (const p of nodes) exchange(p, nodes[randomInt(random, nodes.length)], 3, order, random)
    const ok = nodes.every((n) => [...winner].every(([k, rec]) => n.record(k) !== undefined && sort(n.record(k)!, rec) === 0))
    t.ok(ok, `${order}: every node holds every winner`)
    t.equal(redundant, 0, `${order}: no delta was sent to a node that had it`)
  }
  t.end()
})

test('depth: the source with the most pending records first, sent in full; candidates count them all', (t) => {
  const h = holder({ x: 2, y: 5, z: 3 })
  const r = h.deltasFor([], { mtu: 6, order: 'depth', random: seededRandom(1) })
  t.deepEqual(r.deltas.map(tag), ['y1', 'y2', 'y3', 'y4', 'y5', 'z1'])
  t.equal(r.candidates, 10, '10 records wanted to go out')
  t.equal(r.truncated, true)
  const all = h.deltasFor([], { mtu: 100, random: seededRandom(1) })
  t.equal(all.deltas.length, 10)
  t.equal(all.candidates, 10)
  t.equal(all.truncated, false)
  t.end()
})

test('breadth: rank by rank across sources, each source ascending', (t) => {
  const h = holder({ x: 2, y: 5, z: 3 })
  const r = h.deltasFor(digestOf({ y: 1 }), { mtu: 7, order: 'breadth', random: seededRandom(9) })
  const v = r.deltas.map((d) => `${d.source_id}${d.version}`)
  t.deepEqual(v.slice(0, 3).sort(), ['x1', 'y2', 'z1'], 'first the oldest pending of every source')
  t.deepEqual(v.slice(3, 6).sort(), ['x2', 'y3', 'z2'], 'then the second')
  t.ok(v[6] === 'y4' || v[6] === 'z3', 'then the third rank, y4 or z3 in random order')
  t.equal(r.candidates, 9, 'y1 is held by the peer')
  t.end()
})

test('property: for random states and MTU, min(mtu, total) deltas, per source a prefix in ascending version, depth order by pending count when cut', (t) => {
  const sources = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 14 })))
  fc.assert(
    fc.property(sources, fc.integer({ min: 1, max: 40 }), fc.constantFrom<DeltaOrder>('depth', 'breadth'), fc.integer(), (spec, mtu, order, seed) => {
      const counts: Record<string, number> = {}
      const peer: Record<string, number> = {}
      let total = 0
      for (const [s, [n, claim]] of Object.entries(spec)) {
        counts[s] = n
        peer[s] = Math.min(claim, n + 2)
        total += Math.max(0, n - peer[s])
      }
      const h = holder(counts)
      const r = h.deltasFor(digestOf(peer), { mtu, order, random: seededRandom(seed) })
      if (r.candidates !== total || r.deltas.length !== Math.min(mtu, total)) return false
      const sent = new Map<string, number[]>()
      const seq: string[] = []
      for (const d of r.deltas) {
        // Everything here is vouched for: only each source's first record is linked, to the peer's entry.
        if ('prev' in d !== !sent.has(d.source_id) || ('prev' in d && d.prev !== peer[d.source_id])) return false
        sent.set(d.source_id, [...(sent.get(d.source_id) ?? []), d.version])
        if (seq[seq.length - 1] !== d.source_id) seq.push(d.source_id)
      }
      for (const [s, vs] of sent) {
        // A prefix of what the peer lacks: peer+1, peer+2, ...
        if (!vs.every((v, i) => v === peer[s] + 1 + i)) return false
      }
      // When everything fits the order does not matter; when cut, depth sends the most pending first.
      if (order === 'depth' && total > mtu) {
        if (seq.length !== sent.size) return false // each source in one block
        const pending = seq.map((s) => counts[s] - peer[s])
        for (let i = 1; i < pending.length; i++) if (pending[i] > pending[i - 1]) return false
      }
      return true
    }),
    { numRuns: 500 },
  )
  t.pass('500 random states')
  t.end()
})

test('apply: a refused record breaks its source\'s chain for the rest of the response', (t) => {
  const h = holder({ s: 5 })
  const rec = new Engine({ id: 'r', verify: (u) => u.key !== 's-3' })
  const { deltas } = h.deltasFor(rec.digest(), { mtu: 100, random: seededRandom(1) })
  const res = rec.apply(deltas)
  t.equal(res.applied, 4, 's-1, s-2, s-4, s-5 applied')
  t.equal(res.refused, 1)
  t.deepEqual(res.reasons, ['unsigned update'])
  t.equal(rec.clockOf('s'), 2, 'the clock stops below the refused record')
  t.equal(res.advanced, 1, 'one source\'s clock moved')
  // The next exchange asks again from 2.
  const again = h.deltasFor(rec.digest(), { mtu: 100, random: seededRandom(1) })
  t.deepEqual(again.deltas.map(tag), ['s3', 's4', 's5'], 'asked again from version 2')
  t.end()
})

test('apply: invalid objects are refused and break their chain; other sources go on', (t) => {
  const e = new Engine({ id: 'e' })
  const res = e.apply([
    { key: 'a', value: 1, source_id: 'p', version: 1 },
    { key: 'b', value: 2, source_id: 'p', version: -4 },
    { key: 'c', value: 3, source_id: 'p', version: 3 },
    { key: 'd', value: 4, source_id: 'q', version: 2 },
    'junk',
  ])
  t.equal(res.refused, 2)
  t.equal(res.applied, 3)
  t.equal(e.clockOf('p'), 1, 'p stops at the invalid record')
  t.equal(e.clockOf('q'), 2, 'q is unaffected')
  t.end()
})

test('records held above the clock go out unlinked, never as candidates, and move no clock', (t) => {
  const a = new Engine({ id: 'a' })
  // s-1 never arrived; s-2 came with its explicit link (prev 1): held above the clock.
  a.apply([{ key: 'k2', value: 2, source_id: 's', version: 2, prev: 1 }])
  t.equal(a.clockOf('s'), 0, 'held above the clock')
  t.equal(a.versionOf('k2'), 2)
  const b = new Engine({ id: 'b' })
  const r = a.deltasFor(b.digest(), { mtu: 10, random: seededRandom(1) })
  t.equal(r.candidates, 0, 'not a candidate')
  t.deepEqual(r.deltas, [{ key: 'k2', value: 2, source_id: 's', version: 2, prev: 1 }], 'sent with its own link')
  b.apply(r.deltas)
  t.equal(b.versionOf('k2'), 2, 'b holds it')
  t.equal(b.clockOf('s'), 0, 'and its clock does not pass the gap')
  t.end()
})

test('applying a response twice is counted as redundant and changes nothing', (t) => {
  const h = holder({ s: 4 })
  const e = new Engine({ id: 'e' })
  const { deltas } = h.deltasFor(e.digest(), { mtu: 100, random: seededRandom(3) })
  t.equal(e.apply(deltas).redundant, 0)
  const second = e.apply(deltas)
  t.equal(second.redundant, 4)
  t.equal(second.applied, 0)
  t.end()
})

test('deltasFor: ties are broken by the random given (the same seed, the same response; other seeds, other orders)', (t) => {
  // Six sources with 2 pending each: a depth cut at 4 keeps two whole sources, chosen by the tie-break.
  const h = holder({ a: 2, b: 2, c: 2, d: 2, e: 2, f: 2 })
  const pick = (seed: number, order: DeltaOrder) => h.deltasFor([], { mtu: 4, order, random: seededRandom(seed) }).deltas.map(tag).join(' ')
  for (const order of ['depth', 'breadth'] as const) {
    t.equal(pick(11, order), pick(11, order), `${order}: deterministic for a seed`)
    const seen = new Set(Array.from({ length: 20 }, (_, i) => pick(i, order)))
    t.ok(seen.size > 3, `${order}: ${seen.size} different responses over 20 seeds`)
  }
  for (let seed = 0; seed < 20; seed++) {
    const d = h.deltasFor([], { mtu: 4, order: 'depth', random: seededRandom(seed) }).deltas
    t.ok(d[0].source_id === d[1].source_id && d[2].source_id === d[3].source_id && d[1].version === 2, seed === 0 ? 'depth: each chosen source sent whole, ascending' : undefined)
  }
  t.end()
})

test('deltasFor: a digest from an untrusted peer (junk versions, repeated entries, unknown sources) asks for no less than it should', (t) => {
  const h = holder({ s: 3, u: 2 })
  const peer: DigestEntry[] = [
    { source_id: 's', version: NaN },
    { source_id: 's', version: 1 },
    { source_id: 's', version: -5 },
    { source_id: 'u', version: Infinity },
    { source_id: 'nobody', version: 7 },
  ]
  const r = h.deltasFor(peer, { mtu: 100, random: seededRandom(1) })
  t.deepEqual(r.deltas.map(tag).sort(), ['s2', 's3', 'u1', 'u2'], 'the highest valid entry counts; NaN, negative and infinite mean nothing held')
  t.equal(r.candidates, 4)
  t.deepEqual(h.deltasFor([], { mtu: 0, random: seededRandom(1) }), { deltas: [], candidates: 5, truncated: true }, 'an MTU of 0 sends nothing and says what waited')
  t.end()
})

test('apply: counts what entered state, what lost, what was redundant, and which clocks moved', (t) => {
  const e = new Engine({ id: 'e' })
  e.apply([{ key: 'k', value: 'newer', source_id: 'z', version: 9, prev: 8 }])
  const res = e.apply([
    { key: 'k', value: 'older', source_id: 'p', version: 1 },
    { key: 'j', value: 1, source_id: 'p', version: 2 },
    { key: 'k', value: 'newer', source_id: 'z', version: 9, prev: 8 },
  ])
  t.equal(res.applied, 1, 'j entered state')
  t.equal(res.rejected, 2, 'p\'s k lost to z\'s newer write, and the copy of z\'s record was turned down')
  t.equal(res.redundant, 1, 'that copy was already held: sent for nothing')
  t.equal(res.advanced, 1, 'p\'s clock moved (to 2)')
  t.equal(e.clockOf('p'), 2)
  t.deepEqual(res.reasons, [])
  t.end()
})

test('an engine over an existing replica reads and writes it', (t) => {
  const replica = new Replica({ id: 'x', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10 })
  const e = new Engine(replica)
  e.set('k', 1)
  t.deepEqual(replica.get('k'), { version: 1, value: 1 })
  t.equal(e.id, 'x')
  t.end()
})

test('layering: engine.ts and flow.ts import nothing from streams, transports, stores or node:, and use no timers, Date or Math.random', (t) => {
  for (const file of ['engine.ts', 'flow.ts']) {
    const src = readFileSync(new URL(`../../lib/core/${file}`, import.meta.url), 'utf8')
    const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1])
    t.ok(imports.every((p) => p.startsWith('./') || p.startsWith('../protocol/')), `${file} imports only core and protocol: ${imports.join(', ')}`)
    t.notOk(/setTimeout|setInterval|Date\.|Math\.random/.test(src), `${file}: no timers, clock or ambient randomness`)
  }
  t.end()
})

test('apply: a response cut for another digest moves no clock across a gap (each source\'s first delta links to the digest entry it answers)', (t) => {
  const random = seededRandom(1)
  const w = new Engine({ id: 'w' })
  for (let i = 1; i <= 10; i++) w.set(`k${i}`, i)
  const all = w.deltasFor([], { mtu: Infinity, random }).deltas
  const x = new Engine({ id: 'x' })
  x.apply(all.slice(0, 5))
  const q = new Engine({ id: 'q' })
  q.apply(all.slice(0, 2))
  t.equal(q.clockOf('w'), 2)
  const toX = w.deltasFor(x.digest(), { mtu: 100, random })
  t.deepEqual(
    toX.deltas.map((d) => ('prev' in d ? `${d.version}(prev ${d.prev})` : `${d.version}`)),
    ['6(prev 5)', '7', '8', '9', '10'],
    'the first record links to x\'s entry (5), the rest chain from it',
  )
  const r = q.apply(toX.deltas)
  t.equal(r.applied, 5, 'q takes the records')
  t.equal(r.advanced, 0, 'but moves no clock')
  t.equal(q.clockOf('w'), 2, 'q\'s clock of w stays below the gap (k3..k5 never arrived)')
  const again = w.deltasFor(q.digest(), { mtu: 100, random })
  t.deepEqual(again.deltas.map(tag), ['w3', 'w4', 'w5', 'w6', 'w7', 'w8', 'w9', 'w10'], 'the next exchange sends from q\'s clock')
  t.equal(again.candidates, 8)
  const r2 = q.apply(again.deltas)
  t.equal(q.clockOf('w'), 10, 'and the clock reaches 10 once the gap is filled')
  t.equal(r2.redundant, 5, 'the records q held above its clock come again, counted as redundant')
  for (let i = 1; i <= 10; i++) t.deepEqual(q.get(`k${i}`), w.get(`k${i}`))
  t.end()
})

test('apply: a response with the digest link of a source whose clock covers it moves the clock; a cut response chains through the first record', (t) => {
  const h = holder({ s: 6, u: 3 })
  const e = new Engine({ id: 'e' })
  e.apply(h.deltasFor([], { mtu: 2, order: 'depth', random: seededRandom(2) }).deltas)
  const d = h.deltasFor(e.digest(), { mtu: 100, random: seededRandom(2) })
  const firsts = d.deltas.filter((x) => 'prev' in x).map((x) => `${tag(x)}<-${(x as { prev: number }).prev}`)
  t.deepEqual(firsts.sort(), ['s3<-2', 'u1<-0'], 'one linked record per source, linked to the peer\'s entry')
  e.apply(d.deltas)
  t.equal(e.clockOf('s'), 6)
  t.equal(e.clockOf('u'), 3)
  t.end()
})

test('deltasFor: refuses an mtu that is not a non-negative integer or Infinity, an unknown order, a missing random (even when nothing is cut)', (t) => {
  const h = holder({ s: 3 })
  const random = seededRandom(1)
  for (const mtu of [2.5, 0.5, -1, NaN, -Infinity]) {
    t.throws(() => h.deltasFor([], { mtu, random }), (e: unknown) => e instanceof RangeError && e.message.includes(`mtu must be a non-negative integer or Infinity, got ${mtu}`), `mtu ${mtu}: RangeError`)
  }
  for (const mtu of ['3', undefined, null]) {
    t.throws(() => h.deltasFor([], { mtu: mtu as unknown as number, random }), (e: unknown) => e instanceof TypeError && /mtu must be/.test((e as Error).message), `mtu ${JSON.stringify(mtu)}: TypeError`)
  }
  t.throws(() => h.deltasFor([], { mtu: 3, order: 'bogus' as DeltaOrder, random }), /order must be 'depth' or 'breadth', got "bogus"/)
  t.throws(() => h.deltasFor([], { mtu: 100, random: undefined as unknown as () => number }), (e: unknown) => e instanceof TypeError && /random must be a function/.test((e as Error).message), 'random missing, nothing cut')
  t.throws(() => h.deltasFor([], undefined as unknown as { mtu: number; random: () => number }), TypeError, 'no options')
  t.equal(h.deltasFor([], { mtu: Infinity, random }).deltas.length, 3, 'Infinity: no limit')
  t.equal(h.deltasFor([], { mtu: 0, order: 'breadth', random }).deltas.length, 0, '0: nothing')
  t.end()
})

test('deltasFor: a random that returns values out of [0, 1) still gives each source a prefix, in both orders', (t) => {
  const h = holder({ a: 1, b: 2, c: 3, d: 4 })
  for (const random of [() => 1, () => NaN, () => -0.5, () => 7]) {
    for (const order of ['depth', 'breadth'] as const) {
      const r = h.deltasFor([], { mtu: 3, order, random })
      t.equal(r.deltas.length, 3)
      const per: Record<string, number[]> = {}
      for (const d of r.deltas) (per[d.source_id] ??= []).push(d.version)
      t.ok(Object.values(per).every((vs) => vs.every((v, i) => v === i + 1)), `${order}, random () => ${random()}: ${r.deltas.map(tag).join(' ')}`)
    }
  }
  t.end()
})

test('new Engine refuses an id Gossip would refuse: missing, not a string, empty, over limits.maxIdLength, with NUL', (t) => {
  for (const opts of [{}, { id: 5 }, { id: '' }, { id: 'x'.repeat(257) }, { id: 'a\u0000b' }, { id: 'a', gen: '' }]) {
    t.throws(() => new Engine(opts as unknown as EngineOptions), (e: unknown) => e instanceof TypeError && /^Engine (id|gen) must be a non-empty string of at most 256 characters/.test((e as Error).message), `refused: ${JSON.stringify(opts).slice(0, 40)}`)
  }
  t.throws(() => new Engine({ id: 'x'.repeat(20), limits: { ...DEFAULT_LIMITS, maxIdLength: 10 } }), /at most 10 characters/, 'the limits given count')
  t.throws(() => new Engine(undefined as unknown as EngineOptions), TypeError)
  t.equal(new Engine({ id: 'x'.repeat(256) }).id.length, 256, 'an id of maxIdLength is taken')
  t.end()
})

test('Engine.set and del take a finite number as its string, as Gossip.set does; other keys are refused', (t) => {
  const e = new Engine({ id: 'e' })
  t.equal(e.set(5, 'five').key, '5')
  t.deepEqual(e.get('5'), { version: 1, value: 'five' })
  t.deepEqual(e.get(5), e.get('5'))
  t.equal(e.versionOf(5), 1)
  t.equal(e.record(5)?.key, '5')
  t.equal(e.del(5).key, '5')
  for (const key of [NaN, Infinity, null, {}, undefined]) t.throws(() => e.set(key as unknown as string, 1), TypeError, `key ${String(key)}`)
  t.throws(() => e.set('k'.repeat(4097), 1), /maxKeyLength/, 'a key peers would refuse')
  const p = new Engine({ id: 'p' })
  t.equal(p.apply(e.deltasFor([], { mtu: 10, random: seededRandom(1) }).deltas).refused, 0, 'a peer takes what an engine writes')
  t.end()
})

test('deltasFor: a fractional digest version is taken down to a whole one, so the links it gives are ones apply takes', (t) => {
  const w = new Engine({ id: 'w' })
  for (let i = 1; i <= 4; i++) w.set('k' + i, i)
  const q = new Engine({ id: 'q' })
  const res = w.deltasFor([{ source_id: 'w', version: 2.5 }], { mtu: 10, random: seededRandom(1) })
  t.deepEqual(res.deltas.map((d) => (d as { prev?: number }).prev), [2, undefined], 'the first delta links to 2')
  const r = q.apply(res.deltas)
  t.equal(r.refused, 0, 'nothing refused')
  t.equal(r.applied, 2, 'both applied')
  t.end()
})

test('new Engine: partial limits keep the defaults of the bounds they leave out, so a peer\'s long key, long id or deep value is still refused', (t) => {
  const e = new Engine({ id: 'e', limits: { maxValueBytes: 1000 } as unknown as EngineOptions['limits'] })
  let deep: unknown = 1
  for (let i = 0; i < 5000; i++) deep = [deep]
  let res: ReturnType<Engine['apply']> | undefined
  t.doesNotThrow(() => {
    res = e.apply([
      { key: 'k'.repeat(5000), value: 1, source_id: 'p', version: 1 },
      { key: 'a', value: 1, source_id: 'q'.repeat(300), version: 1 },
      { key: 'b', value: deep, source_id: 'r', version: 1 },
      { key: 'c', value: 'x'.repeat(2000), source_id: 's', version: 1 },
    ])
  }, 'apply does not throw on a deep value')
  t.equal(res?.refused, 4, 'every one refused')
  t.equal(res?.applied, 0, 'none entered state')
  t.ok(res?.reasons.some((r) => /key longer than 4096/.test(r)), 'the default maxKeyLength holds')
  t.ok(res?.reasons.some((r) => /nested deeper than 64/.test(r)), 'the default maxValueDepth holds')
  t.end()
})

test('new Engine refuses limits and options of the wrong kind at construction, naming them', (t) => {
  const bad: [unknown, RegExp][] = [
    [{ limits: { maxKeyLength: 0 } }, /opts\.limits\.maxKeyLength must be a positive integer, got 0/],
    [{ limits: { maxValueDepth: '64' } }, /opts\.limits\.maxValueDepth must be a positive integer, got "64"/],
    [{ limits: 5 }, /opts\.limits must be an object/],
    [{ resolve: 5 }, /opts\.resolve must be a function, got number/],
    [{ sort: 'asc' }, /opts\.sort must be a function/],
    [{ verify: {} }, /opts\.verify must be a function/],
    [{ maxHistory: -1 }, /opts\.maxHistory must be a positive integer or Infinity/],
    [{ maxOffset: NaN }, /opts\.maxOffset must be a non-negative number/],
  ]
  for (const [extra, msg] of bad) t.throws(() => new Engine({ id: 'e', ...(extra as object) } as EngineOptions), msg, JSON.stringify(extra))
  t.doesNotThrow(() => new Engine({ id: 'e', limits: { maxValueBytes: 1000 } as unknown as EngineOptions['limits'], maxHistory: Infinity }), 'partial limits and an unbounded history are fine')
  t.end()
})
