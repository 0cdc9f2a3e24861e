/**
 * Nodes on lossy links (`config.lossy`): objects lost, duplicated and
 * reordered between streams; every node still gets every key within a
 * bounded number of rounds, however much was lost before.
 */
import test from 'tape'
import { Transform } from 'node:stream'
import { seededRandom } from '../../lib/core/random.ts'
import type { Gossip } from '../../lib/index.ts'

type Peer = { gossip(): void; destroy(): void }
import { lossyLink, node } from '../support/streams.ts'

interface Faults {
  loss: number
  dup?: number
  /** Chance that an object is held back and sent after the next one. */
  swap?: number
}

/** Three nodes, fully linked through faulty object pipes; `k` keys written round-robin. */
function cluster(seed: number, faults: Faults, k: number) {
  const random = seededRandom(seed)
  let time = 10_000
  const nodes = ['A', 'B', 'C'].map((id, i) => node(id, { now: () => time, lossy: true, random: seededRandom(seed * 10 + i) }))
  const streams: Peer[] = []
  const hop = () => {
    let held: unknown = undefined
    return new Transform({
      objectMode: true,
      transform(o, _e, cb) {
        if (random() < faults.loss) return cb()
        const copy = JSON.parse(JSON.stringify(o))
        if (held !== undefined) {
          this.push(copy)
          this.push(held)
          held = undefined
          return cb()
        }
        if (random() < (faults.swap ?? 0)) {
          held = copy
          return cb()
        }
        this.push(copy)
        if (random() < (faults.dup ?? 0)) this.push(JSON.parse(JSON.stringify(o)))
        cb()
      },
    })
  }
  for (const [x, y] of [[0, 1], [1, 2], [0, 2]] as const) {
    const sx = nodes[x].createStream({ peer: { id: nodes[y].id } })
    const sy = nodes[y].createStream({ peer: { id: nodes[x].id } })
    sx.pipe(hop()).pipe(sy).pipe(hop()).pipe(sx)
    streams.push(sx, sy)
  }
  for (let i = 0; i < k; i++) nodes[i % 3].set('k' + i, i)
  /** Rounds (100 ms of injected time, every stream starts an exchange) until all hold `k` keys, at most `max`. */
  const converge = async (max: number): Promise<number> => {
    let r = 0
    for (; r < max && !nodes.every((g) => g.size === k); r++) {
      time += 100
      for (const s of streams) s.gossip()
      for (let j = 0; j < 4; j++) await new Promise((res) => setImmediate(res))
    }
    return r
  }
  return { nodes, converge }
}

for (const [name, faults, bound] of [
  ['40% lost', { loss: 0.4 }, 40],
  ['60% lost', { loss: 0.6 }, 120],
  ['20% lost, 10% duplicated, 10% reordered', { loss: 0.2, dup: 0.1, swap: 0.1 }, 40],
] as const) {
  for (const seed of [1, 2, 3]) {
    test(`lossy links, ${name} (seed ${seed}): three nodes converge on 150 keys within ${bound} rounds`, async (t) => {
      const { nodes, converge } = cluster(seed, faults, 150)
      t.ok(nodes.some((g) => g.size < 150), 'no node holds every key before the rounds')
      const rounds = await converge(bound)
      t.deepEqual(nodes.map((g) => g.size), [150, 150, 150], `every node holds every key (${rounds} rounds)`)
      const states = nodes.map((g) => JSON.stringify([...g.records()].map((r) => [r.key, r.version]).sort()))
      t.ok(states.every((s) => s === states[0]), 'and the same records')
      for (const g of nodes) g.destroy()
      t.end()
    })
  }
}

for (const seed of [1, 2, 3]) {
  test(`lossy links, 30% lost (seed ${seed}): 200 keys reach a peer, and come back to their writer restarted in memory, within 60 rounds each`, async (t) => {
    const random = seededRandom(seed)
    let time = 10_000
    const now = () => time
    const link = (x: Gossip, y: Gossip) => lossyLink(x, y, random, 0.3)
    const until = async (l: Peer[], done: () => boolean, max: number) => {
      let r = 0
      for (; r < max && !done(); r++) {
        time += 100
        for (const s of l) s.gossip()
        for (let j = 0; j < 6; j++) await new Promise((res) => setImmediate(res))
      }
      return r
    }
    const a = node('A', { now, lossy: true, random: seededRandom(seed + 1) })
    const b = node('B', { now, lossy: true, random: seededRandom(seed + 2) })
    let l = link(a, b)
    for (let i = 0; i < 200; i++) a.set('k' + i, i)
    const first = await until(l, () => b.size === 200, 60)
    t.equal(b.size, 200, `B holds A's 200 keys (${first} rounds)`)
    for (const s of l) s.destroy()
    a.destroy()
    time = 15_000
    const a2 = node('A', { now, lossy: true, random: seededRandom(seed + 3) })
    a2.set('fresh', 1)
    l = link(a2, b)
    const back = await until(l, () => a2.size === 201, 60)
    t.equal(a2.size, 201, `A, restarted empty, got its 200 earlier writes back (${back} rounds)`)
    for (const g of [a2, b]) g.destroy()
    t.end()
  })
}
