/**
 * The fuzz suite over wire 2: bad input from a peer as frames of
 * MessagePack values, into a live node's byte stream. Random objects and
 * valid messages with one field corrupted are packed as a peer would pack
 * them; what the frame reader makes of them must be judged by the
 * independent spec (test/support/spec.ts) exactly as over ndjson: what the
 * spec refuses is reported once and changes nothing, what it accepts is
 * not refused for its form. Random bodies and raw bytes never crash the
 * node, and a good frame after junk frames still applies.
 */
import test from 'tape'
import fc from 'fast-check'
import { Buffer } from 'node:buffer'
import { inspect } from 'node:util'
import { FrameReader } from '../../lib/codec/frame-reader.ts'
import { FrameEncoder } from '../../lib/codec/wire-format.ts'
import type { Gossip } from '../../lib/index.ts'
import type { WireMessage } from '../../lib/protocol/messages.ts'
import { corrupted, wild } from '../support/bad-messages.ts'
import { specDecode } from '../support/spec.ts'
import { node, quiet } from '../support/streams.ts'

const snapshot = (g: Gossip) => JSON.stringify([[...g.records()].map((r) => JSON.stringify(r)).sort(), g.version, g.clock.toJSON()])
const show = (o: unknown) => inspect(o, { depth: 4, maxStringLength: 60, maxArrayLength: 8, breakLength: Infinity })
const AFTER_VALIDATION = [/^version too far ahead/, /^too many sources/, /^digest longer than/]

/** `o` as a peer's frame, or null when MessagePack cannot pack it at all. */
function pack(o: unknown): Buffer | null {
  const e = new FrameEncoder()
  try {
    e.put(o as WireMessage)
  } catch {
    return null
  }
  return e.take()
}

/** What a frame reader makes of `bytes`: the objects it passes on. */
function decoded(bytes: Buffer): object[] {
  const out: object[] = []
  const r = new FrameReader(1 << 20, (o) => out.push(o), () => {})
  r.feed(bytes)
  return out
}

function seeded(): Gossip {
  const g = node('fuzz', { mtu: 50 })
  for (let i = 0; i < 20; i++) g.set('k' + i, { i })
  g.write({ key: 'remote', value: 1, source_id: 'peer', version: 7 })
  return g
}

async function agree(label: string, gen: fc.Arbitrary<unknown>, runs: number, seed: number, t: test.Test): Promise<void> {
  const g = seeded()
  const s = g.createWireStream({ wire: 2, peer: { id: 'peer' } })
  s.resume()
  let errors = 0
  s.on('error', () => errors++)
  const reported: string[] = []
  g.on('invalid', (reason) => reported.push(reason))
  let refused = 0
  let accepted = 0
  const problems: string[] = []
  await fc
    .assert(
      fc.asyncProperty(gen, async (o) => {
        const bytes = pack(o)
        if (bytes === null) return true
        const objs = decoded(bytes)
        const verdicts = objs.map((x) => specDecode(x) !== null)
        const before = snapshot(g)
        reported.length = 0
        s.write(bytes)
        await quiet(1)
        const bad = reported.filter((r) => !AFTER_VALIDATION.some((re) => re.test(r)))
        const wantRefused = verdicts.filter((v) => !v).length + (objs.length === 0 ? 1 : 0)
        refused += wantRefused
        accepted += verdicts.filter((v) => v).length
        let p: string | null = null
        if (bad.length !== wantRefused) p = `${show(o)} arrived as ${show(objs)}: the spec refuses ${wantRefused}; the node refused ${bad.length} (${bad.join('; ')})`
        else if (wantRefused > 0 && verdicts.every((v) => !v) && snapshot(g) !== before) p = `${show(o)} was refused, yet state changed`
        if (p !== null) problems.push(p)
        return p === null
      }),
      { numRuns: runs, seed },
    )
    .catch((err: Error) => problems.length === 0 && problems.push(err.message))
  t.deepEqual(problems.slice(0, 1), [], `${label}: the node agrees with the spec on every frame`)
  t.equal(errors, 0, `${label}: no error events`)
  if (problems.length === 0) t.ok(refused > runs / 4 && accepted > 10, `${label}: ${refused} refused, ${accepted} accepted`)
  const sum = Object.values(g.stats.invalidByReason).reduce((a, b) => a + b, 0)
  t.equal(sum, g.stats.invalid, `${label}: every rejection counted under a reason`)
}

test('wire 2: random objects and corrupted messages, packed as a peer would: the node agrees with the spec', async (t) => {
  await agree('random objects', fc.oneof(fc.anything(), fc.object(), wild, corrupted), 400, 21, t)
  await agree('corrupted messages', corrupted, 1500, 22, t)
  t.end()
})

const body: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  corrupted.map((o) => pack(o)?.subarray(4) ?? Buffer.alloc(0)),
  fc.tuple(corrupted, fc.nat()).map(([o, n]) => {
    const b = pack(o)?.subarray(4) ?? Buffer.alloc(0)
    return b.subarray(0, n % (b.length + 1)) // truncated
  }),
  fc.nat(5000).map((n) => Buffer.alloc(n, 0x91)), // nesting
  fc.constantFrom(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0xd4, 0x72, 0x40]), Buffer.from([0xc7, 0x01, 0x05, 0x00]), Buffer.from([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
)

test('wire 2: junk frames never crash the node, and a good frame after them still applies', async (t) => {
  let runs = 0
  await fc.assert(
    fc.asyncProperty(fc.array(body, { maxLength: 10 }), fc.nat(), async (bodies, cut) => {
      runs++
      const g = node('bytes')
      const s = g.createWireStream({ wire: 2, maxLineLength: 64 * 1024 })
      s.resume()
      let errors = 0
      s.on('error', () => errors++)
      const frames = bodies.map((b) => {
        const h = Buffer.alloc(4)
        h.writeUInt32BE(b.length)
        return Buffer.concat([h, b])
      })
      const good = pack({ key: 'good', value: 1, source_id: 'p', version: 3 })!
      const bytes = Buffer.concat([...frames, good])
      const at = cut % (bytes.length + 1)
      s.write(bytes.subarray(0, at))
      s.write(bytes.subarray(at))
      await quiet(3)
      return errors === 0 && g.get('good').value === 1
    }),
    { numRuns: 200, seed: 23 },
  )
  t.pass(`${runs} frame streams: the node survived each, and applied the good frame after the junk`)
  t.end()
})

test('wire 2: raw random bytes never crash the node or make it hold more than a frame', async (t) => {
  let runs = 0
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 10 }), async (chunks) => {
      runs++
      const g = node('raw')
      const s = g.createWireStream({ wire: 2, maxLineLength: 1024 })
      s.resume()
      let errors = 0
      s.on('error', () => errors++)
      for (const c of chunks) s.write(Buffer.from(c))
      await quiet(2)
      const held = (s as unknown as { reader: { acc: { length: number } } }).reader.acc.length
      return errors === 0 && held <= 1024 && g.size === 0
    }),
    { numRuns: 200, seed: 24 },
  )
  t.pass(`${runs} runs`)
  t.end()
})
