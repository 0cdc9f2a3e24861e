/**
 * Numbers from a MessagePack peer are those JSON can carry: a float that is
 * NaN or infinite (float32 or float64) is refused as data outside the JSON
 * model, as bin and extensions are, so that a message decodes to what the
 * same message as a JSON line would (no line can hold NaN or Infinity);
 * finite floats, integers across every width, and -0 arrive as JSON gives
 * them.
 */
import test from 'tape'
import { Buffer } from 'node:buffer'
import { isDeepStrictEqual } from 'node:util'
import { MsgpackReader } from '../../lib/codec/msgpack.ts'

function read(bytes: number[] | Buffer) {
  const b = Buffer.from(bytes)
  const values: unknown[] = []
  const refused: string[] = []
  new MsgpackReader().readAll(b, 0, b.length, (v) => values.push(v), (reason) => refused.push(reason))
  return { values, refused }
}

function float64(x: number): number[] {
  const b = Buffer.alloc(9)
  b[0] = 0xcb
  b.writeDoubleBE(x, 1)
  return [...b]
}

function float32(x: number): number[] {
  const b = Buffer.alloc(5)
  b[0] = 0xca
  b.writeFloatBE(x, 1)
  return [...b]
}

test('NaN and the infinities, as float64 or float32, are refused; the values before them are read', (t) => {
  for (const [what, bytes] of [
    ['float64 NaN', float64(NaN)],
    ['float64 Infinity', float64(Infinity)],
    ['float64 -Infinity', float64(-Infinity)],
    ['float32 NaN', float32(NaN)],
    ['float32 Infinity', float32(Infinity)],
    ['float32 -Infinity', float32(-Infinity)],
  ] as const) {
    // {a: 1}, then {version: <x>}, the way a digest entry would carry it
    const r = read([0x81, 0xa1, 0x61, 0x01, 0x81, 0xa7, ...Buffer.from('version'), ...bytes])
    t.deepEqual(r.values, [{ a: 1 }], `${what}: the value before it read`)
    t.deepEqual(r.refused, ['a number that is not finite is not a JSON value'], `${what}: refused with its reason`)
  }
  t.end()
})

test('finite numbers of every form, and -0, arrive as JSON gives them', (t) => {
  const cases: [number[], number][] = [
    [float64(0.1), 0.1],
    [float64(-1e308), -1e308],
    [float64(5e-324), 5e-324],
    [float32(0.5), 0.5],
    [float32(3.4028234663852886e38), 3.4028234663852886e38],
    [[0xcf, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2 ** 53 - 1],
    [[0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 1], -(2 ** 53 - 1)],
    [[0xd2, 0x80, 0, 0, 0], -(2 ** 31)],
    [[0xe0], -32],
  ]
  for (const [bytes, want] of cases) {
    const r = read(bytes)
    t.ok(r.refused.length === 0 && r.values[0] === want, `${want}`)
  }
  const minusZero = read(float64(-0)).values[0]
  t.ok(isDeepStrictEqual(minusZero, JSON.parse('-0')), '-0 as JSON.parse gives it')
  t.end()
})
