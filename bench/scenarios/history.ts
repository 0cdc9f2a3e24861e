/**
 * (f) A history with max_history 10,000 under 1,000,000 writes: time per
 * write over the first 10,000 writes and over the last 10,000.
 *   node --import tsx bench/scenarios/history.ts
 */
import { History } from '../../lib/core/history.ts'
import { sort } from '../../lib/core/resolve.ts'
import { emit } from './common.ts'

const h = new History(10_000, sort)
let compactions = 0
h.on('compaction', () => compactions++) // a listener, so compaction events are really emitted
const total = 1_000_000
const window = 10_000
let first = 0
let last = 0
let t = performance.now()
for (let i = 1; i <= total; i++) {
  h.write({ key: 'k' + (i % 5000), value: i, source_id: 's' + (i % 7), version: i })
  if (i === window) first = (performance.now() - t) / window
  if (i === total - window) t = performance.now()
}
last = (performance.now() - t) / window
emit({ ms: last * total, firstUs: first * 1000, lastUs: last * 1000, ratio: last / first, compactions })
