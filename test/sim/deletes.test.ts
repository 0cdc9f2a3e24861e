/**
 * Deletes in the simulator: random sets and deletes on overlapping keys,
 * tombstones collected after a grace period, one or two nodes cut off for far
 * longer than the grace period, then healed. Every node must converge to the
 * oracle's live state and no deleted key may come back anywhere; the paper's
 * invariant must hold after every delivered message.
 */
import test from 'tape'
import { randomInt } from '../../lib/core/random.ts'
import { Sim } from '../support/sim.ts'
import { node, quiet, until } from '../support/streams.ts'
import { base, type Gossip } from '../../lib/index.ts'
import type { ResolveFn } from '../../lib/core/types.ts'

function scenario(seed: number) {
  const n = 6 + (seed % 7)
  const sim = new Sim({
    nodes: n,
    seed,
    mtu: 1 + (seed % 9),
    order: seed % 2 ? 'depth' : 'breadth',
    graceMs: 100 + (seed % 5) * 50,
    pushFullRate: 0.15,
  })
  const r = sim.random
  const all = Array.from({ length: n }, (_, i) => i)
  const step = (nodes: number[]) => {
    const x = r()
    if (x < 0.3) sim.write(nodes[randomInt(r, nodes.length)], 'k' + randomInt(r, 15), randomInt(r, 100))
    else if (x < 0.45) sim.del(nodes[randomInt(r, nodes.length)], 'k' + randomInt(r, 15))
    else {
      const i = nodes[randomInt(r, nodes.length)]
      const j = nodes[randomInt(r, nodes.length)]
      if (i !== j) sim.exchange(i, j)
    }
    sim.tick(1)
  }
  for (let s = 0; s < 300; s++) step(all)
  sim.settle(200, () => sim.convergedLive())
  const cut = all.slice(0, 1 + (seed % 2))
  const rest = all.slice(cut.length)
  sim.partition(cut)
  const before = sim.writes.length
  for (let s = 0; s < 1500; s++) step(rest) // many grace periods
  for (let s = 0; s < 40; s++) {
    for (let i = 0; i < rest.length; i++) sim.exchange(rest[i], rest[(i + 1 + randomInt(r, rest.length - 1)) % rest.length])
  }
  for (let s = 0; s < 400; s++) sim.tick(1) // everything deleted before now is collected on the connected side
  const deletesDuringCut = sim.writes.slice(before).filter((w) => w.deleted === true).length
  // A cut node is behind when its clock for a source is below a tombstone of it collected on the other side.
  const behind = cut.filter((c) =>
    rest.some((o) => [...sim.nodes[o].replica.clock.values()].some((s) => s.gc > (sim.nodes[c].replica.clock.find(s.id, s.gen)?.clock ?? 0))),
  ).length
  sim.heal()
  const healRounds = sim.settle(300, () => sim.convergedLive())
  const resurrectedAtHeal = sim.resurrected()
  for (let s = 0; s < 200; s++) step(all)
  const rounds = sim.settle(300, () => sim.convergedLive())
  return { sim, healRounds, rounds, resurrectedAtHeal, deletesDuringCut, behind }
}

test('a node cut off for longer than the grace period rejoins without bringing deleted keys back', (t) => {
  let collected = 0
  let behindAtHeal = 0
  let deletes = 0
  const seeds = 60
  for (let seed = 1; seed <= seeds; seed++) {
    const { sim, healRounds, rounds, resurrectedAtHeal, deletesDuringCut, behind } = scenario(seed)
    behindAtHeal += behind
    collected += sim.nodes.reduce((a, n) => a + n.replica.stats.collected, 0)
    deletes += deletesDuringCut
    const ok = healRounds > 0 && rounds > 0 && sim.violations.length === 0 && resurrectedAtHeal.length === 0 && sim.resurrected().length === 0
    if (!ok) {
      t.fail(`seed ${seed}: heal ${healRounds} rounds, then ${rounds}; violations ${sim.violations.slice(0, 2)}; resurrected ${resurrectedAtHeal}`)
    }
  }
  t.pass(`${seeds} seeded runs converged after healing with the invariant intact and no deleted key back`)
  t.ok(collected > 1000, `${collected} tombstones were collected along the way`)
  t.ok(behindAtHeal >= seeds / 2, `${behindAtHeal} cut-off nodes were behind a tombstone collected on the other side when they rejoined`)
  t.ok(deletes > 3000, `${deletes} deletes were made while nodes were cut off`)
  t.end()
})

