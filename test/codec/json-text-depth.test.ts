/**
 * JSON text on wire 2 (a message a frame carries as a JSON string) is held
 * to the nesting limit of the frame's MessagePack values (MAX_DEPTH, 100
 * levels, the message's own object counting as one): nested deeper, it is
 * refused before it is parsed, with a reason, and counted; the values after
 * it in the frame are still read. JSON text nested within the limit, and
 * strings that merely hold brackets, are read as before.
 */
import test from 'tape'
import { Buffer } from 'node:buffer'
import { FrameReader } from '../../lib/codec/frame-reader.ts'
import fc from 'fast-check'
import { MAX_DEPTH } from '../../lib/codec/msgpack.ts'
import { nestedDeeperThan } from '../../lib/codec/json-depth.ts'
import { frame, msgpackStr } from '../support/frames.ts'

/** A message whose `value` holds `levels - 1` arrays, one in another: `levels` levels with the message's object. */
const nestedText = (levels: number) => '{"key":"k","value":' + '['.repeat(levels - 1) + ']'.repeat(levels - 1) + '}'
/** The same message as MessagePack maps and arrays. */
function nestedPack(levels: number): Buffer {
  const head = [0x82, 0xa3, 0x6b, 0x65, 0x79, 0xa1, 0x6b, 0xa5, 0x76, 0x61, 0x6c, 0x75, 0x65]
  return Buffer.from([...head, ...Array(levels - 2).fill(0x91), 0x90])
}

function read(body: Buffer) {
  const objects: object[] = []
  const refused: string[] = []
  const r = new FrameReader(1 << 20, (o) => objects.push(o), (reason) => refused.push(reason))
  r.feed(frame(body))
  r.end()
  return { objects, refused, stats: r.stats }
}

test('JSON text in a frame nested 100,000 deep is refused with a reason and counted; the next value is read', (t) => {
  const deep = '{"key":"k","value":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'
  const after = { key: 'after', value: 1 }
  const r = read(Buffer.concat([msgpackStr(deep), msgpackStr(JSON.stringify(after))]))
  t.equal(r.refused.length, 1, 'one refusal')
  t.match(r.refused[0] ?? '', new RegExp(`nested deeper than ${MAX_DEPTH} levels`), `with its reason (${r.refused[0]})`)
  t.deepEqual(r.objects, [after], 'the message after it is read')
  t.equal(r.stats.invalid, 1, 'counted as invalid')
  t.end()
})

test('JSON text and MessagePack values in a frame have the same nesting limit', (t) => {
  for (const levels of [MAX_DEPTH, MAX_DEPTH + 1]) {
    const asText = read(msgpackStr(nestedText(levels)))
    const asPack = read(nestedPack(levels))
    const ok = levels <= MAX_DEPTH
    t.equal(asPack.objects.length, ok ? 1 : 0, `${levels} levels as MessagePack: ${ok ? 'read' : 'refused'}`)
    t.equal(asText.objects.length, ok ? 1 : 0, `${levels} levels as JSON text: ${ok ? 'read' : 'refused'}, as MessagePack`)
    if (ok) t.deepEqual(asText.objects, asPack.objects, 'the same message either way')
  }
  t.end()
})

test('brackets inside strings, and escaped quotes, are not nesting', (t) => {
  const msg = { key: 'k', value: ['['.repeat(5000), '\\"['.repeat(300), { '{{{': '"}}}"' }] }
  const r = read(msgpackStr(JSON.stringify(msg)))
  t.deepEqual(r.refused, [], 'nothing refused')
  t.deepEqual(r.objects, [msg], 'the message read whole')
  t.end()
})

test('property: the depth test before parsing agrees with the depth of what JSON.parse gives', (t) => {
  const depthOf = (v: unknown): number => (typeof v !== 'object' || v === null ? 0 : 1 + Math.max(0, ...Object.values(v).map(depthOf)))
  const text = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a') })
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8, stringUnit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', 'é') }), fc.integer({ min: 0, max: 9 }), (v, max) => {
      const json = JSON.stringify(v)
      return nestedDeeperThan(json, max) === depthOf(v) > max
    }),
    { seed: 21, numRuns: 2000 },
  )
  fc.assert(
    fc.property(text, fc.integer({ min: 0, max: 5 }), (s, max) => typeof nestedDeeperThan(s, max) === 'boolean'),
    { seed: 22, numRuns: 500 },
  )
  t.pass('2000 JSON values, 500 texts that are not JSON')
  t.end()
})
