/**
 * Flow control over real sessions and the Gossip stream (config.flow):
 * rates on the digests both ways, pairwise redistribution, AIMD on the
 * responses sent, the allowed rate told to the application, writes beyond
 * it queued or refused, nodes without flow control in the same cluster,
 * and peers that send hostile rates. Time is injected (`now`); nothing
 * here waits on a wall clock but the one test of the timer.
 */
import test from 'tape'
import { spawnSync } from 'node:child_process'
import { Transform } from 'readable-stream'
import { Gossip, FlowError, type FlowConfig, type GossipConfig } from '../../lib/index.ts'
import { trustedShare } from '../../lib/core/flow-link.ts'
import { seededRandom } from '../../lib/core/random.ts'
import { config, connect, quiet, sameState, until, waitFor } from '../support/streams.ts'

/** A node on the shared clock `clock.t` (ms), with flow control `flow` (none when undefined). */
function flowNode(id: string, clock: { t: number }, flow: FlowConfig | undefined, extra: Partial<GossipConfig> = {}): Gossip {
  return new Gossip(id, config({ now: () => clock.t, ...(flow === undefined ? {} : { flow: { timer: false, ...flow } }), ...extra }))
}

/** The end-of-digest markers a node writes, as they go out. */
function markers(g: Gossip): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  g.on('data', (m: Record<string, unknown>) => {
    if (m.digest === true && m.done === true) out.push(m)
  })
  return out
}

const sum = (gs: Gossip[]) => gs.reduce((s, g) => s + g.allowedRate, 0)

test('an exchange carries (ρ, τ) both ways on the digests and redistributes them pairwise', async (t) => {
  const clock = { t: 1_000_000 }
  const a = flowNode('a', clock, { desired: 10, initial: 1 })
  const b = flowNode('b', clock, { desired: 10, initial: 2 })
  const [ma, mb] = [markers(a), markers(b)]
  const rates: string[] = []
  a.on('rate', (allowed, desired) => rates.push(`a ${allowed} ${desired}`))
  b.on('rate', (allowed, desired) => rates.push(`b ${allowed} ${desired}`))
  connect(a, b)
  a.gossip()
  await quiet(20)
  t.deepEqual(ma[0], { digest: true, done: true, rho: 10, tau: 1 }, 'leg 1: the initiator\'s rates')
  t.deepEqual(mb[0], { digest: true, done: true, reply: true, rho: 10, tau: 2 }, 'leg 2: the responder\'s rates from before it redistributed')
  t.equal(ma[1].rho, undefined, 'leg 3 carries none')
  t.equal(a.allowedRate, 1.5, 'the initiator: half of the pair (both want more than 3)')
  t.equal(b.allowedRate, 1.5, 'the responder: the same')
  t.deepEqual(rates.sort(), ['a 1.5 10', 'b 1.5 10'], "'rate' told each application once, with (allowed, desired)")
  t.equal(a.desiredRate, 10)
  a.desiredRate = 4
  await quiet()
  t.equal(rates[rates.length - 1], 'a 1.5 4', "a new desire is told by 'rate' too")
  t.end()
})

test('AIMD runs on each response sent: φ1 overflows multiply τ by α, φ2 fits add β (against a peer without flow control)', async (t) => {
  const clock = { t: 1_000_000 }
  const a = flowNode('a', clock, undefined, { mtu: 5 })
  const b = flowNode('b', clock, { desired: 1000, initial: 100, burst: 1000 }, { mtu: 5 })
  // A new connection each round, so b's writes wait for the exchange (no pushes) and its answer wants them all.
  const round = async (writes: number) => {
    for (let i = 0; i < writes; i++) b.set(`k${clock.t}-${i}`, i)
    clock.t += 1000
    const [sa, sb] = [a.createStream(), b.createStream()]
    connect(sa, sb)
    sa.gossip()
    await until(() => sameState([a, b]))
    await quiet(10)
    sa.destroy()
    sb.destroy()
  }
  await round(10)
  await round(10)
  t.equal(b.allowedRate, 100, 'two answers of 10 wanted past an MTU of 5: no event yet')
  await round(10)
  t.equal(b.allowedRate, 75, 'the third: τ × 0.75')
  await round(0)
  await round(0)
  t.equal(b.allowedRate, 75, 'two that fit: no event')
  await round(0)
  t.ok(Math.abs(b.allowedRate - 75.05) < 1e-9, `the third that fits: + 0.05 (${b.allowedRate})`)
  t.equal(a.allowedRate, Infinity, 'a node without flow control has no limit')
  t.end()
})

