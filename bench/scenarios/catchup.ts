/**
 * (d) A holds N keys; an empty B connects; time until B holds all.
 *   node --import tsx bench/scenarios/catchup.ts <ours|ours-binary|scuttlebutt|floor> <N> <warm 0|1>
 * `floor`: the least any replication over ndjson does (floor.ts).
 * With warm 1, another empty node first catches up on 10,000 keys of another.
 */
import { floorPair } from './floor.ts'
import { emit, joinOurs, joinScuttlebutt, ours, peakRssMB, ScuttlebuttModel, until, wireOf } from './common.ts'

const [impl, nArg, warmArg] = process.argv.slice(2)
const n = Number(nArg)
const WARM = warmArg === '1' ? 10_000 : 0
const value = (i: number) => ({ i, name: 'item-' + i })

if (impl === 'ours' || impl === 'ours-binary') {
  if (WARM > 0) {
    const w = ours('W')
    for (let i = 0; i < WARM; i++) w.set('warm-' + i, value(i))
    const x = ours('X')
    joinOurs(w, x, wireOf(impl)).sb.gossip()
    await until(() => x.size === WARM)
  }
  const a = ours('A')
  for (let i = 0; i < n; i++) a.set('key-' + i, value(i))
  const b = ours('B')
  const t0 = performance.now()
  const { sb, bytes } = joinOurs(a, b, wireOf(impl))
  sb.gossip()
  await until(() => b.size === n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), bytesPerUpdate: bytes() / n })
} else if (impl === 'floor') {
  if (WARM > 0) {
    const w = floorPair()
    for (let i = 0; i < WARM; i++) w.keep('warm-' + i, value(i))
    w.sendAll()
    await until(() => w.size === WARM)
  }
  const a = floorPair()
  for (let i = 0; i < n; i++) a.keep('key-' + i, value(i))
  const t0 = performance.now()
  a.sendAll()
  await until(() => a.size === n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), bytesPerUpdate: a.bytes() / n })
} else {
  const Model = ScuttlebuttModel()
  if (WARM > 0) {
    const w = new Model()
    for (let i = 0; i < WARM; i++) w.set('warm-' + i, value(i))
    const x = new Model()
    let got = 0
    x.on('update', () => got++)
    joinScuttlebutt(w, x)
    await until(() => got >= WARM)
  }
  const a = new Model()
  for (let i = 0; i < n; i++) a.set('key-' + i, value(i))
  const b = new Model()
  let have = 0
  b.on('update', () => have++)
  const t0 = performance.now()
  const { bytes } = joinScuttlebutt(a, b)
  await until(() => have >= n)
  const ms = performance.now() - t0
  if (Object.keys(b.toJSON()).length !== n) throw new Error('scuttlebutt: B does not hold every key')
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), bytesPerUpdate: bytes() / n })
}
process.exit(0)
