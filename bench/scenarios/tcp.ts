/**
 * (e) Over loopback TCP: sustained updates/s from one writer to one reader.
 *   node --import tsx bench/scenarios/tcp.ts <ours|ours-binary|raw> <N> <warm 0|1>
 * `raw` is the limit of the stack: the same objects as the same ndjson lines
 * (JSON.stringify per object, batched per turn, parsed with the same
 * LineReader) through the same kind of socket, with no replication logic.
 * The same objects: the writer's pushes, `{key, value, source_id, version,
 * prev}` with versions of a hybrid logical clock (microseconds, 16 digits)
 * and their links.
 * `ours`: a writer node streams N updates to a reader node over a Network
 * speaking ndjson (wire 1); `ours-binary`: the same, on wire 2 frames.
 * With warm 1, 20,000 other updates go first.
 */
import * as net from 'node:net'
import { LineReader } from '../../lib/codec/ndjson.ts'
import { Network, connect, listen } from '../../lib/net.ts'
import { emit, ours, peakRssMB, until } from './common.ts'

const [impl, nArg, warmArg] = process.argv.slice(2)
const n = Number(nArg)
const WARM = warmArg === '1' ? 20_000 : 0
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
  // Write in turns of 1,000 objects, waiting for 'drain' when the socket is full.
  const base = Date.now() * 1000
  const send = async (from: number, to: number, prefix: string) => {
    let i = from
    while (i < to) {
      const lines: string[] = []
      for (let k = 0; k < 1000 && i < to; k++, i++) lines.push(JSON.stringify({ key: prefix + i, value: value(i), source_id: 'W', version: base + i + 1, prev: base + i }) + '\n')
      if (!sock.write(lines.join(''))) await new Promise((r) => sock.once('drain', r))
    }
  }
  await send(0, WARM, 'warm-')
  await until(() => got === WARM)
  const t0 = performance.now()
  await send(WARM, WARM + n, 'key-')
  await until(() => got === WARM + n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB() })
  sock.destroy()
  server.close()
} else {
  const w = ours('W')
  const r = ours('R')
  const wire = impl === 'ours-binary' ? 2 : 1
  const wn = new Network(w, { interval: 1000, wire })
  const rn = new Network(r, { interval: 1000, wire })
  const { port } = await listen(rn, { port: 0 })
  connect(wn, { host: '127.0.0.1', port })
  await until(() => wn.peers.length === 1 && rn.peers.length === 1 && r.clock.get('W') === w.clock.get('W'))
  const write = async (from: number, to: number, prefix: string) => {
    let i = from
    while (i < to) {
      for (let k = 0; k < 1000 && i < to; k++, i++) w.set(prefix + i, value(i))
      await new Promise((res) => setImmediate(res))
    }
  }
  await write(0, WARM, 'warm-')
  await until(() => r.size === WARM)
  const t0 = performance.now()
  await write(WARM, WARM + n, 'key-')
  await until(() => r.size === WARM + n)
  const ms = performance.now() - t0
  emit({ ms, ups: (n / ms) * 1000, rssMB: peakRssMB() })
  await wn.close()
  await rn.close()
}
process.exit(0)
