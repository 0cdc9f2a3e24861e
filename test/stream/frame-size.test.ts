/**
 * Frames a node sends fit the frame limit it reads with (`maxLineLength`,
 * which a cluster sets alike on every node): a frame of several messages
 * is cut before it would pass the lower of 64 KiB and that limit, so only
 * a single message over the limit makes a frame a peer refuses, as only
 * such a message makes a line over it.
 */
import test from 'tape'
import { Buffer } from 'node:buffer'
import { FrameEncoder, FRAME_TARGET } from '../../lib/codec/wire-format.ts'
import { FRAME_HEADER } from '../../lib/codec/frame-reader.ts'
import type { WireMessage } from '../../lib/protocol/messages.ts'
import { node, quiet, until } from '../support/streams.ts'

function frameSizes(bytes: Buffer): number[] {
  const sizes: number[] = []
  for (let at = 0; at < bytes.length; at += FRAME_HEADER + bytes.readUInt32BE(at)) sizes.push(bytes.readUInt32BE(at))
  return sizes
}

test('the frame encoder cuts frames at the target it is given (64 KiB by default); one larger message has a frame to itself', (t) => {
  const msgs = Array.from({ length: 500 }, (_, i) => ({ key: 'k' + i, value: 'v'.repeat(100), source_id: 'A', version: i + 1 }) as WireMessage)
  for (const target of [FRAME_TARGET, 16 * 1024, 1000]) {
    const e = new FrameEncoder(target)
    for (const m of msgs) e.put(m)
    e.put({ key: 'big', value: 'x'.repeat(2 * target), source_id: 'A', version: 999 } as WireMessage)
    const sizes = frameSizes(e.take()!)
    t.equal(sizes.filter((n) => n > target).length, 1, `target ${target}: ${sizes.length} frames, only the one of the large message over it`)
  }
  t.end()
})

test('two nodes on wire 2 with maxLineLength 16 KiB and a large mtu: every record arrives, no frame refused', async (t) => {
  for (const wire of [1, 2] as const) {
    const a = node('a' + wire, { mtu: 1000 })
    const b = node('b' + wire, { mtu: 1000 })
    const sa = a.createWireStream({ wire, maxLineLength: 16 * 1024 })
    const sb = b.createWireStream({ wire, maxLineLength: 16 * 1024 })
    const refused: string[] = []
    b.on('invalid', (reason: string) => refused.push(reason))
    sa.pipe(sb).pipe(sa)
    for (let i = 0; i < 2000; i++) a.set('key' + i, { i, pad: 'p'.repeat(50) })
    sa.gossip()
    await until(() => b.size === 2000 || refused.length > 0, 10_000, 'every record, or a refusal')
    t.equal(b.size, 2000, `wire ${wire}: every record arrived`)
    t.deepEqual(refused.slice(0, 3), [], `wire ${wire}: nothing refused`)
    a.destroy()
    b.destroy()
  }
  t.end()
})

test('frames fit the peer\'s limit (peerMaxLineLength) when it is lower; a single message over it is refused alone, passed over, and holds nothing back', async (t) => {
  for (const wire of [1, 2] as const) {
    const a = node('a' + wire, { mtu: 100 })
    const b = node('b' + wire, { mtu: 100 })
    const sa = a.createWireStream({ wire, peerMaxLineLength: 16 * 1024 })
    const sb = b.createWireStream({ wire, maxLineLength: 16 * 1024 })
    const refused: string[] = []
    b.on('invalid', (reason: string) => refused.push(reason))
    sa.pipe(sb).pipe(sa)
    for (let i = 0; i < 50; i++) {
      a.set('k' + i, { i, pad: 'p'.repeat(50) })
      if (i === 25) a.set('big', 'x'.repeat(20_000))
    }
    sa.gossip()
    await until(() => b.size === 50, 10_000, 'the 50 small records')
    for (let round = 0; round < 5; round++) {
      sa.gossip()
      sb.gossip()
      await quiet()
    }
    t.equal(b.size, 50, `wire ${wire}: the 50 small records arrived, written before and after the large one`)
    t.equal(b.get('big').version, -Infinity, `wire ${wire}: the large one did not`)
    t.equal(refused.length, 1, `wire ${wire}: it was refused once, not sent again every exchange`)
    t.match(refused[0] ?? '', wire === 1 ? /line longer than 16384/ : /frame longer than 16384/, `wire ${wire}: as over-long (${refused[0]})`)
    a.destroy()
    b.destroy()
  }
  t.end()
})

test('a peer claiming the smallest reader limit (1 byte) gets every message, each in a frame of its own, none lost or split', (t) => {
  const msgs = Array.from({ length: 50 }, (_, i) => ({ key: 'k' + i, value: i, source_id: 'A', version: i + 1 }) as WireMessage)
  const e = new FrameEncoder(1)
  let bytes = 0
  for (const m of msgs) bytes += e.put(m)
  const sizes = frameSizes(e.take()!)
  t.equal(sizes.length, msgs.length, 'one frame per message')
  t.equal(sizes.reduce((a, b) => a + b, 0), bytes, 'their bodies hold every message byte, nothing dropped')
  t.end()
})
