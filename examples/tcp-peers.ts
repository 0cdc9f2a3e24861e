/**
 * Three peers in one process over loopback TCP: each listens on a free port,
 * dials the next one (a ring), writes a few keys, and all three converge.
 *
 *   node --import tsx examples/tcp-peers.ts
 *
 * Exits 0 once the three hold the same state, 1 if they do not within 10 s.
 * It imports the package by name, as an app does: copied into a project
 * that has simple-scuttle installed, it runs as it is.
 */
import { Gossip, base } from 'simple-scuttle'
import { Network, connect, listen } from 'simple-scuttle/net'

const TIMEOUT_MS = 10_000

function makeNode(id: string): Gossip {
  return new Gossip(id, { ...base.config, resolve: base.resolution.lww_vs_current_vers })
}

/** Every record, tombstones included, as sorted JSON: equal strings mean equal state. */
function dump(g: Gossip): string {
  const rows = g.records().map((r) => [r.key, r.version, r.source_id, r.value, r.deleted === true])
  return JSON.stringify(rows.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)))
}

const alice = makeNode('alice')
const bob = makeNode('bob')
const carol = makeNode('carol')
const nodes = [alice, bob, carol]
const nets = nodes.map((g) => new Network(g, { interval: 100 }))
for (const net of nets) net.on('connect', (p) => console.log(`${net.gossip.id} connected to ${p.id} (${p.direction})`))
const listeners = await Promise.all(nets.map((net) => listen(net, { port: 0, host: '127.0.0.1' })))
nets.forEach((net, i) => {
  const next = listeners[(i + 1) % listeners.length]
  if (next !== undefined) connect(net, { host: '127.0.0.1', port: next.port })
})

alice.set('greeting', 'hello from alice')
alice.set('counter', 1)
bob.set('colour', { name: 'teal', hex: '#008080' })
bob.set('counter', 2) // concurrent with alice's: same version, the higher source_id wins
carol.set('list', [1, 2, 3])
carol.set('temporary', true)
carol.del('temporary')

const started = performance.now()
let converged = false
while (performance.now() - started < TIMEOUT_MS) {
  const first = dump(alice)
  if (nodes.every((g) => dump(g) === first) && alice.records().length === 5) {
    converged = true
    break
  }
  await new Promise((r) => setTimeout(r, 20))
}

for (const g of nodes) {
  const state = Object.fromEntries(g.keys().sort().map((k) => [k, g.get(k).value]))
  console.log(`${g.id}: ${JSON.stringify(state)}`)
}
const wire = nets.reduce((n, net) => n + net.peers.reduce((m, p) => m + p.bytesOut, 0), 0)
console.log(converged ? `converged in ${Math.round(performance.now() - started)} ms (${wire} bytes on the wire)` : 'NOT converged within 10 s')
await Promise.all(nets.map((net) => net.close()))
process.exit(converged ? 0 : 1)
