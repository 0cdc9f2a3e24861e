import test from 'tape'
import { decode, DEFAULT_LIMITS, jsonProblem } from '../../lib/protocol/validate.ts'
import type { Message } from '../../lib/protocol/messages.ts'

const ok = (o: unknown) => {
  const out: Message[] = []
  const reason = decode(o, DEFAULT_LIMITS, out)
  return { reason, out }
}

const BAD: [string, unknown][] = [
  ['null', null],
  ['number', 3],
  ['array', [1]],
  ['digest not true', { digest: 1, source_id: 'a', version: 1 }],
  ['digest entry without source_id', { digest: true, version: 3 }],
  ['digest source_id number', { digest: true, source_id: 5, version: 1 }],
  ['digest NaN version', { digest: true, source_id: 'a', version: NaN }],
  ['digest negative fractional version', { digest: true, source_id: 'a', version: -1.5 }],
  ['digest fractional version', { digest: true, source_id: 'a', version: 1.5 }],
  ['done not boolean', { digest: true, done: 'yes' }],
  ['update key missing', { value: 1, source_id: 'a', version: 1 }],
  ['update key NaN', { key: NaN, value: 1, source_id: 'a', version: 1 }],
  ['update key boolean', { key: true, value: 1, source_id: 'a', version: 1 }],
  ['update value missing', { key: 'k', source_id: 'a', version: 1 }],
  ['update value undefined', { key: 'k', value: undefined, source_id: 'a', version: 1 }],
  ['update value function', { key: 'k', value: () => 1, source_id: 'a', version: 1 }],
  ['update value Infinity', { key: 'k', value: Infinity, source_id: 'a', version: 1 }],
  ['update value nested NaN', { key: 'k', value: { a: [1, NaN] }, source_id: 'a', version: 1 }],
  ['update value Date', { key: 'k', value: new Date(), source_id: 'a', version: 1 }],
  ['update empty source_id', { key: 'k', value: 1, source_id: '', version: 1 }],
  ['update source_id with NUL', { key: 'k', value: 1, source_id: 'a\u0000b', version: 1 }],
  ['update version 0', { key: 'k', value: 1, source_id: 'a', version: 0 }],
  ['update version unsafe', { key: 'k', value: 1, source_id: 'a', version: 2 ** 53 }],
  ['update version string', { key: 'k', value: 1, source_id: 'a', version: '3' }],
  ['update version Infinity', { key: 'k', value: 1, source_id: 'a', version: Infinity }],
  ['tombstone with a value', { key: 'k', value: 1, source_id: 'a', version: 2, deleted: true }],
  ['prev not below version', { key: 'k', value: 1, source_id: 'a', version: 2, prev: 2 }],
  ['key too long', { key: 'x'.repeat(5000), value: 1, source_id: 'a', version: 1 }],
  ['gen not a string', { key: 'k', value: 1, source_id: 'a', version: 1, gen: 4 }],
  ['digest gc negative', { digest: true, source_id: 'a', version: 1, gc: -1 }],
  ['a reset (no peer may make another drop records)', { digest: true, reset: true, source_id: 'a', from: 0, to: 1, n: 0 }],
  ['a reset of any shape', { digest: true, reset: 1, source_id: 'a', from: 0, to: 1 }],
  ['ack negative', { digest: true, done: true, ack: -3 }],
  ['seq fractional', { digest: true, done: true, ack: 2, seq: 4.5 }],
  ['seq a string', { digest: true, done: true, seq: '4' }],
  ['upto fractional', { digest: true, source_id: 'a', version: 2, upto: 1.5 }],
]

test('decode refuses each malformed shape with a reason', (t) => {
  for (const [name, obj] of BAD) {
    const { reason, out } = ok(obj)
    t.ok(typeof reason === 'string' && reason.length > 0 && out.length === 0, `${name}: ${reason}`)
  }
  t.end()
})