test('writes beyond the allowed rate are queued in order and applied as the rate allows; the queue is bounded', async (t) => {
  const clock = { t: 1_000_000 }
  const g = flowNode('a', clock, { desired: 2, initial: 2, maxQueued: 3 })
  const order: string[] = []
  g.history.on('update', (u) => order.push(`${u.key}=${u.value}`))
  let drained = 0
  g.on('drain', () => drained++)
  t.equal(g.set('x', 1), true, 'the first write goes at once')
  t.equal(g.set('x', 2), false, 'the next is queued: false, wait for drain')
  t.equal(g.set('y', 3), false)
  t.equal(g.del('x'), false, 'a delete queues like a write')
  t.equal(g.queued, 3)
  t.equal(g.get('x').value, 1, 'a queued write is not applied yet')
  try {
    g.set('z', 4)
    t.fail('a fourth queued write is refused')
  } catch (err) {
    t.ok(err instanceof FlowError && err.code === 'EQUEUEFULL', 'a full queue: FlowError EQUEUEFULL')
    t.match((err as Error).message, /3 writes already wait for the allowed rate, 2 updates\/s .*config\.flow\.maxQueued/, 'naming the rate and the option')
  }
  clock.t += 499
  t.equal(g.applyQueued(), 0, 'nothing due before 1/τ')
  clock.t += 1
  t.equal(g.applyQueued(), 1, 'one at 1/τ')
  clock.t += 1000
  t.equal(g.set('w', 5), false, 'a write while others wait goes behind them')
  t.equal(g.queued, 1, 'the two due went first')
  t.equal(drained, 0, 'no drain while writes wait')
  clock.t += 500
  g.gossip()
  t.equal(g.queued, 0, 'gossip() applies what is due')
  t.deepEqual(order, ['x=1', 'x=2', 'y=3', 'x=null', 'w=5'], 'applied in the order written')
  t.equal(drained, 1, "'drain' once the queue is empty")
  t.end()
})

test("overflow 'refuse': a write beyond the allowed rate throws a FlowError and changes nothing", (t) => {
  const clock = { t: 0 }
  const g = flowNode('a', clock, { desired: 10, initial: 4, overflow: 'refuse' })
  g.set('k', 1)
  t.throws(() => g.set('k', 2), (err: unknown) => err instanceof FlowError && err.code === 'ERATE' && err.retryAfter === 250 && /retry in 250 ms/.test(err.message))
  t.equal(g.get('k').value, 1, 'state unchanged')
  t.equal(g.queued, 0, 'nothing queued')
  clock.t = 250
  t.equal(g.set('k', 3), true, 'due again after 1/τ')
  t.end()
})

test('the timer applies queued writes when they are due (wall clock)', async (t) => {
  const g = new Gossip('a', config({ now: Date.now, flow: { desired: 200, initial: 200 } }))
  for (let i = 0; i < 5; i++) g.set(`k${i}`, i)
  t.ok(g.queued > 0, 'some writes queued')
  await waitFor(() => g.queued === 0, 20_000, 'the queue emptied by its timer')
  t.deepEqual(g.keys().sort(), ['k0', 'k1', 'k2', 'k3', 'k4'], 'every write applied')
  g.destroy()
  t.end()
})

test('several nodes: each exchange conserves the total allowance, which evens out; then AIMD finds the rate the MTU carries', async (t) => {
  const clock = { t: 1_000_000 }
  const random = seededRandom(17)
  const n = 6
  const initial = [0.2, 0.5, 1, 2, 4, 8]
  // AIMD neutral (α = 1, β = 0) first: only redistribution moves τ.
  const nodes = initial.map((x, i) => flowNode(`n${i}`, clock, { desired: 100, initial: x, alpha: 1, beta: 0 }, { random, mtu: 20 }))
  const streams = nodes.map(() => new Map<number, ReturnType<Gossip['createStream']>>())
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const [si, sj] = [nodes[i].createStream(), nodes[j].createStream()]
      connect(si, sj)
      streams[i].set(j, si)
      streams[j].set(i, sj)
    }
  }
  const total = sum(nodes)
  // The paper's schedule: each node, in turn, one exchange with a random other one.
  const round = async () => {
    for (let i = 0; i < n; i++) {
      let j = Math.floor(random() * (n - 1))
      if (j >= i) j++
      streams[i].get(j)!.gossip()
      await quiet(10)
    }
    clock.t += 1000
  }
  for (let r = 0; r < 30; r++) await round()
  t.ok(Math.abs(sum(nodes) - total) < 1e-9, `the total allowance is conserved: ${sum(nodes).toFixed(6)} = ${total}`)
  const taus = nodes.map((g) => g.allowedRate)
  t.ok(Math.max(...taus) - Math.min(...taus) < 0.1 * (total / n), `evened out: ${taus.map((x) => x.toFixed(3)).join(' ')}`)
  t.end()
})

