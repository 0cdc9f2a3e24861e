/**
 * Dialling members without reflecting floods (lib/membership/dial-backoff.ts,
 * the view's budget and bars, lib/transport/member-address.ts): the backoff
 * arithmetic, the bound it gives, the gate's memory and rate, one member per
 * address, and the address keys.
 */
import test from 'tape'
import { seededRandom } from '../../lib/core/random.ts'
import { barred, delayCeiling, DialGate, dialDelay, dialLimits, DIAL_LIMITS, maxAttemptsWithin, maxDialsWithin, type Addressed } from '../../lib/membership/dial-backoff.ts'
import { planView, type Candidate, type ViewInput } from '../../lib/membership/view.ts'
import { addressKey, atonV4 } from '../../lib/transport/member-address.ts'

const L = DIAL_LIMITS
const low = () => 0
const high = () => 0.999999

test('delays double from initial to max; jitter takes off at most half', (t) => {
  t.deepEqual([1, 2, 3, 4, 5].map((n) => delayCeiling(n, L)), [1000, 2000, 4000, 8000, 16_000], 'ceilings: 1, 2, 4, 8, 16 s')
  t.equal(delayCeiling(9, L), 256_000, 'ninth failure: 256 s')
  t.equal(delayCeiling(10, L), 300_000, 'tenth: capped at 5 min')
  t.equal(delayCeiling(10_000, L), 300_000, 'and stays there (no overflow)')
  t.equal(dialDelay(1, low, L), 500, 'random 0: half the ceiling')
  t.equal(dialDelay(1, high, L), 1000, 'random ~1: the ceiling')
  const r = seededRandom(3)
  const ds = Array.from({ length: 1000 }, () => dialDelay(4, r, L))
  t.ok(ds.every((d) => d >= 4000 && d <= 8000), `fourth failure: 1000 draws within [4 s, 8 s] (min ${Math.min(...ds)}, max ${Math.max(...ds)})`)
  t.end()
})

test('maxAttemptsWithin: the most dials of one address in a span is what the shortest delays allow', (t) => {
  t.equal(maxAttemptsWithin(0, L), 1, 'no time: the first dial only')
  t.equal(maxAttemptsWithin(499, L), 1, 'under the shortest first delay: one')
  t.equal(maxAttemptsWithin(500, L), 2, 'at it: two')
  // Shortest delays 0.5, 1, 2, 4, 8, 16 s: dials at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
  t.equal(maxAttemptsWithin(60_000, L), 7, 'a minute: seven')
  t.equal(maxAttemptsWithin(3_600_000, L), 32, 'an hour: 10 on the way to the cap, then one per 150 s at most')
  // The bound holds for any draw of the jitter: dial whenever the gate lets, count.
  for (const seed of [1, 2, 3]) {
    const gate = new DialGate(L, 1000, 0)
    const random = seededRandom(seed)
    let n = 0
    for (let now = 0; now <= 60_000; now += 100) {
      if (gate.holds('a:1', now)) continue
      n++
      gate.failed('a:1', now, random)
    }
    t.ok(n <= maxAttemptsWithin(60_000, L), `seed ${seed}: ${n} dials in a minute polling every 100 ms, bound ${maxAttemptsWithin(60_000, L)}`)
  }
  t.end()
})

test('DialGate: an address held after a failure, cleared by a success, forgotten long after, bounded in number', (t) => {
  const gate = new DialGate(dialLimits({ maxAddresses: 3 }), 1000, 0)
  const d = gate.failed('a:1', 0, high)
  t.equal(d, 1000, 'first failure: held 1 s (random ~1)')
  t.ok(gate.holds('a:1', 999), 'held at 999 ms')
  t.notOk(gate.holds('a:1', 1000), 'free at 1 s')
  t.equal(gate.failed('a:1', 1000, high), 2000, 'a second failure: 2 s')
  t.equal(gate.failures('a:1'), 2, 'two failures remembered')
  gate.succeeded('a:1')
  t.equal(gate.failures('a:1'), 0, 'a success clears them')
  t.notOk(gate.holds('a:1', 1001), 'and the hold')
  gate.failed('b:1', 0, high)
  t.notOk(gate.holds('b:1', 1000 + L.max), 'an address unused for max past its delay...')
  t.equal(gate.failures('b:1'), 0, '...is forgotten (a failure then starts from initial)')
  for (const k of ['c:1', 'd:1', 'e:1', 'f:1']) gate.failed(k, 0, high)
  t.equal(gate.size, 3, 'at most maxAddresses remembered')
  t.equal(gate.failures('c:1'), 0, 'the oldest went first')
  t.throws(() => dialLimits({ max: 10 }), /max must be at least initial/, 'max below initial refused')
  t.throws(() => dialLimits({ perRound: 0 }), /perRound must be a positive number/, 'a zero rate refused')
  t.end()
})

test('DialGate: the rate is a bucket of burst dials refilled at perRound a round', (t) => {
  const gate = new DialGate(dialLimits({ burst: 4, perRound: 1 }), 1000, 0)
  t.equal(gate.budget(0), 4, 'full at first: the burst')
  gate.spend(4, 0)
  t.equal(gate.budget(0), 0, 'spent')
  t.equal(gate.budget(999), 0, 'not a whole dial before a round has passed')
  t.equal(gate.budget(1000), 1, 'one a round')
  t.equal(gate.budget(60_000), 4, 'never more than the burst')
  const half = new DialGate(dialLimits({ burst: 2, perRound: 0.5 }), 100, 0)
  half.spend(2, 0)
  t.deepEqual([100, 200, 300, 400].map((now) => half.budget(now)), [0, 1, 1, 2], 'half a dial a round: one every two rounds')
  // Over any number of rounds, no more dials than the bound: spend whatever the budget allows, every round.
  const g = new DialGate(L, 1000, 0)
  let dials = 0
  for (let round = 0; round <= 60; round++) {
    const b = g.budget(round * 1000)
    dials += b
    g.spend(b, round * 1000)
  }
  t.equal(dials, maxDialsWithin(60, L), `sixty rounds, spending all: ${dials} dials, maxDialsWithin(60) = ${maxDialsWithin(60, L)}`)
  t.end()
})

