/**
 * (d) A holds N keys; an empty B connects; time until B holds all.
 *   node --import tsx bench/scenarios/catchup.ts <ours|scuttlebutt> <N>
 */
import { emit, joinOurs, joinScuttlebutt, ours, peakRssMB, ScuttlebuttModel, until } from './common.ts'

const [impl, nArg] = process.argv.slice(2)
const n = Number(nArg)
const value = (i: number) => ({ i, name: 'item-' + i })

if (impl === 'ours') {
  const a = ours('A')
  for (let i = 0; i < n; i++) a.set('key-' + i, value(i))
  const b = ours('B')
  const t0 = performance.now()
  const { sb, bytes } = joinOurs(a, b)
  sb.gossip()
  await until(() => b.size === n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB(), bytesPerUpdate: bytes() / n })
} else {
  const Model = ScuttlebuttModel()
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