/**
 * A link with a bandwidth: it carries at most what `tick(n)` lets through
 * (n objects, in order, through JSON) and holds at most `cap` before it
 * pushes back, so the sender's output fills and its pushes stop, as over a
 * slow network.
 */
class SlowWire extends Transform {
  private readonly held: unknown[] = []
  private waiting: (() => void) | null = null
  constructor(private readonly cap = 8) {
    super({ objectMode: true, highWaterMark: 1 })
  }
  override _transform(obj: unknown, _enc: BufferEncoding, cb: () => void): void {
    this.held.push(JSON.parse(JSON.stringify(obj)))
    if (this.held.length < this.cap) cb()
    else this.waiting = cb
  }
  tick(n: number): void {
    for (const o of this.held.splice(0, n)) this.push(o)
    if (this.waiting !== null && this.held.length < this.cap) {
      const w = this.waiting
      this.waiting = null
      w()
    }
  }
}

/**
 * Four nodes in a full mesh of slow links (20 objects a second each way),
 * each wanting to write 40 updates a second: more than the links carry.
 * Returns the allowed rates at the end and the backlog (writes some node
 * lacks) at t = 30 s and t = 60 s.
 */
async function overloaded(flow: boolean): Promise<{ taus: number[]; lag30: number; lag60: number; writes: number; converged: boolean }> {
  const clock = { t: 1_000_000 }
  const random = seededRandom(9)
  const n = 4
  const nodes = Array.from({ length: n }, (_, i) =>
    flowNode(`n${i}`, clock, flow ? { desired: 40, initial: 40, overflow: 'refuse' } : undefined, { random, mtu: 10 }),
  )
  const wires: SlowWire[] = []
  const streams = nodes.map(() => new Map<number, ReturnType<Gossip['createStream']>>())
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const [si, sj] = [nodes[i].createStream(), nodes[j].createStream()]
      const [wij, wji] = [new SlowWire(), new SlowWire()]
      si.pipe(wij).pipe(sj)
      sj.pipe(wji).pipe(si)
      wires.push(wij, wji)
      streams[i].set(j, si)
      streams[j].set(i, sj)
    }
  }
  let writes = 0
  const lag = () => nodes.reduce((s, g) => s + (writes - g.size), 0)
  let lag30 = 0
  for (let second = 0; second < 60; second++) {
    for (let i = 0; i < n; i++) {
      let j = Math.floor(random() * (n - 1))
      if (j >= i) j++
      streams[i].get(j)!.gossip()
    }
    // Ten steps of 100 ms: each node tries 4 writes (40/s), each link carries 2 objects (20/s).
    for (let step = 0; step < 10; step++) {
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < 4; k++) {
          try {
            nodes[i].set(`n${i}-${writes}`, writes)
            writes++
          } catch (err) {
            if (!(err instanceof FlowError)) throw err
          }
        }
      }
      for (const w of wires) w.tick(2)
      await quiet(3)
      clock.t += 100
    }
    if (second === 29) lag30 = lag()
  }
  const lag60 = lag()
  const taus = nodes.map((g) => g.allowedRate)
  // Then no more writes, and links without a limit: everything arrives.
  for (let r = 0; r < 50 && !sameState(nodes); r++) {
    for (const w of wires) w.tick(1e6)
    for (let i = 0; i < n; i++) for (const s of streams[i].values()) s.gossip()
    for (let k = 0; k < 20; k++) {
      for (const w of wires) w.tick(1e6)
      await quiet(2)
    }
    clock.t += 1000
  }
  return { taus, lag30, lag60, writes, converged: sameState(nodes) }
}

