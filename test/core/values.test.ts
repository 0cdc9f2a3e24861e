/**
 * Values in state: `frozenJson` takes a caller's value in one walk (checked
 * as `jsonProblem` checks it, copied, frozen); `deepFreeze` freezes a
 * remote one in place.
 */
import test from 'tape'
import fc from 'fast-check'
import { deepFreeze, frozenJson, utf8Length } from '../../lib/core/values.ts'
import { MsgpackWriter } from '../../lib/codec/msgpack-writer.ts'
import { jsonProblem } from '../../lib/protocol/validate.ts'

const deeplyFrozen = (v: unknown): boolean =>
  typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(deeplyFrozen))

/** Anything a caller might pass: JSON values, and things that are not (undefined, NaN, functions, class instances, sparse arrays). */
const anything = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.double(),
    fc.integer(),
    fc.constant(undefined),
    fc.constant(Number.NaN),
    fc.constant(() => 1),
    fc.constant(new Date(0)),
    fc.constant(new Map()),
    fc.bigInt(),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 4 }), tie('node'), { maxKeys: 4 }), fc.constant(Object.create(null))),
})).node

test('frozenJson accepts exactly what jsonProblem accepts, with its message, and returns an equal, deeply frozen copy', (t) => {
  let accepted = 0
  let refused = 0
  fc.assert(
    fc.property(anything, fc.integer({ min: 1, max: 5 }), (v, depth) => {
      const problem = jsonProblem(v, depth)
      let out: unknown
      let err: unknown = null
      try {
        out = frozenJson(v, depth)
      } catch (e) {
        err = e
      }
      if (problem !== null) {
        refused++
        return err instanceof TypeError && err.message === problem
      }
      accepted++
      if (err !== null) return false
      if (JSON.stringify(out) !== JSON.stringify(v)) return false
      if (typeof v === 'object' && v !== null && out === v) return false
      return deeplyFrozen(out)
    }),
    { seed: 4242, numRuns: 3000 },
  )
  t.ok(accepted > 300 && refused > 300, `both sides exercised (${accepted} accepted, ${refused} refused)`)
  t.end()
})

test('frozenJson: a sparse array, a cycle, a "__proto__" key, a getter called once', (t) => {
  t.throws(() => frozenJson([1, , 3], 10), /undefined is not a JSON value/, 'a hole is refused like undefined')
  const cyc: Record<string, unknown> = { a: 1 }
  cyc.self = cyc
  t.throws(() => frozenJson(cyc, 32), /nested deeper than 32 levels \(or is cyclic\)/, 'a cycle ends at the depth bound')
  const proto = JSON.parse('{"__proto__": {"x": 1}, "y": 2}')
  const copy = frozenJson(proto, 4) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(copy), Object.prototype, 'the copy\'s prototype is untouched')
  t.deepEqual(Object.keys(copy), ['__proto__', 'y'], '"__proto__" stays an own key')
  let reads = 0
  const getter = Object.defineProperty({}, 'g', { enumerable: true, get: () => ++reads })
  t.deepEqual(frozenJson(getter, 4), { g: 1 }, 'a getter\'s value is taken')
  t.equal(reads, 1, 'and the getter runs once (checked and copied in one walk)')
  t.end()
})

test('deepFreeze freezes nested values in place, looking through objects frozen only at their top', (t) => {
  const v = { a: [1, { b: 2 }], c: { d: [3] } }
  deepFreeze(v)
  t.ok(deeplyFrozen(v), 'every level frozen')
  const inner = { x: 1 }
  const outer = Object.freeze({ inner })
  deepFreeze(outer)
  t.ok(Object.isFrozen(inner), 'what a shallow-frozen object holds is frozen too (it would otherwise change behind its version)')
  t.end()
})

test('frozenJson refuses a value longer than maxBytes as JSON or as MessagePack (the larger), exactly at the bound, whatever its shape', (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 0, max: 400 }), (v, cut) => {
      const json = Buffer.byteLength(JSON.stringify(v))
      const writer = new MsgpackWriter()
      writer.message(v as object)
      const bytes = Math.max(json, writer.pos)
      const as = writer.pos > json ? 'MessagePack' : 'JSON'
      const max = Math.max(1, bytes - 200 + cut)
      let threw: unknown = null
      try {
        frozenJson(v, 64, max)
      } catch (err) {
        threw = err
      }
      return bytes > max ? threw instanceof RangeError && (threw as Error).message === `value is ${bytes} bytes as ${as}, over limits.maxValueBytes (${max})` : threw === null
    }),
    { seed: 17, numRuns: 500 },
  )
  const big = 'é'.repeat(600_000) // 1.2 MB as UTF-8
  t.throws(() => frozenJson({ big }, 64, 1_000_000), /value is 1200010 bytes as JSON, over limits.maxValueBytes \(1000000\)/, 'a long string of two-byte characters is measured in bytes')
  t.ok(frozenJson({ big }, 64, 1_300_000), 'and taken under a higher bound')
  t.pass('values of any shape: refused exactly when over the bound')
  t.end()
})

test('utf8Length counts bytes as Buffer.byteLength does, surrogate pairs and lone surrogates included', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) }), (a, b) => {
      const s = a + b + a
      return utf8Length(s) === Buffer.byteLength(s)
    }),
    { seed: 5, numRuns: 500 },
  )
  t.pass('500 strings of any code points and lone surrogates')
  t.end()
})

test('frozenJson holds -0 as 0, as every peer reads it from JSON', (t) => {
  t.ok(Object.is(frozenJson(-0, 64), 0), 'a bare -0')
  t.ok(Object.is((frozenJson({ a: [-0] }, 64) as { a: number[] }).a[0], 0), 'nested')
  t.end()
})

test('frozenJson keeps its count when a getter of the value walks another value: a long value is still refused', (t) => {
  const value = {
    big: 'x'.repeat(2000),
    get small() {
      return frozenJson({ n: 1 }, 64, 1000)
    },
  }
  t.throws(() => frozenJson(value, 64, 1000), /over limits\.maxValueBytes \(1000\)/, 'the inner walk does not reset the outer one\'s count')
  t.end()
})