test('barred: one id per address, none at an address taken or held back; live ones are preferred', (t) => {
  const gate = new DialGate(L, 1000, 0)
  gate.failed('10.0.0.9:7000', 0, high)
  const ms: Addressed[] = [
    { id: 'a', addr: '10.0.0.1:7000' },
    { id: 'forged-1', addr: '10.0.0.1:7000' },
    { id: 'forged-2', addr: '10.0.0.1:7000' },
    { id: 'b', addr: '10.0.0.2:7000' },
    { id: 'c', addr: '10.0.0.3:7000' },
    { id: 'x', addr: '10.0.0.9:7000' },
    { id: 'y', addr: '10.0.0.9:7000' },
    { id: 'self-claim', addr: '10.0.0.100:7000' },
    { id: 'dead-d', addr: '10.0.0.1:7000' },
  ]
  const taken = new Map<string, string | null>([
    ['10.0.0.3:7000', 'c'],
    ['10.0.0.100:7000', null],
  ])
  const bar = barred(ms, new Set(['b']), taken, gate, 10)
  t.deepEqual([...bar.ids].sort(), ['c', 'dead-d', 'forged-1', 'forged-2', 'self-claim', 'x', 'y'], 'barred: the other ids of a picked address, the held-back address, this node\'s; c is being dialled already')
  t.equal(bar.held, 1, 'one address held back (two ids at it)')
  t.equal(bar.shared, 4, 'four ids at an address another id has (forged-1, forged-2, dead-d, self-claim); c at its own dial is not counted')
  t.end()
})

const opts = { size: 3, refreshEvery: 10 }
const members = (n: number, from = 0): Candidate[] => Array.from({ length: n }, (_, i) => ({ id: `m${from + i}`, addr: `10.0.0.${from + i}:7000` }))
const input = (extra: Partial<ViewInput>): ViewInput => ({ live: [], dead: [], seeds: [], connected: new Set(), outbound: [], gone: new Set(), seedLinked: false, seedIds: new Set(), dialing: new Set(), round: 1, ...extra })

test('planView with a budget and bars: no more member dials than the budget, none barred; seeds not counted', (t) => {
  const i = input({ live: members(30), dead: members(5, 40), seeds: ['s:1'], round: 10 })
  t.deepEqual(planView({ ...i, budget: Number.POSITIVE_INFINITY, barred: new Set() }, opts, seededRandom(42)), planView(i, opts, seededRandom(42)), 'no bound, no bar: the plan of before')
  const one = planView({ ...i, budget: 1 }, opts, low)
  t.equal(one.dial.filter((d) => d.why !== 'seed').length, 1, 'budget 1: one member dialled')
  t.ok(one.dial.some((d) => d.why === 'seed'), 'and the seed besides')
  t.equal(one.deferred, 3, 'two fills and the probe deferred')
  const none = planView({ ...i, budget: 0 }, opts, low)
  t.deepEqual(none.dial.map((d) => d.why), ['seed'], 'budget 0: only the seed')
  const full = input({ live: members(10), outbound: ['m0', 'm1', 'm2'], connected: new Set(['m0', 'm1', 'm2']), round: 10 })
  const r10 = planView({ ...full, budget: 0 }, opts, high)
  t.deepEqual([r10.drop, r10.dial, r10.deferred], [[], [], 1], 'a refresh without a dial to spare drops nothing')
  const bar = new Set(members(29).map((m) => m.id))
  const only = planView({ ...i, barred: bar, dead: [] }, opts, seededRandom(1))
  t.deepEqual(only.dial.filter((d) => d.why !== 'seed').map((d) => d.id), ['m29'], 'all but m29 barred: m29 alone is dialled')
  t.end()
})

test('addressKey: spellings of one address are one key; names lower-cased; ports numbers', (t) => {
  const same = ['127.0.0.1:9000', '127.000.0.1:9000', '127.1:9000', '0x7f.0.0.1:9000', '0177.0.0.1:9000', '2130706433:9000', '[::ffff:127.0.0.1]:9000', '[::FFFF:7f00:1]:9000', '[0:0:0:0:0:ffff:7f00:1]:9000', '127.0.0.1:09000']
  t.deepEqual([...new Set(same.map(addressKey))], ['127.0.0.1:9000'], `${same.length} spellings, one key`)
  t.equal(addressKey('[2001:DB8:0:0:0:0:0:1]:7000'), '[2001:db8::1]:7000', 'IPv6 canonical')
  t.equal(addressKey('[0::01]:7000'), '[::1]:7000', 'IPv6 loopback')
  t.equal(addressKey('[fe80::1%eth0]:7000'), '[fe80::1%eth0]:7000', 'a zone is kept')
  t.equal(addressKey('Node-B.Cluster.Internal.:7000'), 'node-b.cluster.internal:7000', 'a name: lower-case, no final dot')
  t.equal(addressKey('localhost:7000'), 'localhost:7000', 'names are not resolved')
  t.equal(atonV4('256.1.1.1'), null, 'a byte over 255: no address')
  t.equal(atonV4('1.2.65535'), '1.2.255.255', 'the last part fills the bytes left')
  t.equal(atonV4('1.2.65536'), null, 'but no more')
  t.equal(atonV4('09.1.1.1'), null, 'not octal: no address')
  t.equal(atonV4('a.b'), null, 'a name')
  t.end()
})
