import test from 'tape'
import { randomInt, seededRandom, shuffle } from '../../lib/core/random.ts'

test('seededRandom: deterministic for a seed, in [0, 1)', (t) => {
  const a = seededRandom(42)
  const b = seededRandom(42)
  const xs = Array.from({ length: 1000 }, () => a())
  t.deepEqual(xs, Array.from({ length: 1000 }, () => b()))
  t.ok(xs.every((x) => x >= 0 && x < 1))
  t.end()
})

test('shuffle and randomInt: a draw outside [0, 1) or NaN is clamped into range', (t) => {
  for (const [name, random] of [['1', () => 1], ['NaN', () => NaN], ['-0.5', () => -0.5], ['7', () => 7], ['Infinity', () => Infinity], ['-Infinity', () => -Infinity]] as const) {
    const items = [1, 2, 3, 4, 5, 6]
    const out = shuffle(items.slice(), random)
    t.deepEqual(out.slice().sort(), items, `random returning ${name}: shuffle gives a permutation (${out.join(',')})`)
    for (const n of [1, 2, 7]) {
      const i = randomInt(random, n)
      t.ok(Number.isInteger(i) && i >= 0 && i < n, `random returning ${name}: randomInt(${n}) = ${i}`)
    }
  }
  t.equal(randomInt(() => 0.5, 0), 0, 'n = 0 gives 0')
  const r = seededRandom(3)
  const seen = new Set(Array.from({ length: 200 }, () => randomInt(r, 5)))
  t.deepEqual([...seen].sort(), [0, 1, 2, 3, 4], 'a good random reaches every index')
  t.end()
})
