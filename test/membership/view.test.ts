/** The bounded view planner (lib/membership/view.ts): fill, drop, trim, refresh, probes of the dead, seeds. */
import test from 'tape'
import { seededRandom } from '../../lib/core/random.ts'
import { planView, type Candidate, type ViewInput } from '../../lib/membership/view.ts'

const opts = { size: 3, refreshEvery: 10 }
const members = (n: number, from = 0): Candidate[] => Array.from({ length: n }, (_, i) => ({ id: `m${from + i}`, addr: `10.0.0.${from + i}:7000` }))

function input(extra: Partial<ViewInput>): ViewInput {
  return { live: [], dead: [], seeds: [], connected: new Set(), outbound: [], gone: new Set(), seedLinked: false, seedIds: new Set(), dialing: new Set(), round: 1, ...extra }
}

const never = () => 0.999999
const always = () => 0

test('fill: dial live members not linked until the view is full; links being dialled count', (t) => {
  const plan = planView(input({ live: members(10), connected: new Set(['m0', 'm1']), outbound: ['m0'] }), opts, seededRandom(1))
  t.equal(plan.dial.length, 2, 'one outbound link: two more dialled for a view of three')
  t.ok(plan.dial.every((d) => d.why === 'fill' && d.id !== 'm0' && d.id !== 'm1'), 'fill, never a member already linked (either way)')
  t.deepEqual(plan.drop, [], 'nothing dropped')
  const busy = planView(input({ live: members(10), outbound: ['m0'], connected: new Set(['m0']), dialing: new Set(['10.0.0.5:7000']) }), opts, seededRandom(1))
  t.equal(busy.dial.length, 1, 'a dial in flight counts towards the view')
  t.notEqual(busy.dial[0].addr, '10.0.0.5:7000', 'and its address is not dialled twice')
  const few = planView(input({ live: members(1) }), opts, seededRandom(1))
  t.equal(few.dial.length, 1, 'only one live member: one dial')
  t.end()
})

test('drop: outbound links to members held dead or left; trim a view grown past size + 1', (t) => {
  const plan = planView(input({ live: members(6), outbound: ['m0', 'm1', 'm2'], connected: new Set(['m0', 'm1', 'm2']), gone: new Set(['m1']) }), opts, never)
  t.deepEqual(plan.drop, [{ id: 'm1', why: 'member is dead or left' }], 'm1 dropped')
  t.equal(plan.dial.filter((d) => d.why === 'fill').length, 1, 'and replaced')
  const big = planView(input({ live: members(10), outbound: ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'], connected: new Set(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']) }), opts, seededRandom(3))
  t.equal(big.drop.length, 3, 'six outbound links for a view of three: three trimmed')
  t.ok(big.drop.every((d) => d.why === 'view trimmed'), 'as trimmed')
  t.equal(big.dial.length, 0, 'nothing dialled')
  t.end()
})

test('refresh: every refreshEvery rounds one outbound link is swapped, a seed first once the cluster is large', (t) => {
  const base = { live: members(10), outbound: ['m0', 'm1', 'm2'], connected: new Set(['m0', 'm1', 'm2']) }
  t.equal(planView(input({ ...base, round: 9 }), opts, never).drop.length, 0, 'round 9: no swap')
  const r10 = planView(input({ ...base, round: 10 }), opts, never)
  t.equal(r10.drop.length, 1, 'round 10: one dropped')
  t.equal(r10.drop[0].why, 'view refreshed', 'as refreshed')
  t.deepEqual(r10.dial.map((d) => d.why), ['refresh'], 'one dialled in its place')
  const seeded = planView(input({ ...base, round: 20, seedIds: new Set(['m2']), seedLinked: true }), opts, always)
  t.equal(seeded.drop[0].id, 'm2', 'the seed goes first')
  t.end()
})

test('probes: a dead member is dialled with probability dead / (live + 1), never a left one', (t) => {
  const dead = members(2, 50)
  const base = input({ live: members(3), dead, outbound: ['m0', 'm1', 'm2'], connected: new Set(['m0', 'm1', 'm2']) })
  t.deepEqual(planView(base, opts, always).dial.map((d) => d.why), ['probe'], 'random 0 < 2/4: a probe')
  t.deepEqual(planView(base, opts, never).dial, [], 'random ~1: none')
  let probes = 0
  const random = seededRandom(7)
  for (let i = 0; i < 4000; i++) if (planView(base, opts, random).dial.some((d) => d.why === 'probe')) probes++
  t.ok(probes > 1800 && probes < 2200, `about half the rounds probe (${probes} of 4000; 2/4 expected)`)
  const linked = planView(input({ ...base, connected: new Set(['m0', 'm1', 'm2', 'm50', 'm51']) }), opts, always)
  t.deepEqual(linked.dial, [], 'dead members with an open link are not dialled')
  t.end()
})

test('seeds: dialled while fewer members are live than seeds, sometimes later, never when a seed is linked', (t) => {
  const seeds = ['seed-1:7000', 'seed-2:7000']
  const joining = planView(input({ seeds }), opts, never)
  t.deepEqual(joining.dial.map((d) => d.why), ['seed'], 'no member known: a seed is dialled')
  const cut = planView(input({ seeds, live: members(1) }), opts, never)
  t.ok(cut.dial.some((d) => d.why === 'seed'), 'one live member, two seeds: a seed is dialled')
  const many = input({ seeds, live: members(20), outbound: ['m0', 'm1', 'm2'], connected: new Set(['m0', 'm1', 'm2']) })
  t.notOk(planView(many, opts, never).dial.some((d) => d.why === 'seed'), 'twenty live: not this round (random ~1)')
  t.ok(planView(many, opts, always).dial.some((d) => d.why === 'seed'), 'but with probability seeds / (live + dead + 1) (random 0)')
  t.notOk(planView({ ...many, seedLinked: true }, opts, always).dial.some((d) => d.why === 'seed'), 'a seed already linked: none')
  t.notOk(planView({ ...input({ seeds }), dialing: new Set(seeds) }, opts, always).dial.some((d) => d.why === 'seed'), 'seeds being dialled are not dialled again')
  t.end()
})

test('the plan is a function of its input and the random source (seeded: the same plan twice)', (t) => {
  const i = input({ live: members(30), dead: members(5, 40), seeds: ['s:1'], round: 10 })
  t.deepEqual(planView(i, opts, seededRandom(42)), planView(i, opts, seededRandom(42)), 'same seed, same plan')
  t.end()
})
