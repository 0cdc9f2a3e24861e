/**
 * Bad messages for the fuzz suites (object streams, ndjson and wire 2
 * frames): every shape PROTOCOL.md describes, and generators of junk and of
 * valid messages with one field corrupted.
 */
import fc from 'fast-check'

/** Messages to corrupt: every shape PROTOCOL.md describes (and a reset, which it refuses). */
export const BASES: Record<string, unknown>[] = [
  { digest: true, source_id: 'peer', version: 3 },
  { digest: true, source_id: 'peer', version: 3, gen: 'g1', gc: 2, upto: 3, fp: '0f3c99a1d2e4b570' },
  { digest: true, source_id: 'peer', version: 17, done: true },
  { digest: true, done: true },
  { digest: true, done: true, reply: true, more: true, stream: true },
  { digest: true, done: true, reply: true, final: true, ack: 4 },
  { digest: true, done: true, resync: true, ack: 12 },
  { key: 'k1', value: { a: [1, 2] }, source_id: 'peer', version: 9 },
  { key: 'k2', value: null, source_id: 'peer', version: 10, deleted: true },
  { key: 'k3', value: 'v', source_id: 'peer', version: 11, prev: 10 },
  { key: 'k4', value: 4, source_id: 'peer', version: 12, gen: 'g1', prev: 3, rprev: 0, sig: 'MEUCIQ' },
  { digest: true, reset: true, source_id: 'peer', from: 0, to: 4, n: 0 },
]
export const FIELDS = ['key', 'value', 'source_id', 'version', 'digest', 'done', 'prev', 'rprev', 'gen', 'deleted', 'sig', 'gc', 'upto', 'fp', 'ack', 'reply', 'more', 'final', 'resync', 'stream', 'reset', 'from', 'to', 'n'] as const

export const wild: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 1.5, 2 ** 53, -(2 ** 60), '', '\u0000', '__proto__', [], {}, null, undefined, true),
  fc.string({ maxLength: 5000 }),
  fc.integer(),
  fc.double(),
)

/** A valid message with one field set to junk (or removed). */
export const corrupted: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.constantFrom(...BASES), fc.constantFrom(...FIELDS), fc.oneof(wild, fc.constant(undefined)))
  .map(([msg, field, junk]) => {
    const o: Record<string, unknown> = { ...msg, [field]: junk }
    if (junk === undefined) delete o[field]
    return o
  })

