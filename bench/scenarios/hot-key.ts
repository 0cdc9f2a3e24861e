/**
 * (b) A sets one key N times; time until B holds the final value; memory
 * retained afterwards (heap after a full GC, both nodes in this process).
 *   node --expose-gc --import tsx bench/scenarios/hot-key.ts <ours|scuttlebutt> <N>
 */
import { emit, joinOurs, joinScuttlebutt, ours, peakRssMB, ScuttlebuttModel, until } from './common.ts'

const [impl, nArg] = process.argv.slice(2)
const n = Number(nArg)
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
  const base = heapMB()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) a.set('hot', { i })
  await until(() => (b.get('hot').value as { i: number } | null)?.i === n - 1)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), retainedMB: heapMB() - base, bytesPerUpdate: bytes() / n })
} else {
  const Model = ScuttlebuttModel()
  const a = new Model()
  const b = new Model()
  const { synced, bytes } = joinScuttlebutt(a, b)
  await until(synced)
  const base = heapMB()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) a.set('hot', { i })
  await until(() => (b.get('hot') as { i: number } | undefined)?.i === n - 1)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), retainedMB: heapMB() - base, bytesPerUpdate: bytes() / n })
}
process.exit(0)
