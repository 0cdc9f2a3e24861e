/**
 * Child of bench/load.ts: runs `count` peers that connect to the hub on
 * `port` and report (one JSON line each) when they hold `keys` keys.
 */
import { Gossip, base } from '../lib/index.ts'
import { Network, connect } from '../lib/net.ts'

const [port, count, keys, mtu, first] = process.argv.slice(2).map(Number)
const started = Date.now()
const nets: Network[] = []
for (let i = 0; i < count; i++) {
  const g = new Gossip(`peer${first + i}`, { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu })
  const n = new Network(g, { interval: 500 })
  connect(n, { host: '127.0.0.1', port })
  nets.push(n)
  let done = false
  g.history.on('update', () => {
    if (!done && g.size >= keys) {
      done = true
      process.stdout.write(JSON.stringify({ peer: g.id, ms: Date.now() - started }) + '\n')
    }
  })
}
process.on('message', async () => {
  await Promise.all(nets.map((n) => n.close()))
  process.exit(0)
})
