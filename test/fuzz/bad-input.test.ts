/**
 * Bad input from a peer, generated: random objects, valid messages with one
 * field corrupted, and raw bytes through the codec. A live node must never
 * throw or crash, never change state because of an invalid message, and
 * count every rejection by reason.
 */
import test from 'tape'
import fc from 'fast-check'
import { PassThrough } from 'node:stream'
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { createDecoder } from '../../lib/codec/ndjson.ts'
import { decode, DEFAULT_LIMITS } from '../../lib/protocol/validate.ts'
import type { Message } from '../../lib/protocol/messages.ts'
import type { Gossip } from '../../lib/index.ts'
import { node, quiet } from '../support/streams.ts'

const snapshot = (g: Gossip) => JSON.stringify([[...g.records()].map((r) => JSON.stringify(r)).sort(), g.version, g.clock.toJSON()])
const isValid = (o: unknown) => decode(o, DEFAULT_LIMITS, [] as Message[]) === null

function seeded(): Gossip {
  const g = node('fuzz', { mtu: 50 })
  for (let i = 0; i < 20; i++) g.set('k' + i, { i })
  g.write({ key: 'remote', value: 1, source_id: 'peer', version: 7 })
  return g
}

const VALID: Record<string, unknown>[] = [
  { digest: true, source_id: 'peer', version: 3 },
  { digest: true, done: true },
  { digest: true, done: true, reply: true, more: true },
  { key: 'k1', value: { a: [1, 2] }, source_id: 'peer', version: 9 },
  { key: 'k2', value: null, source_id: 'peer', version: 10, deleted: true },
  { key: 'k3', value: 'v', source_id: 'peer', version: 11, prev: 10 },
  { digest: true, reset: true, source_id: 'peer', from: 0, to: 4, n: 0 },
]

const wild: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 1.5, 2 ** 53, -(2 ** 60), '', '\u0000', '__proto__', [], {}, null, undefined, true),
  fc.string({ maxLength: 5000 }),
  fc.integer(),
  fc.double(),
)

test('random objects never throw; invalid ones change nothing and are counted by reason', async (t) => {
  const g = seeded()
  const s = g.createStream()
  let errors = 0
  s.on('error', () => errors++)
  g.on('error', () => errors++)
  let invalid = 0
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(fc.anything(), fc.object(), wild), { minLength: 1, maxLength: 20 }), async (objs) => {
      for (const o of objs) {
        // null and undefined cannot be written to an object stream at all
        // (the stream API throws); a codec never produces them.
        if (o === null || o === undefined) continue
        const before = snapshot(g)
        const valid = isValid(o)
        s.write(o)
        await quiet(1)
        if (!valid) {
          invalid++
          if (snapshot(g) !== before) return false
        }
      }
      return true
    }),
    { numRuns: 300, seed: 11 },
  )
  await quiet()
  t.equal(errors, 0, 'no error events')
  t.ok(invalid > 1000, `${invalid} invalid objects tried`)
  const byReason = g.stats.invalidByReason
  const sum = Object.values(byReason).reduce((a, b) => a + b, 0)
  t.equal(sum, g.stats.invalid, `every rejection counted under a reason (${Object.keys(byReason).length} reasons)`)
  t.ok(g.stats.invalid >= invalid, 'each invalid object was counted')
  t.end()
})

test('valid messages with one field corrupted: never throw; if refused, nothing changes', async (t) => {
  const g = seeded()
  const s = g.createStream()
  let tried = 0
  let refused = 0
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...VALID), fc.constantFrom('key', 'value', 'source_id', 'version', 'digest', 'done', 'prev', 'gen', 'deleted', 'from', 'to', 'n', 'gc', 'ack', 'sig'), wild, async (msg, field, junk) => {
      const o: Record<string, unknown> = { ...msg, [field]: junk }
      const before = snapshot(g)
      const valid = isValid(o)
      tried++
      s.write(o)
      await quiet(1)
      if (valid) return true
      refused++
      return snapshot(g) === before
    }),
    { numRuns: 1500, seed: 12 },
  )
  t.ok(refused > 500, `${refused} of ${tried} corrupted messages refused, none changed state`)
  t.end()
})

const lines: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom('{"key":"k","value":1,"source_id":"p","version":1e400}', '{"digest":true,"done":true', 'null', '[]', '"x"', '{"__proto__":{"x":1}}', '{}'),
  fc.nat(3000).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.nat(200_000).map((n) => JSON.stringify({ key: 'big', value: 'x'.repeat(n), source_id: 'p', version: 5 })),
  fc.json().map((j) => j.slice(0, Math.max(0, j.length - 3))), // truncated
)

test('raw bytes through the codec: no crash, no error, and the next good line still applies', async (t) => {
  let runs = 0
  await fc.assert(
    fc.asyncProperty(fc.array(lines, { maxLength: 12 }), fc.nat(), async (junk, cut) => {
      runs++
      const g = node('bytes')
      const s = g.createStream()
      const wire = new PassThrough()
      const dec = createDecoder({ maxLineLength: 64 * 1024 })
      let errors = 0
      for (const x of [wire, dec, s]) x.on('error', () => errors++)
      wire.pipe(dec).pipe(s)
      const text = junk.join('\n') + '\n{"key":"good","value":1,"source_id":"p","version":3}\n'
      // Deliver in two chunks cut at an arbitrary byte.
      const bytes = Buffer.from(text)
      const at = cut % (bytes.length + 1)
      wire.write(bytes.subarray(0, at))
      wire.write(bytes.subarray(at))
      await quiet(5)
      return errors === 0 && g.get('good').value === 1
    }),
    { numRuns: 200, seed: 13 },
  )
  t.pass(`${runs} byte streams: the node survived each, and applied the good line after the junk`)
  t.end()
})

test('memory stays bounded under a flood of invalid input and digest spam', (t) => {
  const root = resolve(import.meta.dirname, '../..')
  const script = `
    import { Gossip, base } from './lib/index.ts'
    const g = new Gossip('mem', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
    const s = g.createStream()
    s.resume()
    const heap = () => { global.gc(); return process.memoryUsage().heapUsed }
    const feed = async (n, make) => {
      for (let i = 0; i < n; i++) if (!s.write(make(i))) await new Promise((r) => s.once('drain', r))
      await new Promise((r) => setImmediate(r))
    }
    await feed(20000, (i) => ({ key: 'warm', value: i, source_id: 'x', version: -1 }))
    const before = heap()
    await feed(200000, (i) => (i % 3 === 0 ? { junk: i } : i % 3 === 1 ? { digest: true, source_id: 'spam' + i, version: i, gc: 1 } : { digest: true, done: true, reply: true }))
    const after = heap()
    console.log(JSON.stringify({ before, after, sources: g.clock.size, invalid: g.stats.invalid }))
  `
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 120_000 })
  const line = r.stdout.trim().split('\n').pop() ?? ''
  let m: { before: number; after: number; sources: number; invalid: number } | null = null
  try {
    m = JSON.parse(line)
  } catch {
    t.fail(`no measurement: ${r.stderr.slice(-500)}`)
  }
  if (m !== null) {
    const growth = (m.after - m.before) / 1e6
    t.ok(growth < 16, `heap grew ${growth.toFixed(1)} MB over 200,000 hostile objects`)
    t.ok(m.sources <= 2, `digest spam made the node track ${m.sources} sources`)
    t.ok(m.invalid >= 86_666, `${m.invalid} refusals counted`)
  }
  t.end()
})