test('over links that cannot carry every write: with flow control τ comes down and the backlog stays bounded; without it the backlog grows', async (t) => {
  const on = await overloaded(true)
  const off = await overloaded(false)
  t.comment(`flow control: τ ${on.taus.map((x) => x.toFixed(2)).join(' ')}, ${on.writes} writes, backlog ${on.lag30} at 30 s, ${on.lag60} at 60 s`)
  t.comment(`without: ${off.writes} writes, backlog ${off.lag30} at 30 s, ${off.lag60} at 60 s`)
  t.ok(on.taus.every((x) => x < 20), 'every allowed rate fell from 40 to below what one link carries')
  t.ok(on.taus.every((x) => x > 1), 'and not to nothing')
  t.ok(on.lag60 < 1.5 * on.lag30 + 50, 'with flow control the backlog does not keep growing')
  t.ok(off.lag60 > 1.8 * off.lag30, 'without it, it keeps growing')
  t.ok(on.lag60 * 3 < off.lag60, 'at 60 s, the backlog with flow control is a third of the other or less')
  t.ok(on.converged && off.converged, 'both converge once the writes stop')
  t.end()
})

test('interop: a node with flow control and one without converge; the one without sends no rates and ignores them', async (t) => {
  const clock = { t: 1_000_000 }
  const on = flowNode('on', clock, { desired: 10, initial: 3 })
  const off = flowNode('off', clock, undefined)
  const [mOn, mOff] = [markers(on), markers(off)]
  const invalid: string[] = []
  for (const g of [on, off]) g.on('invalid', (reason) => invalid.push(reason))
  connect(on, off)
  on.set('a', 1)
  off.set('b', 2)
  on.gossip()
  await quiet(20)
  clock.t += 1000
  off.gossip()
  await quiet(20)
  t.ok(sameState([on, off]) && on.get('b').value === 2 && off.get('a').value === 1, 'converged both ways')
  t.ok(mOn.some((m) => m.rho === 10 && m.tau === 3), 'the flow-control node offered its rates')
  t.ok(mOff.every((m) => m.rho === undefined && m.tau === undefined), 'the other sent none, not even in its reply')
  t.equal(on.allowedRate, 3, 'no redistribution without the peer\'s rates')
  t.deepEqual(invalid, [], 'nothing refused either way')
  t.equal(off.allowedRate, Infinity)
  t.throws(() => (off.desiredRate = 5), /flow control is off/, 'a desired rate needs config.flow')
  t.end()
})

test('rates cross byte streams (ndjson lines and wire 2 frames) and lossy links the same way', async (t) => {
  for (const [wire, lossy] of [[1, false], [1, true], [2, false]] as const) {
    const clock = { t: 1_000_000 }
    const a = flowNode('a', clock, { desired: 10, initial: 1 }, { lossy })
    const b = flowNode('b', clock, { desired: 10, initial: 3 }, { lossy })
    const [wa, wb] = [a.createWireStream({ wire }), b.createWireStream({ wire })]
    wa.pipe(wb).pipe(wa)
    a.set('x', 1)
    b.set('y', 2)
    wa.gossip()
    await until(() => a.allowedRate === 2 && b.allowedRate === 2 && sameState([a, b]), 10_000, 'rates redistributed and state converged')
    t.pass(`wire ${wire}, ${lossy ? 'lossy' : 'reliable'}: both at the mean (2), state converged`)
    wa.destroy()
    wb.destroy()
  }
  t.end()
})

/** Feed `g` objects as a peer would, and collect what it answers. */
function asPeer(g: Gossip): { send: (o: unknown) => void; out: Record<string, unknown>[]; invalid: string[] } {
  const out: Record<string, unknown>[] = []
  const invalid: string[] = []
  g.on('data', (m: Record<string, unknown>) => out.push(m))
  g.on('invalid', (reason) => invalid.push(reason))
  return { send: (o) => g.write(o), out, invalid }
}

