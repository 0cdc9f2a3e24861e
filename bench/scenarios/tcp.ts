/**
 * (e) Over loopback TCP: sustained updates/s from one writer to one reader.
 *   node --import tsx bench/scenarios/tcp.ts <ours|raw> <N>
 * `raw` is the limit of the stack: the same objects as the same ndjson lines
 * (JSON.stringify per object, batched per turn, parsed with the same
 * LineReader) through the same kind of socket, with no replication logic.
 * `ours`: a writer node streams N updates to a reader node over a Network.
 */
import * as net from 'node:net'
import { LineReader } from '../../lib/codec/ndjson.ts'
import { Network, connect, listen } from '../../lib/net.ts'
import { emit, ours, peakRssMB, until } from './common.ts'

const [impl, nArg] = process.argv.slice(2)
const n = Number(nArg)
const value = (i: number) => ({ i, name: 'item-' + i })

if (impl === 'raw') {
  let got = 0
  const server = net.createServer((sock) => {
    const reader = new LineReader(1 << 20, () => got++, () => {})
    sock.on('data', (d: Buffer) => reader.feed(d))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await new Promise((r) => sock.once('connect', r))
  const t0 = performance.now()
  let i = 0
  // Write in turns of 1,000 objects, waiting for 'drain' when the socket is full.
  while (i < n) {
    const lines: string[] = []
    for (let k = 0; k < 1000 && i < n; k++, i++) lines.push(JSON.stringify({ key: 'key-' + i, value: value(i), source_id: 'W', version: i + 1 }) + '\n')
    if (!sock.write(lines.join(''))) await new Promise((r) => sock.once('drain', r))
  }
  await until(() => got === n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB() })
  sock.destroy()
  server.close()
} else {
  const w = ours('W')
  const r = ours('R')
  const wn = new Network(w, { interval: 1000 })
  const rn = new Network(r, { interval: 1000 })
  const { port } = await listen(rn, { port: 0 })
  connect(wn, { host: '127.0.0.1', port })
  await until(() => wn.peers.length === 1 && rn.peers.length === 1 && r.clock.get('W') === w.clock.get('W'))
  const t0 = performance.now()
  let i = 0
  while (i < n) {
    for (let k = 0; k < 1000 && i < n; k++, i++) w.set('key-' + i, value(i))
    await new Promise((res) => setImmediate(res))
  }
  await until(() => r.size === n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB() })
  await wn.close()
  await rn.close()
}
process.exit(0)
