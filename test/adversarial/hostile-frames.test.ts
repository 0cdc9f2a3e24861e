/**
 * A hostile peer that offers wire 2 in its hello, over plain TCP and
 * TLS-PSK (as a member), against a real node: over-long frames, frames
 * claiming gigabytes, MessagePack extensions and msgpackr record
 * definitions, bytes that are not MessagePack, and well-formed frames of
 * invalid messages. Each is refused with its reason and counted; the
 * invalid budget cuts the peer off; memory stays bounded; the node never
 * crashes and its honest peer keeps converging with it.
 */
import test from 'tape'
import { Buffer } from 'node:buffer'
import { Packr } from 'msgpackr'
import { FrameEncoder } from '../../lib/codec/wire-format.ts'
import { Network, connect, listen, type TlsOptions } from '../../lib/net.ts'
import type { Gossip } from '../../lib/index.ts'
import type { WireMessage } from '../../lib/protocol/messages.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, waitFor } from '../support/streams.ts'
import { frame } from '../support/frames.ts'

type Mode = 'plain' | 'psk'
const SECRET = 'correct horse battery staple'
const tlsFor = (mode: Mode): TlsOptions | undefined => (mode === 'psk' ? { secret: SECRET } : undefined)

async function world(mode: Mode) {
  const v = node('v', { mtu: 100 })
  const b = node('b', { mtu: 100 })
  for (let i = 0; i < 50; i++) b.set(`b${i}`, i)
  const vnet = new Network(v, { wire: 2, interval: 50, invalidBudget: 100, maxLineLength: 64 * 1024, helloTimeout: 1000 })
  const bnet = new Network(b, { wire: 2, interval: 50, backoff: { initial: 10, max: 50 } })
  const invalid: string[] = []
  v.on('invalid', (reason: string) => invalid.push(reason))
  const { port } = await listen(vnet, { port: 0, tls: tlsFor(mode) })
  connect(bnet, { host: '127.0.0.1', port, tls: tlsFor(mode) })
  await waitFor(() => v.size === 50, 20_000, 'v holds b\'s records')
  t0Check(vnet)
  return { v, b, vnet, bnet, port, invalid, close: async () => void (await Promise.all([vnet.close(), bnet.close()])) }
}

/** The honest link runs wire 2 (the hostile peer faces the same reader an honest one does). */
function t0Check(vnet: Network): void {
  const c = vnet.peers[0] as unknown as { stream: { wire: number } }
  if (c.stream.wire !== 2) throw new Error('the honest link is not on wire 2')
}

async function stillConverging(t: test.Test, v: Gossip, b: Gossip): Promise<void> {
  b.set('after', 1)
  v.set('v-after', 2)
  await waitFor(() => v.get('after').value === 1 && b.get('v-after').value === 2, 30_000, 'writes after the attack')
  t.pass('the honest nodes still replicate both ways')
}

for (const mode of ['plain', 'psk'] as Mode[]) {
  test(`${mode}: malformed and over-long frames are refused with reasons, counted, and cut off at the budget`, async (t) => {
    const w = await world(mode)
    try {
      const heapBefore = process.memoryUsage().heapUsed
      const h = await HostileClient.open({ port: w.port, tls: tlsFor(mode), wire: 2, time: 0 })
      // A frame claiming 4 GiB, then 3 MB of its bytes: skipped, never held.
      const huge = Buffer.alloc(4)
      huge.writeUInt32BE(0xffff_ff00)
      await h.sendBytes(huge)
      for (let i = 0; i < 3; i++) await h.sendBytes(Buffer.alloc(1 << 20, 0x41))
      await waitFor(() => w.invalid.some((r) => /^frame longer than 65536 bytes$/.test(r)), 10_000, 'the long frame refused')
      t.ok(process.memoryUsage().heapUsed - heapBefore < 32 * 1024 * 1024, 'the claimed 4 GiB cost no memory')
      t.ok(w.invalid.length === 1, 'one refusal for the whole frame')
      // The reader is lost inside the skipped frame until it ends: nothing is taken meanwhile.
      h.close()
      const h2 = await HostileClient.open({ port: w.port, tls: tlsFor(mode), wire: 2, time: 0 })
      const kinds = [
        Buffer.from([0xd6, 0xff, 0, 0, 0, 1]), // a date extension
        Buffer.from(new Packr({ useRecords: true }).pack([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }])), // records
        Buffer.from([0xc4, 0x02, 1, 2]), // binary data
        Buffer.from('this is not msgpack at all'),
        Buffer.from(Array(5000).fill(0x91)), // nesting
      ]
      const before = w.invalid.length
      for (const k of kinds) await h2.sendBytes(frame(k))
      await waitFor(() => w.invalid.length >= before + kinds.length, 10_000, 'each malformed frame refused')
      const reasons = w.invalid.slice(before)
      t.ok(reasons.some((r) => /extensions are not accepted/.test(r)), 'extensions and records refused')
      t.ok(reasons.some((r) => /binary data/.test(r)), 'binary data refused')
      t.ok(reasons.some((r) => /nested too deeply/.test(r)), 'deep nesting refused')
      // Then a flood: well-formed frames of invalid messages, checked one by one at the boundary.
      const enc = new FrameEncoder()
      for (let i = 0; i < 5000; i++) enc.put({ key: true, value: 1, source_id: 'x', version: 1 } as unknown as WireMessage)
      await h2.sendBytes(enc.take()!)
      const reason = await h2.closed
      t.ok(w.vnet.stats.invalid >= 1, `v cut the peer off at the invalid budget (${reason})`)
      const counted = w.invalid.filter((r) => r === 'update key must be a string or a finite number').length
      t.ok(counted >= 1 && counted <= 5000, `${counted} invalid messages counted before it did`)
      t.equal(w.v.records().filter((r) => r.source_id === 'x').length, 0, 'nothing of the invalid messages applied')
      await stillConverging(t, w.v, w.b)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: a frame of valid updates from a wire 2 peer is applied, exactly as JSON would carry it`, async (t) => {
    const w = await world(mode)
    try {
      const h = await HostileClient.open({ port: w.port, tls: tlsFor(mode), wire: 2, id: 'm', time: 0 })
      const enc = new FrameEncoder()
      const now = 1000
      enc.put({ digest: true, source_id: 'm', version: 0 })
      enc.put({ digest: true, done: true })
      for (let i = 0; i < 20; i++) enc.put({ key: `m${i}`, value: { i, s: 'a\ud800' }, source_id: 'm', version: now + i, prev: i === 0 ? 0 : now + i - 1 } as WireMessage)
      await h.sendBytes(enc.take()!)
      await waitFor(() => w.v.get('m19').value !== null, 10_000, 'the updates applied')
      t.deepEqual(w.v.get('m3').value, { i: 3, s: 'a\ud800' }, 'a lone surrogate arrives intact (sent as JSON text in the frame)')
      t.equal(w.invalid.length, 0, 'nothing refused')
      h.close()
      await waitFor(() => w.b.get('m19').value !== null, 20_000, 'relayed or gossiped on to b')
      t.pass('and they reach the honest peer')
    } finally {
      await w.close()
    }
    t.end()
  })
}