test('hostile rates: NaN, infinite, negative, huge, wrong types or half a pair are refused, and τ does not move', async (t) => {
  const clock = { t: 1_000_000 }
  const g = flowNode('a', clock, { desired: 10, initial: 2 })
  const peer = asPeer(g)
  const bad: Record<string, unknown>[] = [
    { rho: NaN, tau: 1 },
    { rho: 1, tau: Infinity },
    { rho: -1, tau: 1 },
    { rho: 1, tau: -0.5 },
    { rho: 1, tau: 1e7 },
    { rho: '1', tau: 1 },
    { rho: null, tau: 1 },
    { rho: 1 },
    { tau: 1 },
    { rho: 1, tau: JSON.parse('1e400') },
  ]
  for (const extra of bad) {
    peer.send({ digest: true, done: true, ...extra })
    clock.t += 10_000
  }
  await quiet(10)
  t.equal(peer.invalid.length, bad.length, `${bad.length} refused`)
  t.ok(peer.invalid.every((r) => r === 'rho and tau must both be numbers from 0 to 1000000'), `with the reason: ${peer.invalid[0]}`)
  t.equal(g.allowedRate, 2, 'τ unchanged')
  t.equal(peer.out.filter((m) => m.done === true).length, 0, 'and no refused request was answered')
  t.end()
})

test('hostile rates in range: a peer takes at most β per exchange, gives at most τ + β, and cannot loop or reply unasked', async (t) => {
  const clock = { t: 1_000_000 }
  const g = flowNode('a', clock, { desired: 10, initial: 2 })
  const peer = asPeer(g)
  const replies = () => peer.out.filter((m) => m.done === true && m.reply === true)
  // Starving and greedy: max-min would hand it half the pair (1); the rule lets it take β.
  peer.send({ digest: true, done: true, rho: 1e6, tau: 0 })
  await quiet()
  t.ok(Math.abs(g.allowedRate - 1.95) < 1e-12, `τ 2 -> ${g.allowedRate}`)
  t.deepEqual([replies()[0].rho, replies()[0].tau], [10, 2], 'answered with the rates from before')
  // The same request in a loop, no time passing: answered, never redistributed again.
  for (let i = 0; i < 50; i++) peer.send({ digest: true, done: true, rho: 1e6, tau: 0 })
  await quiet()
  t.ok(Math.abs(g.allowedRate - 1.95) < 1e-12, 'fifty more requests within interval/2 took nothing')
  t.ok(replies().slice(1).every((m) => m.rho === undefined), 'and their replies carry no rates')
  // Every half interval, for a minute: each take is at most β, AIMD aside.
  for (let i = 0; i < 120; i++) {
    clock.t += 500
    peer.send({ digest: true, done: true, rho: 1e6, tau: 0 })
  }
  await quiet()
  t.ok(g.allowedRate >= 1.95 - 120 * 0.05 - 1e-9 && g.allowedRate > 0, `after 120 takes: ${g.allowedRate.toFixed(3)} (each at most β)`)
  // Claims of plenty: at most our τ + β more.
  const before = g.allowedRate
  clock.t += 500
  peer.send({ digest: true, done: true, rho: 0, tau: 1e6 })
  await quiet()
  t.ok(Math.abs(g.allowedRate - (2 * before + 0.05)) < 1e-9, `a claim of 1e6 gave ${before.toFixed(3)} + 0.05, not 500,000`)
  // A reply to no request of ours.
  const now = g.allowedRate
  peer.send({ digest: true, done: true, reply: true, rho: 0, tau: 1e6 })
  await quiet()
  t.equal(g.allowedRate, now, 'an unsolicited reply moved nothing')
  t.deepEqual(peer.invalid, [], 'all of these were valid messages')
  t.ok(Number.isFinite(g.allowedRate) && g.allowedRate >= 0, 'τ finite and non-negative throughout')
  t.end()
})

test('a peer that claims to starve at every exchange it may: each take at most β, once per interval/2, and τ held near 0 (the documented limit of the trust rule)', async (t) => {
  const clock = { t: 1_000_000 }
  const g = flowNode('victim', clock, { desired: 10, initial: 2 }, { mtu: 100 })
  const peer = asPeer(g)
  let worst = 0
  let takes = 0
  for (let step = 0; step <= 120; step++) {
    const before = g.allowedRate
    peer.send({ digest: true, done: true, rho: 1e6, tau: 0 })
    peer.send({ digest: true, done: true, rho: 1e6, tau: 0 }) // a second within the half interval: not taken
    await quiet()
    peer.send({ digest: true, done: true, reply: true, final: true })
    await quiet()
    const drop = before - g.allowedRate
    if (drop > 0) takes++
    worst = Math.max(worst, drop)
    clock.t += 500
  }
  t.ok(worst <= 0.05 + 1e-12, `each step lowered τ by at most β (worst ${worst})`)
  t.ok(takes <= 121, `at most one take per half interval (${takes} in 121 steps)`)
  t.ok(g.allowedRate > 0 && g.allowedRate < 0.05, `after a minute τ is held near 0 (${g.allowedRate.toFixed(4)}): flow control assumes peers that do not lie about their rates`)
  t.deepEqual(peer.invalid, [])
  g.destroy()
  t.end()
})

