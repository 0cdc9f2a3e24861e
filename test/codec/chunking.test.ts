/**
 * One framing definition: however the bytes of a stream are cut into
 * chunks, the line reader yields the same objects and the same refusals,
 * and line limits are counted in bytes. A property over random chunkings of
 * random line mixes, plus the cases that once differed.
 */
import test from 'tape'
import fc from 'fast-check'
import { LineReader } from '../../lib/codec/ndjson.ts'
import { Gossip, base } from '../../lib/index.ts'
import { quiet } from '../support/streams.ts'

function read(chunks: Buffer[], maxLineLength: number): string[] {
  const out: string[] = []
  const r = new LineReader(
    maxLineLength,
    (o) => out.push('obj ' + JSON.stringify(o)),
    (reason) => out.push('bad ' + reason),
  )
  for (const c of chunks) r.feed(c)
  r.end()
  return out
}

/** `bytes` cut at the given positions (sorted, deduplicated, within range). */
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

const lineArb = fc.oneof(
  fc.json().filter((j) => !j.includes('\n')),
  fc.object({ maxDepth: 2 }).map((o) => JSON.stringify(o)),
  fc.constantFrom('{"a":[{}', '{}]},{}', '{"k":"é€😀"}', '{"a":1},{"b":2}', '{"a":"', '"}', '', '\r', '{"x":1}\r', '[1,2]', 'null', '{', '}'),
  fc.string({ maxLength: 40 }).filter((x) => !x.includes('\n')),
)

test('property: any chunking of any lines decodes exactly as the whole input and as single bytes', (t) => {
  fc.assert(
    fc.property(fc.array(lineArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 4, max: 200 }), (lines, at, limit) => {
      const bytes = Buffer.from(lines.join('\n') + (lines.length > 0 ? '\n' : ''), 'utf8')
      const whole = read([bytes], limit)
      const chunked = read(cut(bytes, at), limit)
      const single = read([...bytes].map((b) => Buffer.from([b])), limit)
      return JSON.stringify(chunked) === JSON.stringify(whole) && JSON.stringify(single) === JSON.stringify(whole)
    }),
    { numRuns: 400, seed: 20261201 },
  )
  t.pass('400 random inputs: every chunking agrees')
  t.end()
})

test('lines that once decoded differently by chunking are each refused on their own', (t) => {
  const bytes = Buffer.from('{"a":[{}\n{}]},{}\n', 'utf8')
  const whole = read([bytes], 1000)
  t.deepEqual(whole, ['bad malformed JSON', 'bad malformed JSON'], 'as one chunk: two malformed lines, not objects spanning lines')
  t.deepEqual(read([...bytes].map((b) => Buffer.from([b])), 1000), whole, 'byte by byte: the same')
  const trap = Buffer.from('{"a":1}],[{"b":"x\n{"c":"y"}\n', 'utf8')
  t.deepEqual(read([trap], 1000), ['bad malformed JSON', 'obj {"c":"y"}'], 'a line with "],[" does not merge with the next')
  t.end()
})

test('line limits count bytes, not UTF-16 units', (t) => {
  const line = JSON.stringify({ k: 'é'.repeat(55) }) // 63 UTF-16 units, 118 bytes
  t.ok(line.length <= 100 && Buffer.byteLength(line) > 100, `${line.length} units, ${Buffer.byteLength(line)} bytes`)
  t.match(read([Buffer.from(line + '\n')], 100)[0], /^bad line longer than 100 bytes/, 'refused under a 100-byte limit')
  t.match(read([Buffer.from(line + '\n')], 200)[0], /^obj /, 'accepted under a 200-byte limit')
  t.end()
})

test('a wire stream counts the bytes it sends, as bytes', async (t) => {
  const g = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers, now: () => 0 })
  for (let i = 0; i < 100; i++) g.set(`k${i}`, '€'.repeat(50))
  const s = g.createWireStream()
  let got = 0
  s.on('data', (d: Buffer) => (got += d.length))
  s.write('{"digest":true,"done":true}\n')
  await quiet(50)
  t.ok(got > 15_000, `${got} bytes came out`)
  t.equal(s.stats.bytesOut, got, 'and stats.bytesOut says exactly that many')
  s.destroy()
  t.end()
})