test('decode accepts the seed\'s shapes and the extensions', (t) => {
  t.deepEqual(ok({ digest: true, source_id: 'a', version: 4 }).out, [{ type: 'digest', source_id: 'a', version: 4, gc: 0 }], 'digest entry')
  t.deepEqual(ok({ digest: true, source_id: 'a', version: 4, gc: 3 }).out, [{ type: 'digest', source_id: 'a', version: 4, gc: 3 }], 'digest entry with a collected-tombstone floor')
  t.deepEqual(ok({ digest: true, done: true }).out, [{ type: 'done', reply: false, more: false, final: false, resync: false, stream: false }], 'end of digest')
  t.deepEqual(ok({ digest: true, done: true, reply: true, ack: 12 }).out, [{ type: 'done', reply: true, more: false, final: false, resync: false, stream: false, ack: 12 }], 'end of digest with an acknowledgement')
  t.deepEqual(ok({ digest: true, done: true, ack: 12, seq: 30 }).out, [{ type: 'done', reply: false, more: false, final: false, resync: false, stream: false, ack: 12, seq: 30 }], 'end of digest with an acknowledgement and a sequence number')
  t.deepEqual(
    ok({ digest: true, source_id: 'a', version: -Infinity, done: true }).out.map((m) => m.type),
    ['digest', 'done'],
    'a seed entry carrying done decodes to both',
  )
  t.equal((ok({ digest: true, source_id: 'a', version: null }).out[0] as { version: number }).version, 0, 'null version (JSON of -Infinity) means none')
  for (const v of [-1, -10, -(2 ** 53 - 1)]) {
    t.equal((ok({ digest: true, source_id: 'a', version: v, done: true }).out[0] as { version: number }).version, 0, `a negative version (${v}, as the seed's tests send) means none`)
  }
  t.deepEqual(ok({ key: 7, value: 1, source_id: 'a', version: 3 }).out[0], { type: 'update', rec: { key: '7', value: 1, source_id: 'a', version: 3 } }, 'a numeric key is taken as its string, as set() takes it')
  const u = ok({ key: 'k', value: { deep: [1, 'x'] }, source_id: 'a', version: 3, extra: 'dropped' }).out[0]
  t.deepEqual(u, { type: 'update', rec: { key: 'k', value: { deep: [1, 'x'] }, source_id: 'a', version: 3 } }, 'update; unknown fields dropped')
  const p = ok({ key: 'k', value: 1, source_id: 'a', version: 3, prev: 2 }).out[0]
  t.equal((p as { prev?: number }).prev, 2, 'push keeps prev')
  t.end()
})

test('jsonProblem: what set() refuses', (t) => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.ok(jsonProblem(10n, 64)?.includes('bigint'), 'BigInt')
  t.ok(jsonProblem(undefined, 64)?.includes('undefined'), 'undefined')
  t.ok(jsonProblem(cyclic, 64)?.includes('cyclic'), 'cycle')
  t.ok(jsonProblem([undefined], 64)?.includes('undefined'), 'undefined in an array')
  t.ok(jsonProblem(new Map(), 64)?.includes('Map'), 'Map')
  t.equal(jsonProblem({ a: [1, 'b', null, { c: true }] }, 64), null, 'plain JSON accepted')
  t.equal(jsonProblem(Object.create(null), 64), null, 'null-prototype object accepted')
  t.end()
})

test('a hello refusal quotes at most 64 characters of what the peer sent (reasons reach logs)', async (t) => {
  const { helloProblem } = await import('../../lib/protocol/hello.ts')
  const reason = helloProblem({ hello: 1, id: 'x', cluster: 'c'.repeat(1_000_000) }, { cluster: 'prod', maxIdLength: 256 } as never) ?? ''
  t.match(reason, /^cluster mismatch: peer is in "c{63}…", this node in "prod"$/, 'the million-character cluster name is cut')
  t.ok(reason.length < 120, `the reason is ${reason.length} characters`)
  t.end()
})

test('a digest fp must be 16 lower-case hex digits, and the reason says lower-case', (t) => {
  const reason = 'digest fp must be 16 lower-case hex digits'
  t.equal(ok({ digest: true, source_id: 'a', version: 1, fp: '0F3C99A1D2E4B570' }).reason, reason, 'upper-case hex is refused, saying why')
  t.equal(ok({ digest: true, source_id: 'a', version: 1, fp: 'xyz' }).reason, reason, 'not hex')
  t.equal(ok({ digest: true, source_id: 'a', version: 1, fp: '0f3c99a1d2e4b570' }).reason, null, 'lower-case hex is taken')
  t.end()
})
