/**
 * Wire v2 frames: what the frame encoder writes, the frame reader gives
 * back exactly as JSON would (whatever the chunking); what a peer may
 * write that is not a well-formed frame of JSON-model MessagePack values
 * is refused with a reason, counted, and costs memory bounded by the
 * frame limit; the reader never throws.
 */
import test from 'tape'
import fc from 'fast-check'
import { Buffer } from 'node:buffer'
import { isDeepStrictEqual } from 'node:util'
import { Packr, Unpackr } from 'msgpackr'
import { FrameReader, FRAME_HEADER } from '../../lib/codec/frame-reader.ts'
import { FrameEncoder, FRAME_TARGET } from '../../lib/codec/wire-format.ts'
import type { WireMessage } from '../../lib/protocol/messages.ts'
import { frame } from '../support/frames.ts'

interface Out {
  objects: object[]
  refused: string[]
}

function read(chunks: Buffer[], max = 1 << 20): Out & { reader: FrameReader } {
  const out: Out = { objects: [], refused: [] }
  const reader = new FrameReader(max, (o) => out.objects.push(o), (reason) => out.refused.push(reason))
  for (const c of chunks) reader.feed(c)
  reader.end()
  return { ...out, reader }
}

function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of points) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  out.push(bytes.subarray(prev))
  return out
}

const encode = (msgs: object[]): Buffer => {
  const e = new FrameEncoder()
  let sum = 0
  for (const m of msgs) sum += e.put(m as WireMessage)
  const chunk = e.take() ?? Buffer.alloc(0)
  if (chunk.length !== sum + e.overhead) throw new Error(`byte count ${sum} + ${e.overhead} is not the chunk's ${chunk.length}`)
  return chunk
}

/** What JSON makes of `o`: the reference every codec must match. */
const viaJson = (o: object) => JSON.parse(JSON.stringify(o))

test('property: any JSON objects, any chunking: frames decode to what JSON gives', (t) => {
  fc.assert(
    fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), (objs, at) => {
      const bytes = encode(objs)
      const got = read(cut(bytes, at))
      return got.refused.length === 0 && isDeepStrictEqual(got.objects, objs.map(viaJson))
    }),
    { numRuns: 300 },
  )
  t.pass('300 runs')
  t.end()
})

test('values JSON keeps and MessagePack alone would change arrive as JSON gives them', (t) => {
  const tricky = [
    JSON.parse('{"key":"__proto__","value":{"__proto__":{"digest":true}},"source_id":"A","version":1}'),
    { key: 'lone', value: 'a\ud800b', source_id: 'A\udfff', version: 2 },
    { key: 'k', value: { '\ud83d': ['\ude00'] }, source_id: 'A', version: 3 },
    { key: 'big', value: [2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 32 + 1, -(2 ** 31) - 1, 0.1, -0, 1e300], source_id: 'A', version: 4 },
    { key: 'é€😀', value: 'x'.repeat(70_000), source_id: 'A', version: 5 },
  ]
  const got = read([encode(tricky)])
  t.deepEqual(got.refused, [], 'nothing refused')
  t.ok(isDeepStrictEqual(got.objects, tricky.map(viaJson)), 'every object as JSON gives it')
  const proto = got.objects[0] as { value: object }
  t.ok(Object.prototype.hasOwnProperty.call(proto.value, '__proto__') && Object.getPrototypeOf(proto.value) === Object.prototype, '__proto__ is an own data property, the prototype untouched')
  t.end()
})

test('frames are cut at 64 KiB of body; one larger message has a frame to itself', (t) => {
  const msgs = Array.from({ length: 3000 }, (_, i) => ({ key: 'key-' + i, value: { i, pad: 'p'.repeat(40) }, source_id: 'A', version: i + 1 }))
  msgs.splice(1000, 0, { key: 'huge', value: { i: -1, pad: 'h'.repeat(200_000) }, source_id: 'A', version: 99_999 })
  const bytes = encode(msgs)
  const sizes: number[] = []
  for (let at = 0; at < bytes.length; ) {
    const n = bytes.readUInt32BE(at)
    sizes.push(n)
    at += FRAME_HEADER + n
  }
  t.ok(sizes.length > 3, `${sizes.length} frames`)
  t.equal(sizes.filter((n) => n > FRAME_TARGET).length, 1, 'only the frame of the one large message is over the target')
  const got = read([bytes])
  t.equal(got.objects.length, msgs.length, 'every message read back')
  t.equal(got.reader.stats.frames, sizes.length, 'frames counted')
  t.end()
})

test('refused: an over-long frame (skipped without being held), then the next frame reads', (t) => {
  const good = encode([{ key: 'k', value: 1, source_id: 'A', version: 1 }])
  const header = Buffer.alloc(4)
  header.writeUInt32BE(0xffff_fff0)
  // The claimed 4 GiB never arrives: the reader holds nothing of it.
  const r = read([header, Buffer.alloc(100_000, 7)], 1000)
  t.deepEqual(r.refused, ['frame longer than 1000 bytes'], 'reported once, with the limit')
  t.equal(r.reader.stats.invalid, 1, 'counted')
  const big = frame(Buffer.alloc(5000, 0xc0))
  const after = read([...cut(Buffer.concat([big, good]), [3, 700, 5003])], 1000)
  t.deepEqual(after.refused, ['frame longer than 1000 bytes'], 'the long frame refused')
  t.deepEqual(after.objects, [{ key: 'k', value: 1, source_id: 'A', version: 1 }], 'the frame after it decoded')
  t.end()
})

