/**
 * Bytes that arrive a few at a time cost about their own length: an
 * unfinished line, frame, membership line or hello sent a byte per write
 * is held in one buffer, not one object per piece.
 */
import test from 'tape'
import { Buffer } from 'buffer'
import { GrowBuffer } from '../../lib/codec/grow-buffer.ts'
import { LineReader } from '../../lib/codec/line-reader.ts'
import { FrameReader } from '../../lib/codec/frame-reader.ts'
import { LineSplitter } from '../../lib/transport/line-split.ts'

const capacity = (g: GrowBuffer) => (g as unknown as { buf: Buffer }).buf.length

test('grow buffer: 100,000 one-byte appends are held in at most twice their length, and read back whole', (t) => {
  const g = new GrowBuffer()
  const one = Buffer.from('x')
  for (let i = 0; i < 100_000; i++) g.append(one)
  t.equal(g.length, 100_000, 'every byte held')
  t.ok(capacity(g) <= 200_000, `one buffer of ${capacity(g)} bytes`)
  t.equal(g.view().toString(), 'x'.repeat(100_000), 'the bytes, in order')
  g.clear()
  t.equal(g.length, 0, 'cleared')
  t.ok(capacity(g) < 64 * 1024, 'a large buffer is let go when cleared')
  t.end()
})

test('a line, a frame and a membership line sent a byte at a time are held in one buffer each', (t) => {
  const got: object[] = []
  const lines = new LineReader(1 << 20, (o) => got.push(o), () => t.fail('no invalid line'))
  const text = Buffer.from(JSON.stringify({ key: 'k', value: 'v'.repeat(50_000) }) + '\n')
  for (let i = 0; i < text.length - 1; i++) lines.feed(text.subarray(i, i + 1))
  const acc = (lines as unknown as { acc: GrowBuffer }).acc
  t.ok(capacity(acc) <= 2 * acc.length, `the unfinished line (${acc.length} bytes) is held in ${capacity(acc)} bytes`)
  lines.feed(text.subarray(text.length - 1))
  t.equal(got.length, 1, 'and decodes whole when its newline comes')

  const frames = new FrameReader(1 << 20, () => {}, () => {})
  const body = Buffer.alloc(40_000, 0xc0) // msgpack nils
  const frame = Buffer.concat([Buffer.from([0, 0, 0x9c, 0x40]), body])
  for (let i = 0; i < frame.length - 1; i++) frames.feed(frame.subarray(i, i + 1))
  const facc = (frames as unknown as { acc: GrowBuffer }).acc
  t.ok(facc.length > 30_000 && capacity(facc) <= 2 * facc.length, `the unfinished frame (${facc.length} bytes) is held in ${capacity(facc)} bytes`)

  const mb: string[] = []
  const split = new LineSplitter((l) => mb.push(l), () => t.fail('no invalid membership line'), 1 << 20)
  split.resume()
  const line = Buffer.from('{"mb":' + JSON.stringify({ x: 'y'.repeat(30_000) }) + '}\n')
  for (let i = 0; i < line.length - 1; i++) split.write(line.subarray(i, i + 1))
  const macc = (split as unknown as { acc: GrowBuffer }).acc
  t.ok(capacity(macc) <= 2 * macc.length, `the unfinished membership line (${macc.length} bytes) is held in ${capacity(macc)} bytes`)
  t.equal(split.bytesIn, line.length - 1, 'and its bytes count as they arrive (a slow line is progress)')
  split.write(line.subarray(line.length - 1))
  t.equal(mb.length, 1, 'it is delivered whole')
  t.end()
})

test('grow buffer: it does not double past its cap, though an append always fits', (t) => {
  const g = new GrowBuffer(1000)
  for (let i = 0; i < 900; i++) g.append(Buffer.from('y'))
  t.ok(capacity(g) <= 1000, `900 bytes in ${capacity(g)} (cap 1000)`)
  g.append(Buffer.alloc(500))
  t.equal(g.length, 1400, 'an append past the cap still fits')
  t.end()
})
