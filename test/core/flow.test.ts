import test from 'tape'
import fc from 'fast-check'
import { FLOW_DEFAULTS, FlowControl, effectiveRate, redistribute, share, type Rates } from '../../lib/core/flow.ts'
import { seededRandom } from '../../lib/core/random.ts'

const close = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) <= eps * Math.max(1, Math.abs(a), Math.abs(b))
const rate = fc.double({ min: 0, max: 1000, noNaN: true, noDefaultInfinity: true })
const rates = fc.record({ desired: rate, allowed: rate })

test('defaults are the paper\'s: alpha 0.75, beta 0.05, phi1 = phi2 = 3', (t) => {
  t.deepEqual({ ...FLOW_DEFAULTS }, { alpha: 0.75, beta: 0.05, phi1: 3, phi2: 3 })
  const f = new FlowControl(10, 0.2)
  t.deepEqual([f.alpha, f.beta, f.phi1, f.phi2], [0.75, 0.05, 3, 3], 'a FlowControl without options uses them')
  const g = new FlowControl(10, 0.2, { alpha: 0.5, beta: 1, phi1: 2, phi2: 4 })
  t.deepEqual([g.alpha, g.beta, g.phi1, g.phi2], [0.5, 1, 2, 4], 'every one is an option')
  t.end()
})

test('a participant writes at min(desired, allowed)', (t) => {
  t.equal(effectiveRate({ desired: 10, allowed: 0.2 }), 0.2)
  t.equal(effectiveRate({ desired: 1, allowed: 3 }), 1)
  t.equal(new FlowControl(10, 0.2).rate, 0.2)
  t.end()
})

test('surplus: each side gets its desire plus half of what is left', (t) => {
  const p = { desired: 1, allowed: 2 }
  const q = { desired: 2, allowed: 4 }
  // S = 6, desires 3, surplus 3: p gets 1 + 1.5, q gets 2 + 1.5
  t.equal(share(p, q), 2.5)
  t.equal(share(q, p), 3.5)
  t.deepEqual(redistribute(p, q), [2.5, 3.5])
  t.end()
})

test('shortage, both want at least half: both get half', (t) => {
  const p = { desired: 10, allowed: 0.2 }
  const q = { desired: 10, allowed: 1.0 }
  t.equal(share(p, q), 0.6)
  t.equal(share(q, p), 0.6)
  t.end()
})

test('shortage, one wants less than half: it is granted, the other gets the rest', (t) => {
  const p = { desired: 0.1, allowed: 0.5 }
  const q = { desired: 10, allowed: 0.5 }
  // S = 1; the formula would give q 10 + (1 - 10.1)/2 = 5.45 and p -4.45
  t.equal(share(p, q), 0.1)
  t.ok(close(share(q, p), 0.9))
  const [a, b] = redistribute(q, p)
  t.ok(close(a, 0.9) && close(b, 0.1), 'either order')
  t.end()
})

