/**
 * (g) Simulated clusters of N nodes gossiping with random peers: mean
 * synchronous rounds until one update reaches every node, against the
 * push-pull floor log3(N) + ln ln(N).
 *   node --import tsx bench/scenarios/rounds.ts <N> <trials>
 */
import { Sim } from '../../test/support/sim.ts'
import { emit } from './common.ts'

const [nArg, trialsArg] = process.argv.slice(2)
const n = Number(nArg)
const trials = Number(trialsArg)
let total = 0
const t0 = performance.now()
for (let s = 0; s < trials; s++) {
  const sim = new Sim({ nodes: n, seed: 1000 + s, lazy: true })
  sim.write(0, 'x', 1)
  total += sim.settleSync(1000)
}
const mean = total / trials
const floor = Math.log(n) / Math.log(3) + Math.log(Math.log(n))
emit({ ms: performance.now() - t0, rounds: mean, floor, ratio: mean / floor })
