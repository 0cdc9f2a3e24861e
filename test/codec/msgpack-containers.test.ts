/**
 * MessagePack arrays and maps are budgeted by the bytes left: every
 * element still owed, by the container being read and by every container
 * around it, takes at least one byte (a map entry two), so a container
 * claiming more than the rest of the input can hold is refused at its
 * header, before anything is allocated for it or read into it. A frame's
 * containers, however nested, can then never allocate more slots than the
 * frame has bytes.
 */
import test from 'tape'
import fc from 'fast-check'
import { Buffer } from 'node:buffer'
import { MsgpackReader } from '../../lib/codec/msgpack.ts'
import { MsgpackWriter } from '../../lib/codec/msgpack-writer.ts'

function readAll(bytes: Buffer) {
  const values: unknown[] = []
  const refused: string[] = []
  new MsgpackReader().readAll(bytes, 0, bytes.length, (v) => values.push(v), (reason) => refused.push(reason))
  return { values, refused }
}

test('one container claiming 2^32 - 1 elements in a small input: refused at its header', (t) => {
  for (const [what, head] of [
    ['array', [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ['map', [0xdf, 0xff, 0xff, 0xff, 0xff]],
  ] as const) {
    const r = readAll(Buffer.from([...head, ...Array(100).fill(0xc0)]))
    t.equal(r.refused.length, 1, `${what}: refused`)
    t.match(r.refused[0], /^truncated value: an? (array|map) claims more (elements|entries) than the bytes left$/, `${what}: at its header (${r.refused[0]})`)
  }
  t.end()
})

test('nested containers each claiming what is left: refused at the second header, not after reading the innermost', (t) => {
  // [[x, x, x], x]: the inner array may take at most the bytes the outer one does not still need.
  const small = readAll(Buffer.from([0x92, 0x93, 0xc0, 0xc0, 0xc0]))
  t.match(small.refused[0] ?? '', /^truncated value: an array claims more elements than the bytes left$/, `[[3 elements], one more] in 5 bytes: refused at the inner header (${small.refused[0]})`)

  // 99 arrays one in another, each claiming nearly the whole 1 MiB frame: a
  // reader that budgets each alone allocates 99 arrays of a million slots
  // (800 MB) and reads a million nils before it finds the lie.
  const size = 1 << 20
  const body = Buffer.alloc(size, 0xc0)
  for (let i = 0; i < 99; i++) {
    body[5 * i] = 0xdd
    body.writeUInt32BE(size - 5 * 99 - 10, 5 * i + 1)
  }
  const heapBefore = process.memoryUsage().heapUsed
  const big = readAll(body)
  const grew = process.memoryUsage().heapUsed - heapBefore
  t.equal(big.refused.length, 1, 'refused')
  t.match(big.refused[0] ?? '', /^truncated value: an array claims more elements than the bytes left$/, `at the second header (${big.refused[0]})`)
  t.ok(grew < 64 * 1024 * 1024, `the heap grew ${Math.round(grew / 1e6)} MB (one array of the frame's size at most)`)

  // Maps alike: an entry takes two bytes at least.
  const maps = readAll(Buffer.from([0x82, 0xa1, 0x61, 0x82, 0xa1, 0x62, 0xc0, 0xa1, 0x64]))
  t.match(maps.refused[0] ?? '', /^truncated value: a map claims more entries than the bytes left$/, `{a: {2 entries}, one more entry} without the room: refused at the inner header (${maps.refused[0]})`)
  t.end()
})

test('property: what the writer writes is read whole, however nested (the budget refuses no honest value)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue({ maxDepth: 6 }), { maxLength: 6 }), (vals) => {
      const w = new MsgpackWriter()
      for (const v of vals) w.message(v as object)
      const r = readAll(w.take())
      return r.refused.length === 0 && r.values.length === vals.length
    }),
    { seed: 4, numRuns: 500 },
  )
  t.pass('500 runs')
  t.end()
})
