/**
 * One node serving many TCP peers: 50 peers, 100,000 keys (by default).
 *
 *   node --import tsx bench/load.ts [--peers 50] [--keys 100000] [--mtu 1000] [--workers 2]
 *
 * The hub runs here; the peers run in worker processes and connect at once.
 * Prints how long each peer took to hold every key (none may starve), the
 * hub's peak memory, and the most bytes it ever held waiting for one peer.
 */
import { fork } from 'node:child_process'
import { resolve } from 'node:path'
import { Gossip, base } from '../lib/index.ts'
import { Network, listen, type Connection } from '../lib/net.ts'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? d : Number(process.argv[i + 1])
}
const peers = arg('peers', 50)
const keys = arg('keys', 100_000)
const mtu = arg('mtu', 1000)
const workers = arg('workers', 2)

const hub = new Gossip('hub', { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu })
for (let i = 0; i < keys; i++) hub.set('key-' + i, { i, pad: 'x'.repeat(32) })
const stateRss = process.memoryUsage().rss
const net = new Network(hub, { interval: 500 })
const { port } = await listen(net, { port: 0 })

let peakRss = stateRss
let maxWaiting = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  for (const c of net.peers as Connection[]) maxWaiting = Math.max(maxWaiting, c.stream?.waiting ?? 0)
}, 20)

const times: number[] = []
const children = Array.from({ length: workers }, (_, w) => {
  const per = Math.ceil(peers / workers)
  const first = w * per
  const count = Math.max(0, Math.min(per, peers - first))
  const child = fork(resolve(import.meta.dirname, 'load-worker.ts'), [port, count, keys, mtu, first].map(String), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  let buf = ''
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl
    while ((nl = buf.indexOf('\n')) !== -1) {
      times.push(JSON.parse(buf.slice(0, nl)).ms)
      buf = buf.slice(nl + 1)
    }
  })
  return child
})
const started = Date.now()
while (times.length < peers && Date.now() - started < 600_000) await new Promise((r) => setTimeout(r, 50))
clearInterval(sampler)
times.sort((a, b) => a - b)
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`
const rows = [
  ['peers served', `${times.length} of ${peers}`],
  ['keys', String(keys)],
  ['mtu', String(mtu)],
  ['time to a full copy: first / median / last', `${times[0]} / ${times[Math.floor(times.length / 2)]} / ${times[times.length - 1]} ms`],
  ['hub RSS: with its state / peak while serving', `${mb(stateRss)} / ${mb(peakRss)}`],
  ['most bytes waiting for one peer (above its socket)', String(maxWaiting)],
]
console.log('| measure | value |\n|---|---|')
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`)
for (const c of children) c.send('stop')
await net.close()
setTimeout(() => process.exit(times.length === peers ? 0 : 1), 500)
