/**
 * A frame longer than `maxLineLength` is refused as an over-long line is:
 * reported once with its reason (the `invalid` event, counted toward the
 * invalid budget), its bytes skipped without being held, the link kept
 * (one refusal is within the budget), and what follows it read. The
 * reader holds at most the limit whatever the frame claims and however its
 * bytes are cut; a peer declaring 4 GiB holds nothing.
 */
import test from 'tape'
import fc from 'fast-check'
import { Buffer } from 'node:buffer'
import { FrameReader } from '../../lib/codec/frame-reader.ts'
import type { GrowBuffer } from '../../lib/codec/grow-buffer.ts'
import { LineReader } from '../../lib/codec/line-reader.ts'
import { FrameEncoder } from '../../lib/codec/wire-format.ts'
import { Network, listen } from '../../lib/net.ts'
import type { WireMessage } from '../../lib/protocol/messages.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, waitFor } from '../support/streams.ts'

const LIMIT = 4096

/** Bytes the reader holds for an unfinished frame or line (its buffer's size). */
const heldBy = (r: FrameReader | LineReader) => ((r as unknown as { acc: GrowBuffer }).acc as unknown as { buf: Buffer }).buf.length

function header(n: number): Buffer {
  const h = Buffer.alloc(4)
  h.writeUInt32BE(n)
  return h
}

test('property: frames claiming any length, cut anyhow: the reader holds at most the limit and refuses each over-long frame once', (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 3 * LIMIT }), fc.constant(0xffff_ffff)), { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 30 }), (claims, cuts) => {
        const refused: string[] = []
        const r = new FrameReader(LIMIT, () => {}, (reason) => refused.push(reason))
        // Each claimed frame, then as many of its bytes as the cuts give (nil values).
        let most = 0
        let over = 0
        for (const claim of claims) {
          r.feed(header(claim))
          if (claim > LIMIT) over++
          let sent = 0
          for (const c of cuts) {
            const n = Math.min(c, claim - sent, 20_000)
            if (n <= 0) break
            r.feed(Buffer.alloc(n, 0xc0))
            sent += n
            most = Math.max(most, heldBy(r))
          }
          if (sent < claim) break // the rest never comes
        }
        const reported = refused.filter((x) => x === `frame longer than ${LIMIT} bytes`).length
        return most <= LIMIT && reported === over
      }),
    { seed: 3, numRuns: 300 },
  )
  t.pass('300 runs')
  t.end()
})

test('an over-long frame and an over-long line under the same limit: one refusal each, nothing held, the next message read', (t) => {
  const msg = { key: 'k', value: 1, source_id: 'A', version: 1 }
  const lines = { got: [] as object[], refused: [] as string[] }
  const lr = new LineReader(LIMIT, (o) => lines.got.push(o), (reason) => lines.refused.push(reason))
  lr.feed(Buffer.from('{"key":"' + 'x'.repeat(3 * LIMIT)))
  const lineHeld = heldBy(lr)
  lr.feed(Buffer.from('"}\n' + JSON.stringify(msg) + '\n'))
  const frames = { got: [] as object[], refused: [] as string[] }
  const fr = new FrameReader(LIMIT, (o) => frames.got.push(o), (reason) => frames.refused.push(reason))
  fr.feed(header(3 * LIMIT))
  fr.feed(Buffer.alloc(3 * LIMIT - 10, 0xc0))
  const frameHeld = heldBy(fr)
  const enc = new FrameEncoder()
  enc.put(msg as WireMessage)
  fr.feed(Buffer.concat([Buffer.alloc(10, 0xc0), enc.take()!]))
  t.deepEqual(lines.refused, [`line longer than ${LIMIT} bytes`], 'the line: one refusal')
  t.deepEqual(frames.refused, [`frame longer than ${LIMIT} bytes`], 'the frame: one refusal')
  t.deepEqual([lineHeld, frameHeld], [0, 0], 'neither held while it was being skipped')
  t.deepEqual([lr.stats.invalid, fr.stats.invalid], [1, 1], 'each counted once')
  t.deepEqual([lines.got, frames.got], [[msg], [msg]], 'and the message after each is read')
  t.end()
})

test('over a link: an over-long line (wire 1) and an over-long frame (wire 2) get the same event, count and link behaviour', async (t) => {
  const v = node('v')
  const net = new Network(v, { wire: 2, interval: 50, maxLineLength: LIMIT, invalidBudget: 5, helloTimeout: 2000 })
  const invalid: string[] = []
  net.on('invalid', (_peer: unknown, reason: string) => invalid.push(reason))
  const { port } = await listen(net, { port: 0, host: '127.0.0.1' })
  try {
    const w1 = await HostileClient.open({ port, id: 'w1', time: 0 })
    const w2 = await HostileClient.open({ port, id: 'w2', wire: 2, time: 0 })
    await w1.send(['{"key":"' + 'x'.repeat(64 * LIMIT) + '"}', JSON.stringify({ key: 'after1', value: 1, source_id: 'w1', version: 1 })])
    await w2.sendBytes(Buffer.concat([header(64 * LIMIT), Buffer.alloc(64 * LIMIT, 0xc0)]))
    const enc = new FrameEncoder()
    enc.put({ key: 'after2', value: 2, source_id: 'w2', version: 1 } as WireMessage)
    await w2.sendBytes(enc.take()!)
    await waitFor(() => invalid.length >= 2 && v.get('after1').value === 1 && v.get('after2').value === 2, 10_000, 'both refusals and both messages after them')
    t.deepEqual([...invalid].sort(), [`frame longer than ${LIMIT} bytes`, `line longer than ${LIMIT} bytes`], 'one invalid event each, with the limit')
    t.equal(net.stats.invalid, 0, 'neither link closed for it (one refusal is within the budget)')
    t.ok(!w1.socket.destroyed && !w2.socket.destroyed, 'both links still open')
    w1.close()
    w2.close()
  } finally {
    await net.close()
    v.destroy()
  }
  t.end()
})
