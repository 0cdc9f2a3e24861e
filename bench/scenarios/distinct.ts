/**
 * (a) Two connected nodes; A sets N distinct keys; time until B holds all N.
 *   node --import tsx bench/scenarios/distinct.ts <ours|ours-binary|scuttlebutt|floor> <N> <warm 0|1>
 * `floor`: the least any replication over ndjson does (floor.ts).
 * With warm 1, both implementations first move 5,000 other keys, so the JIT
 * is warm; with 0 the measured keys are the first the process moves.
 */
import { floorPair } from './floor.ts'
import { emit, joinOurs, joinScuttlebutt, ours, peakRssMB, ScuttlebuttModel, until, wireOf } from './common.ts'

const [impl, nArg, warmArg] = process.argv.slice(2)
const n = Number(nArg)
const WARM = warmArg === '1' ? 5000 : 0
const value = (i: number) => ({ i, name: 'item-' + i })

if (impl === 'ours' || impl === 'ours-binary') {
  const a = ours('A')
  const b = ours('B')
  const { sa, bytes, synced } = joinOurs(a, b, wireOf(impl))
  sa.gossip()
  await until(synced)
  for (let i = 0; i < WARM; i++) a.set('warm-' + i, value(i))
  await until(() => b.size === WARM)
  const bytes0 = bytes()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) a.set('key-' + i, value(i))
  await until(() => b.size === WARM + n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), bytesPerUpdate: (bytes() - bytes0) / n })
} else if (impl === 'floor') {
  const f = floorPair()
  for (let i = 0; i < WARM; i++) f.set('warm-' + i, value(i))
  await until(() => f.size === WARM)
  const bytes0 = f.bytes()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) f.set('key-' + i, value(i))
  await until(() => f.size === WARM + n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), bytesPerUpdate: (f.bytes() - bytes0) / n })
} else {
  const Model = ScuttlebuttModel()
  const a = new Model()
  const b = new Model()
  const { synced, bytes } = joinScuttlebutt(a, b)
  await until(synced)
  let have = 0
  b.on('update', () => have++)
  for (let i = 0; i < WARM; i++) a.set('warm-' + i, value(i))
  await until(() => have >= WARM)
  const bytes0 = bytes()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) a.set('key-' + i, value(i))
  await until(() => have >= WARM + n)
  const ms = performance.now() - t0
  if (Object.keys(b.toJSON()).length !== WARM + n) throw new Error('scuttlebutt: B does not hold every key')
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), bytesPerUpdate: (bytes() - bytes0) / n })
}
process.exit(0)
