import { Engine } from '../lib/core/engine.ts'
import { randomInt, seededRandom, shuffle } from '../lib/core/random.ts'

/**
 * How fast one update spreads (the paper's section 2: anti-entropy spreads
 * an update in O(log N) rounds). N engines start in agreement; node 0
 * writes one key; then rounds run until every node holds it. In a round
 * every node, in a fresh random order, starts one push-pull exchange
 * (digest, deltasFor, apply both ways, no MTU) with a uniformly random
 * other node; exchanges run one after another, so an update can travel
 * more than one hop in a round, as when nodes gossip at their own phases.
 *
 * The yardstick is log₂N + ln N, the expected rounds for push gossip alone
 * (Pittel 1987); push-pull needs fewer (about log₃N + O(ln ln N), Karp et
 * al. 2000).
 */
export interface SpreadResult {
  readonly n: number
  readonly trials: number
  /** Mean rounds until every node held the update. */
  readonly mean: number
  readonly min: number
  readonly max: number
  /** log₂N + ln N. */
  readonly bound: number
}

export function spread(n: number, trials: number, seed: number): SpreadResult {
  const random = seededRandom(seed)
  const rounds: number[] = []
  for (let trial = 0; trial < trials; trial++) {
    const nodes = Array.from({ length: n }, (_, i) => new Engine({ id: `n${i}` }))
    const key = `update-${trial}`
    nodes[0].set(key, trial)
    let holders = 1
    const has = new Uint8Array(n)
    has[0] = 1
    const order = Array.from({ length: n }, (_, i) => i)
    let r = 0
    while (holders < n) {
      r++
      shuffle(order, random)
      for (const p of order) {
        let q = randomInt(random, n - 1)
        if (q >= p) q++
        const a = nodes[p]
        const b = nodes[q]
        a.apply(b.deltasFor(a.digest(), { mtu: Infinity, random }).deltas)
        b.apply(a.deltasFor(b.digest(), { mtu: Infinity, random }).deltas)
        for (const i of [p, q]) {
          if (has[i] === 0 && nodes[i].versionOf(key) > 0) {
            has[i] = 1
            holders++
          }
        }
      }
      if (r > 10 * n) throw new Error('the update did not spread')
    }
    rounds.push(r)
  }
  const mean = rounds.reduce((x, y) => x + y, 0) / trials
  return { n, trials, mean, min: Math.min(...rounds), max: Math.max(...rounds), bound: Math.log2(n) + Math.log(n) }
}
