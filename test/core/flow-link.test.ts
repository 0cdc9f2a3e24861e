/**
 * Flow control over sessions, pure parts: the trust rule (`trustedShare`),
 * a connection's throttles (`FlowLink`), a node's rates, AIMD clamps and
 * write gate (`NodeFlow`), and the validation of `config.flow`.
 */
import test from 'tape'
import fc from 'fast-check'
import { share } from '../../lib/core/flow.ts'
import { FlowLink, clampRate, trustedShare, type FlowHost } from '../../lib/core/flow-link.ts'
import { FlowError, NodeFlow, flowSettings, type FlowConfig, type QueuedWrite } from '../../lib/core/flow-node.ts'
import { MAX_RATE } from '../../lib/protocol/messages.ts'

const rate = fc.double({ min: 0, max: 1000, noNaN: true })
const anyNumber = fc.oneof(rate, fc.constantFrom(NaN, Infinity, -Infinity, -1, 1e300, -0, MAX_RATE * 2))
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))

test('clampRate: into [0, MAX_RATE], NaN to 0', (t) => {
  t.deepEqual([NaN, -1, -Infinity, 0, 2.5, Infinity, 1e300].map(clampRate), [0, 0, 0, 0, 2.5, MAX_RATE, MAX_RATE])
  t.end()
})

test('trustedShare is the paper\'s share while the transfer is within the bounds', (t) => {
  // Equal desires far above the pair's allowance: both get the mean (1.5 each); a transfer of 0.5.
  t.equal(trustedShare({ desired: 10, allowed: 1 }, { desired: 10, allowed: 2 }, 0.05), 1.5)
  t.equal(trustedShare({ desired: 10, allowed: 2 }, { desired: 10, allowed: 1 }, 0.05), 1.5)
  // Surplus: each its desire plus half of what is left (1 + 1, 2 + 1), a transfer of 0.
  t.equal(trustedShare({ desired: 1, allowed: 2 }, { desired: 2, allowed: 3 }, 0.05), share({ desired: 1, allowed: 2 }, { desired: 2, allowed: 3 }))
  t.end()
})

test('trustedShare: the giver keeps half, the receiver at most doubles plus beta', (t) => {
  // A newcomer at 0.1 meets a node at 4, both hungry: the paper would move 1.95; the rule moves 0.1 + 0.05.
  t.equal(trustedShare({ desired: 10, allowed: 0.1 }, { desired: 10, allowed: 4 }, 0.05), 0.25)
  t.equal(trustedShare({ desired: 10, allowed: 4 }, { desired: 10, allowed: 0.1 }, 0.05), 3.85)
  // An idle node (ρ = 0) gives, but keeps half of its allowance.
  t.equal(trustedShare({ desired: 0, allowed: 2 }, { desired: 100, allowed: 10 }, 0.05), 1)
  t.end()
})

test('trustedShare: a hostile claim takes at most beta, or gives at most our own allowance plus beta', (t) => {
  const me = { desired: 10, allowed: 2 }
  // Starving and greedy: the paper's max-min would give it half of the pair; it gets beta.
  t.equal(trustedShare(me, { desired: MAX_RATE, allowed: 0 }, 0.05), 1.95)
  // Claims all the capacity there is: we at most double (plus beta).
  t.equal(trustedShare(me, { desired: 0, allowed: MAX_RATE }, 0.05), 4.05)
  // Out-of-range numbers (never past validation, but the arithmetic holds anyway).
  t.equal(trustedShare(me, { desired: NaN, allowed: Infinity }, 0.05), 4.05)
  t.equal(trustedShare(me, { desired: -5, allowed: -5 }, 0.05), 2, 'a negative claim counts as 0: an idle peer with nothing, which takes nothing')
  t.end()
})

