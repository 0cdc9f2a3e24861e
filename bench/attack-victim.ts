/**
 * The victim of bench/attacks.ts: a node of the library found at
 * `--lib <folder>` (this checkout's lib/ by default, or an older checkout's,
 * to compare), holding `--keys N` keys, listening on loopback. It prints
 * `{"port": P}` once up, and answers each `stats` line on stdin with its
 * RSS, CPU time, log lines and invalid objects seen so far.
 */
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const lib = resolve(arg('lib', resolve(import.meta.dirname, '../lib')))
const keys = Number(arg('keys', '0'))
const { Gossip, base } = await import(pathToFileURL(`${lib}/index.ts`).href)
const { Network, listen } = await import(pathToFileURL(`${lib}/net.ts`).href)

const g = new Gossip('victim', { ...base.config, mtu: 100, resolve: base.resolution.lww_vs_current_vers })
const filler = 'x'.repeat(100)
for (let i = 0; i < keys; i++) g.set(`k${i}`, { i, filler })
const net = new Network(g, { interval: 1000 })
let logs = 0
let invalid = 0
net.on('log', () => logs++)
g.on('invalid', () => invalid++)
const { port } = await listen(net, { port: 0, host: '127.0.0.1' })
process.stdout.write(JSON.stringify({ port }) + '\n')
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stats') return
  const cpu = process.cpuUsage()
  let rss = 0
  try {
    rss = process.memoryUsage.rss()
  } catch {
    // No descriptor left to read /proc with (EMFILE): the parent reads it from outside.
  }
  process.stdout.write(JSON.stringify({ rss, cpu: (cpu.user + cpu.system) / 1e6, logs, invalid, peers: net.peers.length }) + '\n')
})
