/**
 * (b) A sets one key N times; time until B holds the final value; memory
 * retained afterwards (heap after a full GC, both nodes in this process).
 *   node --expose-gc --import tsx bench/scenarios/hot-key.ts <ours|scuttlebutt> <N> <warm 0|1>
 * With warm 1, another key is first set 20,000 times and replicated.
 */
import { emit, joinOurs, joinScuttlebutt, ours, peakRssMB, ScuttlebuttModel, until } from './common.ts'

const [impl, nArg, warmArg] = process.argv.slice(2)
const n = Number(nArg)
const WARM = warmArg === '1' ? 20_000 : 0
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const heapMB = () => {
  gc()
  return process.memoryUsage().heapUsed / 1e6
}

if (impl === 'ours') {
  const a = ours('A')
  const b = ours('B')
  const { sa, bytes, synced } = joinOurs(a, b)
  sa.gossip()
  await until(synced)
  for (let i = 0; i < WARM; i++) a.set('warm', { i })
  await until(() => (b.get('warm').value as { i: number } | null)?.i === WARM - 1 || WARM === 0)
  const base = heapMB()
  const bytes0 = bytes()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) a.set('hot', { i })
  await until(() => (b.get('hot').value as { i: number } | null)?.i === n - 1)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), retainedMB: heapMB() - base, bytesPerUpdate: (bytes() - bytes0) / n })
} else {
  const Model = ScuttlebuttModel()
  const a = new Model()
  const b = new Model()
  const { synced, bytes } = joinScuttlebutt(a, b)
  await until(synced)
  for (let i = 0; i < WARM; i++) a.set('warm', { i })
  await until(() => (b.get('warm') as { i: number } | undefined)?.i === WARM - 1 || WARM === 0)
  const base = heapMB()
  const bytes0 = bytes()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) a.set('hot', { i })
  await until(() => (b.get('hot') as { i: number } | undefined)?.i === n - 1)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), retainedMB: heapMB() - base, bytesPerUpdate: (bytes() - bytes0) / n })
}
process.exit(0)