test('refused: bodies outside the JSON model or malformed, each with its reason; values before the bad one are kept', (t) => {
  const ok = [0x81, 0xa1, 0x61, 0x01] // {a: 1}
  const cases: [string, number[], RegExp][] = [
    ['an extension (a date)', [0xd6, 0xff, 0, 0, 0, 1], /extensions are not accepted/],
    ['a record definition (msgpackr)', [0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01], /extensions are not accepted/],
    ['binary data', [0xc4, 0x01, 0x00], /binary data/],
    ['the unused byte 0xc1', [0xc1], /0xc1/],
    ['a truncated string', [0xd9, 0x20, 0x61], /truncated/],
    ['an array claiming 4 billion elements', [0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0], /truncated/],
    ['a map claiming 65535 entries', [0xde, 0xff, 0xff, 0xa1, 0x61], /truncated/],
    ['a map with a number for key', [0x81, 0x01, 0x01], /map key is not a string/],
    ['a 64-bit integer past 2^53', [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /safe range/],
    ['nesting 10,000 deep', Array(10_000).fill(0x91).concat([0xc0]), /nested too deeply/],
  ]
  for (const [what, body, reason] of cases) {
    const r = read([frame([...ok, ...body, ...ok])])
    t.ok(r.refused.length === 1 && reason.test(r.refused[0]), `${what}: refused (${r.refused.join('; ')})`)
    t.deepEqual(r.objects, [{ a: 1 }], `${what}: the value before it kept, the rest of the frame dropped`)
  }
  const notObjects = read([frame([0x01, 0x90, 0xc0, 0xa3, 0x61, 0x62, 0x63, 0xa2, 0x7b, 0x7d])])
  t.deepEqual(notObjects.refused, ['expected an object, got number', 'expected an object, got an array', 'expected an object, got null', 'malformed JSON'], 'numbers, arrays, null and strings that are not JSON objects are refused one by one')
  t.deepEqual(notObjects.objects, [{}], 'a string of JSON object text is a message')
  const empty = read([frame([]), frame(ok), frame([])])
  t.deepEqual([empty.objects, empty.refused, empty.reader.stats.frames], [[{ a: 1 }], [], 3], 'empty frames carry nothing, even last in the input')
  const cutShort = read([frame(ok).subarray(0, 5)])
  t.deepEqual(cutShort.refused, ['the input ended inside a frame'], 'input ending inside a frame is refused')
  t.end()
})

test('property: random bytes never throw; memory held stays within the frame limit', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), (chunks) => {
      const r = new FrameReader(256, () => {}, () => {})
      for (const c of chunks) {
        r.feed(Buffer.from(c))
        // The buffer that holds an unfinished frame.
        if ((r as unknown as { acc: { buf: Buffer } }).acc.buf.length > 256) return false
      }
      r.end()
      return r.stats.lines === r.stats.objects + r.stats.invalid
    }),
    { numRuns: 500 },
  )
  t.pass('500 runs')
  t.end()
})

test('msgpackr with record structures (its default) is refused whole: peers must send plain maps', (t) => {
  const withRecords = new Packr({ useRecords: true }).pack([{ a: 1 }, { a: 2 }])
  const body = Buffer.from(withRecords)
  const r = read([frame(body)])
  t.equal(r.objects.length, 0, 'nothing taken')
  t.equal(r.refused.length, 1, 'one refusal')
  t.end()
})

test('frames hold standard MessagePack: another implementation (msgpackr) reads what we write, we read what it writes', (t) => {
  const msgs = [
    { key: 'k', value: { i: 1, name: 'é', list: [1, -1, -200, 70_000, -70_000, 2 ** 40, 0.5, true, false, null] }, source_id: 'A', version: 1796086350927000 },
    { digest: true, source_id: 'A', version: 17, gen: 'g', gc: 3 },
    { digest: true, done: true, reply: true },
    { key: 'long', value: 'x'.repeat(300) + 'é'.repeat(40_000), source_id: 'A', version: 2, prev: 1 },
  ]
  const bytes = encode(msgs)
  const bodies: Buffer[] = []
  for (let at = 0; at < bytes.length; at += FRAME_HEADER + bytes.readUInt32BE(at)) bodies.push(bytes.subarray(at + FRAME_HEADER, at + FRAME_HEADER + bytes.readUInt32BE(at)))
  t.equal(bodies.length, 2, 'two frames (the long message has its own)')
  const theirs = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpackMultiple(Buffer.concat(bodies)) as object[]
  t.ok(isDeepStrictEqual(theirs, msgs.map(viaJson)), 'msgpackr decodes our frame body to the same messages')
  const packr = new Packr({ useRecords: false, variableMapSize: true })
  const back = read([frame(Buffer.concat(msgs.map((m) => packr.pack(m))))])
  t.ok(back.refused.length === 0 && isDeepStrictEqual(back.objects, msgs.map(viaJson)), 'and we decode what msgpackr packs (plain maps)')
  t.end()
})