test('property: honest pairs conserve τ_p + τ_q; nobody loses half or more, nobody gains more than τ + beta', (t) => {
  fc.assert(
    fc.property(rate, rate, rate, rate, fc.double({ min: 0, max: 1, noNaN: true }), (dp, ap, dq, aq, beta) => {
      const p = { desired: dp, allowed: ap }
      const q = { desired: dq, allowed: aq }
      const np = trustedShare(p, q, beta)
      const nq = trustedShare(q, p, beta)
      return close(np + nq, ap + aq) && np >= ap / 2 - 1e-9 && np <= 2 * ap + beta + 1e-9 && nq >= aq / 2 - 1e-9 && nq <= 2 * aq + beta + 1e-9
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 random pairs')
  t.end()
})

test('property: whatever a peer claims, our τ stays finite, in [τ/2, 2τ + beta] and within [0, MAX_RATE]', (t) => {
  fc.assert(
    fc.property(rate, rate, anyNumber, anyNumber, (d, a, pd, pa) => {
      const n = trustedShare({ desired: d, allowed: a }, { desired: pd, allowed: pa }, 0.05)
      return Number.isFinite(n) && n >= 0 && n <= MAX_RATE && n >= a / 2 - 1e-9 && n <= 2 * a + 0.05 + 1e-9
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 random claims')
  t.end()
})

/** A host with rates in the open and a settable clock. */
function host(allowed = 2, desired = 10, interval = 1000): FlowHost & { time: number; allowed: number; desired: number; aimd: number[][] } {
  const h = {
    time: 0,
    allowed,
    desired,
    interval,
    beta: 0.05,
    aimd: [] as number[][],
    now: () => h.time,
    rates: () => ({ desired: h.desired, allowed: h.allowed }),
    shift: (delta: number) => {
      h.allowed = clampRate(h.allowed + delta)
    },
    sent: (wanted: number, mtu: number) => {
      h.aimd.push([wanted, mtu])
    },
    claimOffer: () => true,
    holdsOffer: () => true,
    releaseOffer: () => {},
    mayTake: () => true,
  }
  return h
}

test('FlowLink: an exchange redistributes on both sides from the same four numbers', (t) => {
  const hp = host(1)
  const hq = host(2)
  const p = new FlowLink(hp)
  const q = new FlowLink(hq)
  const req = p.request()
  t.deepEqual(req, { desired: 10, allowed: 1 }, 'the request carries (ρ, τ)')
  const rep = q.answer(req)
  t.deepEqual(rep, { desired: 10, allowed: 2 }, 'the reply carries the responder\'s rates from before it redistributed')
  t.equal(hq.allowed, 1.5, 'the responder took its share')
  hp.allowed -= 0.25 // AIMD on p between its request and the reply
  p.replied(rep)
  t.equal(hp.allowed, 1.25, 'the initiator applies its share as a difference to what it has now')
  p.replied(rep)
  t.equal(hp.allowed, 1.25, 'a second reply to one request changes nothing')
  p.sent(120, 100)
  t.deepEqual(hp.aimd, [[120, 100]], 'sent() reaches the node (AIMD)')
  t.end()
})

test('FlowLink: AIMD counts at most one response per half interval on a connection', (t) => {
  const h = host()
  const l = new FlowLink(h)
  for (let i = 0; i < 10; i++) l.sent(i, 5)
  h.time = 499
  l.sent(99, 5)
  h.time = 500
  l.sent(7, 5)
  t.deepEqual(h.aimd, [[0, 5], [7, 5]], 'a loop of responses counts once')
  t.end()
})

test('FlowLink: rates offered once per interval, taken once per half interval; a reply without rates, or unsolicited, changes nothing', (t) => {
  const hp = host(1)
  const hq = host(2)
  const p = new FlowLink(hp)
  const q = new FlowLink(hq)
  t.ok(p.request() !== undefined, 'first request: rates')
  hp.time = 999
  t.equal(p.request(), undefined, 'within the interval: none')
  hp.time = 1000
  t.ok(p.request() !== undefined, 'an interval later: rates again')

  const claim = { desired: 10, allowed: 0 }
  t.ok(q.answer(claim) !== undefined, 'first request taken')
  const after = hq.allowed
  for (let i = 0; i < 100; i++) t.equal(q.answer(claim), undefined, i === 0 ? 'a loop of requests within interval/2: not taken' : undefined)
  t.equal(hq.allowed, after, 'a peer looping requests moved nothing more')
  hq.time = 500
  t.ok(q.answer(claim) !== undefined, 'half an interval later: taken again')
  t.equal(q.answer(undefined), undefined, 'a request without rates: no redistribution, no rates in the reply')

  const hr = host(3)
  const r = new FlowLink(hr)
  r.replied({ desired: 0, allowed: 1000 })
  t.equal(hr.allowed, 3, 'a reply to no request of ours is ignored')
  r.request()
  r.replied(undefined)
  r.replied({ desired: 0, allowed: 1000 })
  t.equal(hr.allowed, 3, 'a reply without rates ends the request: a later one with rates is ignored')
  t.end()
})

test('FlowLink: a clock that goes back does not freeze the throttles', (t) => {
  const h = host()
  const l = new FlowLink(h)
  h.time = 10_000
  t.ok(l.request() !== undefined)
  h.time = 5_000
  t.ok(l.request() !== undefined, 'offered again after the clock went back')
  t.end()
})

function nodeFlow(cfg: Partial<FlowConfig> = {}, clock = { t: 0 }): { flow: NodeFlow; clock: { t: number }; applied: string[]; apply: (w: QueuedWrite) => void } {
  const flow = new NodeFlow(flowSettings({ desired: 10, initial: 2, ...cfg }), () => clock.t)
  const applied: string[] = []
  return { flow, clock, applied, apply: (w) => applied.push(w.key) }
}
const w = (key: string): QueuedWrite => ({ key, value: 1, deleted: false })

test('NodeFlow gate: writes at min(ρ, τ), queued in order beyond it, drained as time passes', (t) => {
  const { flow, clock, applied, apply } = nodeFlow()
  t.equal(flow.rate, 2, 'rate = min(10, 2)')
  t.equal(flow.write(w('a'), apply), true, 'the first write goes (burst 1)')
  t.equal(flow.write(w('b'), apply), false, 'the second is queued')
  t.equal(flow.write(w('c'), apply), false, 'and the third')
  t.equal(flow.queued, 2)
  t.equal(flow.wait(), 500, 'next write due in 1/τ s')
  clock.t = 499
  t.equal(flow.drain(apply), 0, 'not yet')
  clock.t = 1000
  t.equal(flow.drain(apply), 2, 'a second at 2/s: both queued writes, even though burst is 1')
  t.deepEqual(applied, ['a', 'b', 'c'], 'in order')
  clock.t = 10_000
  t.equal(flow.write(w('d'), apply), true, 'after a quiet spell: one write at once (burst 1)')
  t.equal(flow.write(w('e'), apply), false, 'then the gate again')
  t.end()
})

test('NodeFlow gate: burst, desired below allowed, rate 0', (t) => {
  const { flow, clock, apply } = nodeFlow({ burst: 3, desired: 1, initial: 5 })
  t.equal(flow.rate, 1, 'rate = min(ρ 1, τ 5)')
  t.deepEqual([1, 2, 3, 4].map((i) => flow.write(w(`k${i}`), apply)), [true, true, true, false], 'burst 3')
  flow.desired = 0
  t.equal(flow.wait(), Infinity, 'rate 0: never')
  clock.t = 1e9
  t.equal(flow.drain(apply), 0, 'nothing drains at rate 0')
  t.throws(() => (flow.desired = -1), /desired rate must be from 0/)
  t.throws(() => (flow.desired = NaN), /desired rate must be from 0/)
  t.end()
})

test('NodeFlow gate: refuse mode throws ERATE with retryAfter; a full queue throws EQUEUEFULL', (t) => {
  const r = nodeFlow({ overflow: 'refuse' })
  r.flow.write(w('a'), r.apply)
  try {
    r.flow.write(w('b'), r.apply)
    t.fail('refused')
  } catch (err) {
    t.ok(err instanceof FlowError, 'a FlowError')
    t.equal((err as FlowError).code, 'ERATE')
    t.equal((err as FlowError).retryAfter, 500)
    t.match((err as Error).message, /"b" refused: over the allowed rate, 2 updates\/s \(allowed 2, desired 10\); retry in 500 ms/)
  }
  t.equal(r.flow.queued, 0, 'nothing queued')

  const q = nodeFlow({ maxQueued: 2 })
  q.flow.write(w('a'), q.apply)
  q.flow.write(w('b'), q.apply)
  q.flow.write(w('c'), q.apply)
  t.throws(() => q.flow.write(w('d'), q.apply), (err: unknown) => err instanceof FlowError && err.code === 'EQUEUEFULL' && /2 writes already wait .*maxQueued/.test(err.message))
  t.equal(q.flow.queued, 2, 'the queue stays at its bound')
  t.end()
})

test('NodeFlow gate: a queued write whose apply throws is reported and dropped; the rest go on', (t) => {
  const { flow, clock, apply, applied } = nodeFlow()
  flow.write(w('a'), apply)
  flow.write(w('bad'), apply)
  flow.write(w('c'), apply)
  clock.t = 1000
  const failed: string[] = []
  const n = flow.drain(
    (x) => {
      if (x.key === 'bad') throw new Error('journal full')
      apply(x)
    },
    (err, x) => failed.push(`${x.key}: ${(err as Error).message}`),
  )
  t.equal(n, 2)
  t.deepEqual(applied, ['a', 'c'])
  t.deepEqual(failed, ['bad: journal full'])
  t.end()
})

test('NodeFlow: one connection at a time offers the node\'s rates, until its reply, its close, or an interval', (t) => {
  const { flow, clock } = nodeFlow()
  const [a, b] = [flow.link(), flow.link()]
  t.ok(a.request() !== undefined, 'a offers')
  t.equal(b.request(), undefined, 'b may not while a\'s offer is open')
  a.replied(undefined)
  t.ok(b.request() !== undefined, 'a\'s reply came: b offers')
  t.equal(a.request(), undefined, 'and now a waits')
  b.close()
  clock.t = 1000
  t.ok(a.request() !== undefined, 'b closed: a offers again')
  clock.t = 1999
  t.equal(b.request(), undefined, 'within the interval of a\'s open offer')
  clock.t = 2000
  t.ok(b.request() !== undefined, 'an offer left open for an interval lapses')
  const before = flow.allowed
  a.replied({ desired: 10, allowed: 100 })
  t.equal(flow.allowed, before, 'and its late reply is ignored')
  t.end()
})

test('NodeFlow: while an offer of ours is open, a peer\'s rates are not taken (one redistribution at a time)', (t) => {
  const { flow, clock } = nodeFlow()
  const [mine, theirs] = [flow.link(), flow.link()]
  mine.request()
  t.equal(theirs.answer({ desired: 10, allowed: 0 }), undefined, 'declined: the reply goes without rates')
  t.equal(flow.allowed, 2, 'τ untouched')
  mine.replied(undefined)
  t.deepEqual(theirs.answer({ desired: 10, allowed: 0 }), { desired: 10, allowed: 2 }, 'taken once the offer closed')
  clock.t = 5000
  mine.request()
  clock.t = 6000
  t.ok(theirs.answer({ desired: 10, allowed: 0 }) !== undefined, 'or once it lapsed')
  t.end()
})

test('NodeFlow: AIMD through sent(), τ kept in [0, MAX_RATE], onChange on changes only', (t) => {
  const { flow } = nodeFlow({ initial: MAX_RATE - 0.01 })
  let changes = 0
  flow.onChange = () => changes++
  for (let i = 0; i < 3; i++) flow.sent(0, 100)
  t.equal(flow.allowed, MAX_RATE, 'an increase stops at MAX_RATE')
  t.equal(changes, 1)
  for (let i = 0; i < 3; i++) flow.sent(0, 100)
  t.equal(changes, 1, 'no change at the ceiling: no call')
  for (let i = 0; i < 3; i++) flow.sent(101, 100)
  t.equal(flow.allowed, MAX_RATE * 0.75, 'three overflows: times alpha')
  flow.shift(-Infinity)
  t.equal(flow.allowed, 0, 'shifted below 0: 0')
  flow.shift(NaN)
  t.equal(flow.allowed, 0, 'NaN: no change')
  t.equal(changes, 3)
  flow.desired = 10
  t.equal(changes, 3, 'same desire: no call')
  t.end()
})

test('config.flow is validated with the option named', (t) => {
  const bad: [unknown, RegExp][] = [
    [null, /config.flow must be an object/],
    [{}, /config.flow.desired must be a rate/],
    [{ desired: -1 }, /desired/],
    [{ desired: Infinity }, /desired/],
    [{ desired: 2 * MAX_RATE }, /desired/],
    [{ desired: 1, initial: NaN }, /initial/],
    [{ desired: 1, interval: -5 }, /interval/],
    [{ desired: 1, interval: 0 }, /config.flow.interval must be a positive number of ms, got 0/],
    [{ desired: 1, burst: 0.5 }, /burst/],
    [{ desired: 1, maxQueued: 1.5 }, /maxQueued/],
    [{ desired: 1, overflow: 'drop' }, /overflow must be 'queue' or 'refuse'/],
    [{ desired: 1, timer: 'yes' }, /timer must be a boolean/],
    [{ desired: 1, alpha: 0 }, /alpha/],
    [{ desired: 1, phi1: 0 }, /phi1/],
  ]
  for (const [cfg, re] of bad) t.throws(() => flowSettings(cfg as FlowConfig), re, JSON.stringify(cfg))
  const s = flowSettings({ desired: 10 })
  t.deepEqual(
    { ...s },
    { desired: 10, initial: 10, interval: 1000, burst: 1, overflow: 'queue', maxQueued: 1000, timer: true, alpha: 0.75, beta: 0.05, phi1: 3, phi2: 3 },
    'defaults: the paper\'s AIMD, τ from ρ, an interval of a second, strict pacing, a queue of 1000',
  )
  t.ok(Object.isFrozen(s), 'frozen')
  t.end()
})

test('NodeFlow gate: a long queue drains in order across partial drains, each write once, a throwing apply dropping only its own write', (t) => {
  const { flow, clock, applied, apply } = nodeFlow({ desired: 1000, initial: 1000, maxQueued: 10_000 })
  flow.write(w('k0'), apply)
  let queuedAll = true
  for (let i = 1; i < 6000; i++) queuedAll = !flow.write(w(`k${i}`), apply) && queuedAll
  t.ok(queuedAll, 'each write beyond the first queued')
  t.equal(flow.queued, 5999, 'all but the first queued')
  let drained = 0
  const failed: string[] = []
  // 1,000 writes a second: 1.7 s, then 1.3 s more (crossing the point where taken slots are dropped), then the rest.
  for (const [ms, bad] of [[1700, 'k1500'], [3000, 'k2500'], [7000, '']] as const) {
    clock.t = ms
    drained += flow.drain((x) => {
      if (x.key === bad) throw new Error('user function threw')
      apply(x)
    }, (_err, x) => failed.push(x.key))
  }
  t.equal(drained, 5999, 'every queued write taken once')
  t.equal(flow.queued, 0, 'nothing left')
  t.deepEqual(failed, ['k1500', 'k2500'], 'the writes whose apply threw were dropped, reported')
  const want = Array.from({ length: 6000 }, (_, i) => `k${i}`).filter((k) => k !== 'k1500' && k !== 'k2500')
  t.deepEqual(applied, want, 'the others applied in order')
  t.equal(flow.write(w('next'), apply), true, 'an empty queue lets the next write through')
  t.end()
})

test('NodeFlow: a reply that comes after the offer lapsed still redistributes when nothing happened since, so an honest pair keeps its sum', (t) => {
  const clock = { t: 0 }
  const p = nodeFlow({ initial: 1 }, clock)
  const q = nodeFlow({ initial: 5 }, clock)
  const [lp, lq] = [p.flow.link(), q.flow.link()]
  const req = lp.request()
  clock.t = 3000 // the reply is 3 s late (a long answer on a slow link): p's offer lapsed, nothing else happened
  const rep = lq.answer(req)
  t.ok(rep !== undefined, 'q took p\'s rates')
  lp.replied(rep)
  t.equal(p.flow.allowed + q.flow.allowed, 6, 'τ_p + τ_q kept (before: p stayed at 1, the sum fell to 4)')
  t.equal(p.flow.allowed, 2.05, 'p redistributed from the same four numbers (the paper gives 3; the trust rule: at most 2τ + β)')

  // Something happened between the lapse and the reply: a take on another link. The late reply is not taken.
  const other = p.flow.link()
  const req2 = lp.request()
  clock.t = 6000
  t.ok(other.answer({ desired: 10, allowed: 3 }) !== undefined, 'p took another peer\'s rates after its offer lapsed')
  const before = p.flow.allowed
  lp.replied(lq.answer(req2))
  t.equal(p.flow.allowed, before, 'so the late reply is ignored: no allowance redistributed twice')
  t.end()
})
