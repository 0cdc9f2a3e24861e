/** Gossip streams over byte pipes with the ndjson codec: the wiring used over sockets. */
import test from 'tape'
import { PassThrough } from 'node:stream'
import { createDecoder, createEncoder } from '../../lib/codec/ndjson.ts'
import { node, sameState, until } from '../support/streams.ts'
import type { Gossip } from '../../lib/index.ts'

function wire(a: Gossip, b: Gossip): void {
  a.pipe(createEncoder()).pipe(new PassThrough()).pipe(createDecoder()).pipe(b)
  b.pipe(createEncoder()).pipe(new PassThrough()).pipe(createDecoder()).pipe(a)
}

test('many exchanges through the codec: 5,000 keys at mtu 1,000 all cross', async (t) => {
  const a = node('A', { mtu: 1000 })
  const b = node('B', { mtu: 1000 })
  for (let i = 0; i < 5000; i++) a.set('key-' + i, { n: i })
  wire(a, b)
  b.gossip()
  await until(() => b.size === 5000, 200_000, '5000 keys at B')
  t.ok(sameState([a, b]), 'B holds exactly what A holds')
  t.ok(b.stats.redundant === 0, 'nothing was sent twice')
  t.end()
})

test('writes on both sides during the exchange all converge through the codec', async (t) => {
  const a = node('A', { mtu: 64 })
  const b = node('B', { mtu: 64 })
  wire(a, b)
  a.gossip()
  for (let i = 0; i < 2000; i++) {
    ;(i % 2 ? a : b).set('k' + (i % 300), i)
    if (i % 100 === 0) {
      a.gossip()
      await new Promise((r) => setImmediate(r))
    }
  }
  a.gossip()
  await until(() => sameState([a, b]) && a.size === 300, 200_000, 'convergence')
  t.equal(a.size, 300, '300 keys on both')
  t.end()
})