test('property: redistribution conserves the pair\'s allowance and never goes negative', (t) => {
  fc.assert(
    fc.property(rates, rates, (p, q) => {
      const s = p.allowed + q.allowed
      const a = share(p, q)
      const b = share(q, p)
      const [x, y] = redistribute(p, q)
      return a >= 0 && b >= 0 && x >= 0 && y >= 0 && close(a + b, s) && close(x + y, s) && close(x, a) && close(y, b)
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 random pairs')
  t.end()
})

test('property: max-min fair where capacity is short, desires met where it is not', (t) => {
  fc.assert(
    fc.property(rates, rates, (p, q) => {
      const s = p.allowed + q.allowed
      const a = share(p, q)
      if (p.desired + q.desired <= s) return a >= p.desired - 1e-9 && share(q, p) >= q.desired - 1e-9
      // Short: nobody gets more than it wants unless the other is capped at half.
      const small = Math.min(p.desired, q.desired)
      if (small >= s / 2) return close(a, s / 2)
      return p.desired === small ? close(a, p.desired) : close(a, s - small)
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 random pairs')
  t.end()
})

test('redistribute is exact: a granted desire exactly, the sum exactly, and redistribute(q, p) exactly the swap of redistribute(p, q)', (t) => {
  t.deepEqual(redistribute({ desired: 9.3, allowed: 2.5 }, { desired: 0.2, allowed: 0 }), [2.3, 0.2], 'the smaller desire, 0.2, granted exactly')
  t.deepEqual(redistribute({ desired: 0.2, allowed: 0 }, { desired: 9.3, allowed: 2.5 }), [0.2, 2.3], 'and in the other order')
  const [a, b] = redistribute({ desired: 0.1, allowed: 10 }, { desired: 5, allowed: 1 })
  t.deepEqual(redistribute({ desired: 5, allowed: 1 }, { desired: 0.1, allowed: 10 }), [b, a], 'enough capacity: the same split either way')
  t.equal(a + b, 11)
  // The spec, in exact terms where it grants a desire, within rounding elsewhere.
  const spec = (p: Rates, q: Rates) => {
    const S = p.allowed + q.allowed
    if (p.desired + q.desired <= S) return p.desired + (S - p.desired - q.desired) / 2
    if (p.desired >= S / 2 && q.desired >= S / 2) return S / 2
    return p.desired < q.desired ? p.desired : S - q.desired
  }
  const random = seededRandom(3)
  let bad = 0
  let cases = 0
  for (let i = 0; i < 100_000; i++) {
    const v = [0, 0.1, 0.2, 0.3, 1, 2.5, 3, 5, 9.3, 10, 1e-9, 1e6, random() * 10, random() * 1000]
    const pick = () => v[Math.floor(random() * v.length)]
    const p = { desired: pick(), allowed: pick() }
    const q = { desired: pick(), allowed: pick() }
    const S = p.allowed + q.allowed
    const [x, y] = redistribute(p, q)
    const [y2, x2] = redistribute(q, p)
    const why: string[] = []
    const granted = p.desired + q.desired > S && Math.min(p.desired, q.desired) < S / 2
    // One side is the total minus the other: exactly so, except that the rest of a granted desire is rounded once.
    if (x !== S - y && y !== S - x) why.push(`neither is the total minus the other: ${x} + ${y} vs ${S}`)
    if (!granted && x + y !== S) why.push(`sum ${x + y} is not ${S}`)
    if (granted && Math.abs(x + y - S) > Number.EPSILON * S) why.push(`sum ${x + y} is not ${S} within a rounding`)
    if (x !== x2 || y !== y2) why.push(`not the swap: ${[x, y]} vs ${[x2, y2]}`)
    if (share(p, q) !== x || share(q, p) !== y) why.push('share differs from redistribute')
    if (!(x >= 0 && y >= 0)) why.push('negative')
    if (!close(x, spec(p, q))) why.push(`${x} is not the spec's ${spec(p, q)}`)
    // Short of capacity with one desire below half: that desire is granted exactly.
    if (p.desired + q.desired > S && p.desired < q.desired && p.desired < S / 2 && x !== p.desired) why.push(`granted ${x}, not ${p.desired}`)
    if (p.desired + q.desired > S && q.desired < p.desired && q.desired < S / 2 && y !== q.desired) why.push(`granted ${y}, not ${q.desired}`)
    if (why.length > 0 && bad++ < 5) t.fail(`${JSON.stringify(p)} ${JSON.stringify(q)}: ${why.join('; ')}`)
    cases++
  }
  t.equal(bad, 0, `${cases} seeded random pairs`)
  t.end()
})

test('property: gossiping pairs spread a shared allowance evenly among equally hungry nodes', (t) => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.01, max: 5, noNaN: true }), { minLength: 2, maxLength: 20 }), fc.integer(), (allowed, seed) => {
      const nodes = allowed.map((a) => new FlowControl(1000, a))
      const total = allowed.reduce((x, y) => x + y, 0)
      let s = seed >>> 0
      const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0)
      for (let round = 0; round < 60 * nodes.length; round++) {
        const i = next() % nodes.length
        let j = next() % (nodes.length - 1)
        if (j >= i) j++
        FlowControl.pair(nodes[i], nodes[j])
      }
      const sum = nodes.reduce((x, n) => x + n.allowed, 0)
      const mean = total / nodes.length
      return close(sum, total, 1e-6) && nodes.every((n) => Math.abs(n.allowed - mean) < 0.01 * mean + 1e-9)
    }),
    { numRuns: 200 },
  )
  t.pass('sum kept, every node near the mean')
  t.end()
})

test('AIMD: phi1 consecutive overflows multiply by alpha and reset both counters', (t) => {
  const f = new FlowControl(10, 2)
  t.equal(f.sent(101, 100), null, 'first overflow')
  t.equal(f.sent(150, 100), null, 'second')
  t.equal(f.over, 2)
  t.equal(f.sent(101, 100), 'decrease', 'third: decrease')
  t.equal(f.allowed, 1.5, '2 x 0.75')
  t.deepEqual([f.over, f.under], [0, 0], 'counters reset')
  t.end()
})

test('AIMD: phi2 consecutive messages that fit add beta; exactly the MTU fits', (t) => {
  const f = new FlowControl(10, 1)
  t.equal(f.sent(0, 100), null)
  t.equal(f.sent(100, 100), null, 'candidates equal to the MTU fit')
  t.equal(f.sent(3, 100), 'increase')
  t.ok(close(f.allowed, 1.05), '1 + 0.05')
  t.deepEqual([f.over, f.under], [0, 0], 'counters reset')
  t.end()
})

test('AIMD: an overflow breaks a run of fits and a fit breaks a run of overflows', (t) => {
  const f = new FlowControl(10, 1)
  const events = [50, 50, 200, 50, 50, 200, 200, 50, 200, 200].map((c) => f.sent(c, 100))
  t.deepEqual(events, [null, null, null, null, null, null, null, null, null, null], 'no run ever reaches 3')
  t.equal(f.allowed, 1, 'allowed rate unchanged')
  t.equal(f.sent(200, 100), 'decrease', 'three overflows in a row at last')
  t.end()
})

