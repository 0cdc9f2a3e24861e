/**
 * `limits.maxValueBytes` bounds a value in the larger of its two wire
 * encodings, JSON (wire 1) and MessagePack (wire 2): at `set`, and for
 * records from peers (refused for good, not held against the link, the
 * records after them still taken), whatever format carried them; records
 * restored from the node's own log are not measured again (an update once
 * accepted is never lost on restart).
 */
import test from 'tape'
import fc from 'fast-check'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Buffer } from 'node:buffer'
import { MsgpackWriter } from '../../lib/codec/msgpack-writer.ts'
import { valueBytes } from '../../lib/core/value-size.ts'
import type { JsonValue } from '../../lib/core/types.ts'
import { base, type Gossip } from '../../lib/index.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { node, until } from '../support/streams.ts'

const LIMIT = 983_040 // the default limits.maxValueBytes
/** 240,000 halves: 960,001 bytes as JSON (under the limit), 2,160,005 as MessagePack (over). */
const halves = () => Array(240_000).fill(0.5)
/** A string of 200,000 control characters: 1,200,002 bytes as JSON (over), 200,005 as MessagePack (under). */
const controls = () => '\u0001'.repeat(200_000)

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v))
function packBytes(v: unknown): number {
  const w = new MsgpackWriter()
  w.message(v as object)
  return w.pos
}

test('valueBytes: exactly the larger of the JSON (UTF-8) and MessagePack sizes, for any JSON value', (t) => {
  const unit = fc.oneof(fc.constantFrom('"', '\\', '\n', '\u0001', '\u001f', '\u007f', 'é', '€', '\u2028', '😀', '\ud800', '\udc00'), fc.string({ unit: 'binary', maxLength: 1 }))
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4, stringUnit: unit }), fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 2 ** 32, -(2 ** 31) - 1, 2 ** 53 - 1)), { maxLength: 40 }), (v, nums) => {
      const value = [v, nums, 'x'.repeat(nums.length * 3)] as JsonValue
      const got = valueBytes(value)
      const j = jsonBytes(value)
      const p = packBytes(value)
      return got.bytes === Math.max(j, p) && got.as === (p > j ? 'MessagePack' : 'JSON')
    }),
    { seed: 9, numRuns: 1000 },
  )
  t.deepEqual(valueBytes(halves()), { bytes: 2_160_005, as: 'MessagePack' }, 'an array of halves is larger as MessagePack')
  t.deepEqual(valueBytes(controls()), { bytes: 1_200_002, as: 'JSON' }, 'control characters are larger as JSON')
  t.pass('1000 values with escapes, multi-byte and lone surrogates, every number form')
  t.end()
})

test('set() refuses a value under the limit as JSON that is over it as MessagePack', (t) => {
  const a = node('a')
  t.equal(a.config.limits.maxValueBytes, LIMIT, 'the default limit')
  t.ok(jsonBytes(halves()) < LIMIT, `${jsonBytes(halves())} bytes as JSON, under the limit`)
  t.throws(() => a.set('halves', halves()), /gossip\.set\("halves"\): value is 2160005 bytes as MessagePack, over limits\.maxValueBytes \(983040\)/, 'a RangeError naming the larger encoding')
  t.equal(a.get('halves').version, -Infinity, 'nothing written')
  t.throws(() => a.set('controls', controls()), /value is 1200002 bytes as JSON, over limits\.maxValueBytes/, 'and one over it as JSON, under it as MessagePack')
  t.ok(node('roomy', { limits: { maxValueBytes: 4 * 1024 * 1024 } }).set('halves', halves()), 'a node whose limit is raised takes it')
  a.destroy()
  t.end()
})

test('a peer\'s record over the limit in either encoding is refused for good, over wire 1 and wire 2; the writer\'s next records are taken', async (t) => {
  for (const wire of [1, 2] as const) {
    // The writer's limit is raised (as on a node whose peers all read longer lines); the reader's is the default.
    const w = node('w' + wire, { limits: { maxValueBytes: 8 * 1024 * 1024 } })
    const r = node('r' + wire)
    const sw = w.createWireStream({ wire, maxLineLength: 16 * 1024 * 1024 })
    const sr = r.createWireStream({ wire, maxLineLength: 16 * 1024 * 1024 })
    const refused: [string, boolean][] = []
    sr.on('invalid', (reason: string, _obj: unknown, fault: boolean) => refused.push([reason, fault]))
    sw.pipe(sr).pipe(sw)
    w.set('before', 1)
    w.set('halves', halves())
    w.set('controls', controls())
    w.set('after', 2)
    sw.gossip()
    await until(() => r.get('after').value === 2)
    t.equal(r.get('before').value, 1, `wire ${wire}: the record before them taken`)
    t.equal(r.get('halves').version, -Infinity, `wire ${wire}: the array of halves refused`)
    t.equal(r.get('controls').version, -Infinity, `wire ${wire}: the string of control characters refused`)
    t.deepEqual(refused, [
      ['value over limits.maxValueBytes (983040 bytes as JSON or as MessagePack)', false],
      ['value over limits.maxValueBytes (983040 bytes as JSON or as MessagePack)', false],
    ], `wire ${wire}: each refused once, with the reason, not held against the link`)
    // Passed over: the next exchange asks for nothing again.
    const sent = sw.stats.updatesSent
    sr.gossip()
    await until(() => sw.stats.digestsReceived >= 2)
    await new Promise((done) => setTimeout(done, 50))
    t.equal(sw.stats.updatesSent, sent, `wire ${wire}: not fetched again`)
    w.destroy()
    r.destroy()
  }
  t.end()
})

test('a record over the limit that the node\'s own log holds is restored on restart', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-value-size-'))
  let now = 1_000_000
  const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers, now: () => now++ }
  try {
    // Written under a raised limit (or accepted before the limit measured MessagePack).
    const first = openDurable('A', { ...cfg, limits: { maxValueBytes: 4 * 1024 * 1024 } }, { dir, durability: 'write' })
    first.gossip.set('halves', halves())
    first.store.close()
    const again = openDurable('A', cfg, { dir, durability: 'write' })
    t.equal(again.gossip.config.limits.maxValueBytes, LIMIT, 'reopened under the default limit')
    t.equal((again.gossip.get('halves').value as number[] | null)?.length, 240_000, 'the record is restored whole')
    again.store.close()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  t.end()
})
