/**
 * Two ends speaking different wire formats (ndjson, wire 1, at one end;
 * frames, wire 2, at the other) are told so: the reader looks at the start
 * of the stream only, and its refusal says which format the peer likely
 * speaks, instead of only "frame longer than..." or nothing at all.
 */
import test from 'tape'
import { Buffer } from 'node:buffer'
import { FrameReader } from '../../lib/codec/frame-reader.ts'
import { LineReader } from '../../lib/codec/line-reader.ts'
import { makeEncoder } from '../../lib/codec/wire-format.ts'
import { node } from '../support/streams.ts'

const DIGEST = { digest: true, source_id: 'a', version: 5 }

function encoded(wire: 1 | 2): Buffer {
  const enc = makeEncoder(wire, 1 << 20)
  enc.put(DIGEST as never)
  enc.put({ digest: true, end: true } as never)
  return Buffer.from(enc.take()!)
}

function reasons(Reader: typeof FrameReader | typeof LineReader, chunks: Buffer[]) {
  const refused: string[] = []
  const objects: object[] = []
  const r = new Reader(1 << 20, (o) => objects.push(o), (reason) => refused.push(reason))
  for (const c of chunks) r.feed(c)
  return { refused, objects, stats: r.stats }
}

test('a frame reader given ndjson says the peer likely speaks ndjson (wire 1)', (t) => {
  const bytes = encoded(1)
  for (const chunks of [[bytes], [bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)]]) {
    const r = reasons(FrameReader, chunks)
    t.equal(r.refused.length, 1, 'one refusal')
    t.match(r.refused[0], /^frame longer than 1048576 bytes.*'\{"'.*ndjson \(wire 1\)\?/, 'with the hint: ' + r.refused[0])
  }
  t.end()
})

test('a line reader given frames says the peer likely speaks frames (wire 2), once, and lines stay counted', (t) => {
  const bytes = encoded(2)
  for (const chunks of [[bytes], [bytes.subarray(0, 1), bytes.subarray(1)]]) {
    const r = reasons(LineReader, chunks)
    t.ok(r.refused.length >= 1, 'refused')
    t.match(r.refused[0], /frame header.*frames \(wire 2\)\?/, 'with the hint: ' + r.refused[0])
    t.equal(r.refused.filter((x) => /wire 2/.test(x)).length, 1, 'the hint once')
    t.equal(r.stats.lines, r.stats.objects + r.stats.invalid, 'lines = objects + invalid')
  }
  t.end()
})

test('only the start is looked at: the same readers take their own format, and later bytes get no hint', (t) => {
  t.deepEqual(reasons(FrameReader, [encoded(2)]).refused, [], 'frames read by the frame reader')
  t.deepEqual(reasons(LineReader, [encoded(1)]).refused, [], 'lines read by the line reader')
  const later = reasons(LineReader, [encoded(1), Buffer.from([0, 0, 0, 9, 10])])
  t.equal(later.refused.length, 1, 'a bad line later is refused')
  t.doesNotMatch(later.refused[0], /wire 2/, 'without the start-of-stream hint')
  t.end()
})

test('createWireStream with wire 2 at one end and wire 1 at the other: both ends say what is likely wrong', async (t) => {
  const a = node('a')
  const b = node('b')
  const seen: string[] = []
  a.on('invalid', (r: string) => seen.push('a: ' + r))
  b.on('invalid', (r: string) => seen.push('b: ' + r))
  const sa = a.createWireStream({ wire: 2 })
  const sb = b.createWireStream()
  sa.pipe(sb).pipe(sa)
  a.set('x', 1)
  b.set('y', 2)
  sa.gossip()
  sb.gossip()
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  t.ok(seen.some((s) => /^a: .*ndjson \(wire 1\)\?/.test(s)), 'the wire 2 end: the peer speaks ndjson?')
  t.ok(seen.some((s) => /^b: .*frames \(wire 2\)\?/.test(s)), 'the wire 1 end: the peer speaks frames?')
  a.destroy()
  b.destroy()
  t.end()
})