test('property: under any sequence of messages and exchanges, allowed rates stay non-negative and finite (positive while every desire is)', (t) => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('msg' as const), who: fc.nat(3), candidates: fc.nat(400), mtu: fc.integer({ min: 1, max: 200 }) }),
    fc.record({ kind: fc.constant('pair' as const), who: fc.nat(3), other: fc.nat(3) }),
  )
  const run = (init: Rates[], steps: { kind: 'msg' | 'pair'; who: number; other?: number; candidates?: number; mtu?: number }[]) => {
    const nodes = init.map((r) => new FlowControl(r.desired, r.allowed))
    for (const s of steps) {
      if (s.kind === 'msg') nodes[s.who].sent(s.candidates!, s.mtu!)
      else if (s.who !== s.other) FlowControl.pair(nodes[s.who], nodes[s.other!])
    }
    return nodes
  }
  fc.assert(
    fc.property(fc.array(rates, { minLength: 4, maxLength: 4 }), fc.array(step, { maxLength: 300 }), (init, steps) =>
      run(init, steps).every((n) => n.allowed >= 0 && Number.isFinite(n.allowed)),
    ),
    { numRuns: 500 },
  )
  const positive = fc.double({ min: 1e-3, max: 1000, noNaN: true })
  fc.assert(
    fc.property(fc.array(fc.record({ desired: positive, allowed: positive }), { minLength: 4, maxLength: 4 }), fc.array(step, { maxLength: 300 }), (init, steps) =>
      run(init, steps).every((n) => n.allowed > 0 && Number.isFinite(n.allowed)),
    ),
    { numRuns: 500 },
  )
  t.pass('500 + 500 random histories')
  t.end()
})

test('allowance: writes at min(desired, allowed), fractions carried over', (t) => {
  const f = new FlowControl(10, 0.3)
  let n = 0
  for (let i = 0; i < 100; i++) n += f.allowance(0.1)
  t.ok(n === 3 || n === 2, `3 writes in 10 s at 0.3/s (got ${n})`)
  const g = new FlowControl(2, 50)
  let m = 0
  for (let i = 0; i < 40; i++) m += g.allowance(0.25)
  t.equal(m, 20, 'desired caps the rate: 20 writes in 10 s at 2/s')
  fc.assert(
    fc.property(fc.double({ min: 0, max: 20, noNaN: true }), fc.double({ min: 0.001, max: 2, noNaN: true }), fc.integer({ min: 1, max: 200 }), (r, dt, k) => {
      const h = new FlowControl(r, r)
      let sum = 0
      for (let i = 0; i < k; i++) sum += h.allowance(dt)
      return Math.abs(sum - r * dt * k) < 1 + 1e-6
    }),
  )
  t.end()
})

test('bad parameters are refused', (t) => {
  t.throws(() => new FlowControl(1, 1, { alpha: 0 }), /alpha/)
  t.throws(() => new FlowControl(1, 1, { alpha: 1.5 }), /alpha/)
  t.throws(() => new FlowControl(1, 1, { beta: -1 }), /beta/)
  t.throws(() => new FlowControl(1, 1, { phi1: 0 }), /phi1/)
  t.throws(() => new FlowControl(1, 1, { phi2: 1.5 }), /phi2/)
  t.throws(() => new FlowControl(-1, 1), /desired/)
  t.throws(() => new FlowControl(1, NaN), /allowed/)
  t.end()
})

test('sent refuses counts that are not non-negative integers (Infinity only as the MTU) and changes nothing', (t) => {
  for (const [c, m] of [[NaN, 100], [100, NaN], [-1, 100], [Infinity, Infinity], [1.5, 100], [3, -1], [3, 2.5], ['3', 100]] as [number, number][]) {
    const f = new FlowControl(10, 1)
    t.throws(() => f.sent(c, m), (e: unknown) => e instanceof RangeError && /candidates|mtu/.test((e as Error).message), `sent(${c}, ${m}) throws a RangeError`)
    t.deepEqual([f.allowed, f.over, f.under], [1, 0, 0], `sent(${c}, ${m}) changed nothing`)
  }
  const g = new FlowControl(10, 1)
  for (let i = 0; i < 3; i++) g.sent(1e6, Infinity)
  t.ok(close(g.allowed, 1.05), 'an MTU of Infinity: every message fits')
  t.end()
})

test('desired and allowed are validated setters: non-negative finite numbers', (t) => {
  const f = new FlowControl(10, 1)
  for (const v of [-5, NaN, Infinity, -Infinity, '2' as unknown as number]) {
    t.throws(() => (f.desired = v), /flow control: desired is out of range/, `desired = ${String(v)}`)
    t.throws(() => (f.allowed = v), /flow control: allowed is out of range/, `allowed = ${String(v)}`)
  }
  t.deepEqual(f.rates(), { desired: 10, allowed: 1 }, 'unchanged')
  f.desired = 0
  f.allowed = 2.5
  t.deepEqual([f.rate, f.allowance(10)], [0, 0], 'a valid rate is taken')
  t.throws(() => f.exchange({ desired: NaN, allowed: 1 }), /the peer's desired is out of range/, 'exchange refuses a peer\'s bad rates')
  t.equal(f.allowed, 2.5)
  t.end()
})
