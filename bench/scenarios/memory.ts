/**
 * State overhead per key at N keys: heap used by a node holding N keys,
 * minus the heap of the same keys and values held in a plain array.
 *   node --expose-gc --import tsx bench/scenarios/memory.ts <N>
 */
import { emit, ours } from './common.ts'

const n = Number(process.argv[2])
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
const keyOf = (i: number) => 'key-' + i
// The keys and values alone, as the floor to subtract.
const h0 = heap()
let bare: unknown[] | null = []
for (let i = 0; i < n; i++) bare.push(keyOf(i), { i })
const h1 = heap()
const keysAndValues = h1 - h0
// (Read what was built after measuring it, so no compiler can drop it.)
if (bare.length !== 2 * n) throw new Error('lost the floor')
bare = null
const h2 = heap()
const g = ours('A')
for (let i = 0; i < n; i++) g.set(keyOf(i), { i })
const h3 = heap()
if (g.size !== n) throw new Error('lost keys')
const perKey = (h3 - h2 - keysAndValues) / n
emit({ ms: 0, perKeyBytes: perKey, keysAndValuesPerKey: keysAndValues / n, heapMB: (h3 - h2) / 1e6 })
