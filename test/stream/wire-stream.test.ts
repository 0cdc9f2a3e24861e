/**
 * A wire stream leaves superseded records out: a record linked right onto
 * the last one queued, of the same source and key, takes its place before
 * the turn's output is encoded, with the earlier record's link. The peer
 * still follows the chain (its clock covers every write), over ndjson and
 * over frames; lossy links and records of other keys are never merged.
 */
import test from 'tape'
import { PassThrough } from 'node:stream'
import type { Gossip, WireStream } from '../../lib/index.ts'
import { FrameReader } from '../../lib/codec/frame-reader.ts'
import { node, turn, until } from '../support/streams.ts'

/** a and b over wire streams, with every message a sent decoded into `sent`. */
async function joined(wire: 1 | 2, lossy = false) {
  let time = 1_000
  const now = () => time++
  const a = node('A', { now, lossy })
  const b = node('B', { now, lossy })
  const sa = a.createWireStream({ wire })
  const sb = b.createWireStream({ wire })
  const sent: Record<string, unknown>[] = []
  const tap = new PassThrough()
  let rest = ''
  const frames = new FrameReader(1 << 20, (o) => sent.push(o as Record<string, unknown>), () => {})
  tap.on('data', (chunk: Buffer) => {
    if (wire === 2) return frames.feed(chunk)
    const lines = (rest + chunk.toString('utf8')).split('\n')
    rest = lines.pop()!
    for (const l of lines) sent.push(JSON.parse(l))
  })
  sa.pipe(tap).pipe(sb).pipe(sa)
  sa.gossip()
  await until(() => sa.stats.digestsReceived > 0 && sb.stats.digestsReceived > 0, 1000, 'first exchange')
  for (let i = 0; i < 5; i++) await turn()
  sent.length = 0
  return { a, b, sa, sb, sent }
}

const updates = (sent: Record<string, unknown>[]) => sent.filter((m) => m.digest !== true)
const settled = async (a: Gossip, b: Gossip, sa: WireStream) => {
  await until(() => b.clock.get('A') === a.clock.get('A'), 1000, "b covers a's writes")
  return sa
}

for (const wire of [1, 2] as const) {
  test(`wire ${wire}: a key written 1,000 times in one turn leaves as one update, linked where the first write was`, async (t) => {
    const { a, b, sa, sb, sent } = await joined(wire)
    a.set('other', 0)
    await turn()
    const before = a.clock.get('A')
    for (let i = 0; i < 1000; i++) a.set('hot', { i })
    await settled(a, b, sa)
    const ups = updates(sent).filter((m) => m.key === 'hot')
    t.equal(ups.length, 1, 'one update of the key went out')
    t.deepEqual(ups[0].value, { i: 999 }, 'the last value')
    t.equal(ups[0].prev, before, `linked onto the write before the run (${before})`)
    t.equal(sa.stats.merged, 999, '999 merged, counted')
    t.equal(b.clock.get('A'), a.clock.get('A'), "b's clock covers every write: the chain held")
    t.deepEqual(b.get('hot').value, { i: 999 }, 'b holds the last value')
    t.equal(sb.stats.staleDropped, 0, 'nothing dropped')
    for (const g of [a, b]) g.destroy()
    t.end()
  })

  test(`wire ${wire}: runs of one key merge, other keys in between stop a run, and the chain still holds`, async (t) => {
    const { a, b, sa, sent } = await joined(wire)
    const plan = ['x', 'x', 'x', 'y', 'y', 'x', 'z', 'x', 'y']
    plan.forEach((k, i) => a.set(k, i))
    await settled(a, b, sa)
    t.deepEqual(updates(sent).map((m) => [m.key, m.value]), [['x', 2], ['y', 4], ['x', 5], ['z', 6], ['x', 7], ['y', 8]], 'each run left as its last write, in order')
    t.equal(sa.stats.merged, 3, '3 merged')
    const sentUps = updates(sent)
    for (let i = 1; i < sentUps.length; i++) {
      if (sentUps[i].prev !== sentUps[i - 1].version) t.fail(`update ${i} is linked onto ${String(sentUps[i].prev)}, not the one before (${String(sentUps[i - 1].version)})`)
    }
    t.equal(b.clock.get('A'), a.clock.get('A'), "b's clock covers every write")
    t.deepEqual(['x', 'y', 'z'].map((k) => b.get(k).value), [7, 8, 6], 'b holds the last value of each key')
    for (const g of [a, b]) g.destroy()
    t.end()
  })

  test(`wire ${wire}: writes in different turns are not merged (the first had left)`, async (t) => {
    const { a, b, sa, sent } = await joined(wire)
    a.set('hot', 1)
    await turn()
    a.set('hot', 2)
    await settled(a, b, sa)
    t.deepEqual(updates(sent).map((m) => m.value), [1, 2], 'both went out')
    t.equal(sa.stats.merged, 0, 'none merged')
    for (const g of [a, b]) g.destroy()
    t.end()
  })
}

test('lossy links: nothing is merged (every object counts toward the link\'s sequence numbers)', async (t) => {
  const { a, b, sa, sent } = await joined(1, true)
  for (let i = 0; i < 5; i++) a.set('hot', i)
  for (let i = 0; i < 5 && b.get('hot').value !== 4; i++) {
    sa.gossip()
    for (let j = 0; j < 5; j++) await turn()
  }
  t.equal(sa.stats.merged, 0, 'none merged')
  t.ok(updates(sent).filter((m) => m.key === 'hot').length >= 5, 'every write went out')
  t.equal(b.get('hot').value, 4, 'b holds the last value')
  for (const g of [a, b]) g.destroy()
  t.end()
})

test('the held record counts toward the highWaterMark once the buffer is half full: set reports a full peer as before', async (t) => {
  const a = node('A')
  const b = node('B')
  const sa = a.createWireStream({ highWaterMark: 10_000 })
  const sb = b.createWireStream()
  sa.pipe(sb).pipe(sa)
  sa.gossip()
  await until(() => sa.stats.digestsReceived > 0 && sb.stats.digestsReceived > 0, 1000, 'first exchange')
  for (let i = 0; i < 5; i++) await turn()
  sa.unpipe(sb) // b stops reading a's output
  const big = 'x'.repeat(6_000)
  const returned = ['k1', 'k2', 'k3', 'k4'].map((k) => a.set(k, big))
  t.deepEqual(returned, [true, true, false, false], 'the third write finds the stream full (two 6 KB records against 10,000 bytes)')
  await turn()
  t.equal(sa.stats.pushesSent, 2, 'two pushes went out')
  t.ok(sa.waiting < 10_000 + 6_100, `the buffer went past the highWaterMark by at most one record (${sa.waiting} bytes)`)
  for (const g of [a, b]) g.destroy()
  t.end()
})
