/**
 * Two peers in one process, joined by a byte stream in each direction with
 * the ndjson codec in between: the same wiring as over TCP or a WebSocket.
 *
 *   node --import tsx examples/two-peers.ts
 *
 * It imports the package by name, as an app does: copied into a project
 * that has simple-scuttle installed, it runs as it is.
 */
import { PassThrough } from 'node:stream'
import { Gossip, base } from 'simple-scuttle'
import { createDecoder, createEncoder } from 'simple-scuttle/net'

function makeNode(id: string): Gossip {
  const config = base.config
  config.resolve = base.resolution.lww_vs_current_vers
  return new Gossip(id, config)
}

const alice = makeNode('alice')
const bob = makeNode('bob')

// One byte pipe each way (stand-ins for the two halves of a socket).
const aliceToBob = new PassThrough()
const bobToAlice = new PassThrough()
let bytes = 0
aliceToBob.on('data', (b: Buffer) => (bytes += b.length))
bobToAlice.on('data', (b: Buffer) => (bytes += b.length))

alice.pipe(createEncoder()).pipe(aliceToBob).pipe(createDecoder()).pipe(bob)
bob.pipe(createEncoder()).pipe(bobToAlice).pipe(createDecoder()).pipe(alice)

// Persistence hook, as in the seed: every applied update is an event.
bob.history.on('update', (u) => console.log(`bob applied ${u.key}=${JSON.stringify(u.value)} (v${u.version} from ${u.source_id})`))

alice.set('greeting', 'hello')
alice.set('counter', 1)
bob.set('name', 'Bob')
bob.set('counter', 2) // concurrent with alice's: the higher version wins (ties: the higher source_id)

alice.gossip()

const state = (g: Gossip) => JSON.stringify(Object.fromEntries(g.keys().sort().map((k) => [k, g.get(k)])))

// Let the streams run until both sides agree (bounded: a few thousand loop turns).
let turns = 0
const check = () => {
  const same = state(alice) === state(bob) && alice.keys().length === 3
  if (!same && ++turns < 5000) return void setImmediate(check)
  console.log('alice:', state(alice))
  console.log('bob:  ', state(bob))
  console.log(same ? `converged (${bytes} bytes on the wire)` : 'NOT converged')
  alice.destroy()
  bob.destroy()
  process.exitCode = same ? 0 : 1
}
setImmediate(check)