test('the trust rule is what both honest sides compute: one exchange gives each trustedShare of the same numbers', async (t) => {
  const clock = { t: 1_000_000 }
  const a = flowNode('a', clock, { desired: 10, initial: 0.2 })
  const b = flowNode('b', clock, { desired: 3, initial: 6 })
  connect(a, b)
  a.gossip()
  await quiet(20)
  const [pa, pb] = [{ desired: 10, allowed: 0.2 }, { desired: 3, allowed: 6 }]
  t.equal(a.allowedRate, trustedShare(pa, pb, 0.05), `a: ${a.allowedRate}`)
  t.equal(b.allowedRate, trustedShare(pb, pa, 0.05), `b: ${b.allowedRate}`)
  t.ok(Math.abs(a.allowedRate + b.allowedRate - 6.2) < 1e-12, 'the pair\'s sum kept')
  t.end()
})

test('a queued write keeps the value as it was when set: the caller changing its object afterwards changes nothing', (t) => {
  const clock = { t: 1_000_000 }
  const g = flowNode('a', clock, { desired: 1, initial: 1 })
  t.equal(g.set('first', 0), true)
  const mine = { n: 1, list: [1, 2] }
  t.equal(g.set('k', mine), false, 'queued')
  mine.n = 99
  mine.list.push(3)
  clock.t += 1000
  t.equal(g.applyQueued(), 1, 'applied when the rate allows')
  t.deepEqual(g.get('k').value, { n: 1, list: [1, 2] }, 'the value written is the one set, not the caller\'s object as changed since')
  t.ok(Object.isFrozen(g.get('k').value), 'and it is frozen in state')
  t.end()
})

test('writes queued by flow control keep the process alive until they are applied, with nothing else running', (t) => {
  const script = [
    "import { Gossip, base } from 'simple-scuttle'",
    "const g = new Gossip('s', { ...base.config, resolve: base.resolution.lww_vs_current_vers, flow: { desired: 20 } })",
    "for (let i = 0; i < 4; i++) g.set('r', i)",
    "console.log('queued', g.queued)",
    "process.on('exit', () => console.log('exit', g.queued, g.get('r').value))",
  ].join('\n')
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 })
  const lines = r.stdout.trim().split('\n')
  t.ok(Number(lines[0].split(' ')[1]) > 0, `writes were queued (${lines[0]})`)
  t.equal(lines[lines.length - 1], 'exit 0 3', 'at exit none is left queued and the last write is applied')
  t.end()
})

test('a tiny allowed rate: the timer waits in steps of the longest delay a timer takes, never firing at once in a loop', (t) => {
  const delays: number[] = []
  const realSet = globalThis.setTimeout
  const realClear = globalThis.clearTimeout
  // Timers recorded, not run: what matters is the delay asked for.
  globalThis.setTimeout = ((_fn: () => void, ms: number) => {
    delays.push(ms)
    return { ref() {}, unref() {}, hasRef: () => true, refresh() {} }
  }) as unknown as typeof setTimeout
  globalThis.clearTimeout = (() => {}) as typeof clearTimeout
  try {
    const g = new Gossip('a', config({ now: () => 1_000_000, flow: { desired: 1e-7, initial: 1e-7 } }))
    g.set('k0', 0) // the burst's token
    g.set('k1', 1) // due in 1e7 s
    t.equal(g.queued, 1, 'the second write waits')
    t.ok(delays.length > 0, 'a timer was asked for')
    t.ok(delays.every((ms) => ms >= 1 && ms <= 2 ** 31 - 1), `every delay fits a timer (${delays.join(', ')})`)
    t.equal(Math.max(...delays), 2 ** 31 - 1, 'the wait is slept in the longest step')
    g.destroy()
  } finally {
    globalThis.setTimeout = realSet
    globalThis.clearTimeout = realClear
  }
  t.end()
})