/** Nodes on one injected clock (ms; versions are µs of it), tombstones forgotten 1 s after they were applied. */
function timed(ids: string[], resolve: ResolveFn = base.resolution.lww_vs_current_vers) {
  const clock = { now: 10_000_000 }
  let tick = 0
  const opts = { resolve, clock: () => clock.now * 1000 + ++tick, now: () => clock.now, tombstoneGrace: 1_000 }
  return { clock, nodes: ids.map((id) => node(id, opts)) }
}

/** x and y joined by one stream each; returns both. */
function join(x: Gossip, y: Gossip) {
  const xy = x.createStream()
  const yx = y.createStream()
  xy.pipe(yx).pipe(xy)
  return [xy, yx]
}

test('a node behind a peer\'s gc floor sends that peer its own older writes at once: its own records are never held back', async (t) => {
  const { clock, nodes: [a, b, s] } = timed(['A', 'B', 'S'])
  s.set('k', 'written while cut off') // S never hears of B
  clock.now += 10
  b.set('gone', 1)
  b.del('gone') // B's only key: once A forgets the tombstone, A holds nothing of B
  const [ab] = join(a, b)
  ab.gossip()
  await until(() => a.record('gone')?.deleted === true)
  clock.now += 2_000
  t.equal(a.collect(), 1, 'A forgot B\'s tombstone')
  const [as] = join(a, s)
  as.gossip()
  await quiet(20)
  t.equal(a.get('k').value, 'written while cut off', 'S, behind A\'s gc floor of B, sent its older write in the first exchange')
  t.equal(a.clock.get('S'), s.clock.get('S'), 'and A\'s clock of S follows S\'s')
  t.equal(a.record('gone'), undefined, 'the deleted key stays deleted')
  t.end()
})

test('the own older write of a node behind a peer\'s gc floor, to a key the peer deleted and forgot, stays deleted under a resolve of the user\'s', async (t) => {
  // Last write wins, written by the user against gossip.record.
  const lww: ResolveFn = (gossip, update) => {
    const cur = gossip.record(update.key)
    return cur === undefined || gossip.sort(update, cur) > 0
  }
  const { clock, nodes: [a, b, s] } = timed(['A', 'B', 'S'], lww)
  s.set('k', 'old') // S, cut off, never hears of the delete
  clock.now += 10
  b.set('k', 'newer')
  b.del('k')
  const [ab] = join(a, b)
  ab.gossip()
  await until(() => a.record('k')?.deleted === true)
  clock.now += 2_000
  t.equal(a.collect(), 1, 'A forgot B\'s tombstone of k')
  const [as] = join(a, s)
  for (let round = 0; round < 3; round++) {
    as.gossip()
    await quiet(20)
  }
  t.equal(a.record('k'), undefined, 'A refused S\'s older value of k: k stays deleted')
  t.equal(s.record('k')?.deleted, true, 'S has the delete: A sent the tombstone it remembers')
  t.end()
})

test('a node cut off for longer than the grace period gets a delete from a peer that forgot it, when the deleter is not its peer', async (t) => {
  const { clock, nodes: [a, b, c] } = timed(['A', 'B', 'C'])
  const ab = join(a, b)
  let bc = join(b, c)
  a.set('k', 1)
  ab[0].gossip()
  bc[0].gossip()
  await until(() => c.get('k').value === 1)
  for (const s of bc) s.destroy() // C is cut off
  clock.now += 10
  a.del('k')
  ab[0].gossip()
  await until(() => b.record('k')?.deleted === true)
  clock.now += 2_000
  t.equal(b.collect(), 1, 'B forgot A\'s tombstone of k')
  t.equal(c.get('k').value, 1, 'C, cut off, still holds k')
  bc = join(b, c) // C comes back, with B as its only peer
  for (let round = 0; round < 3; round++) {
    bc[0].gossip()
    await quiet(20)
  }
  t.equal(c.record('k')?.deleted, true, 'C has the delete: B sent the tombstone it remembers')
  t.equal(b.record('k'), undefined, 'and B did not take k back')
  t.end()
})
