/**
 * The configurations users combine: an in-memory node and a durable one,
 * in every pairing, over object streams, wire streams (ndjson and wire 2
 * frames) and loopback TCP (frames, as the hellos choose, and ndjson). Both
 * directions must converge (writes and a delete from each side), because
 * every node numbers its writes the same way (hybrid logical clock versions).
 * Clocks apart by less than maxClockOffset converge; by more, the hello is
 * refused on both sides, naming the skew.
 */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import { join } from 'node:path'
import { Gossip, base, type GossipConfig } from 'simple-scuttle'
import { Network, connect, listen } from 'simple-scuttle/net'
import { openDurable, type LogStore } from 'simple-scuttle/store'
import { sameState, waitFor } from '../support/streams.ts'

type Kind = 'memory' | 'durable'
type Link = 'objects' | 'wire' | 'frames' | 'tcp' | 'tcp-ndjson'

const dirs: string[] = []
const config = (extra: Partial<GossipConfig> = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, ...extra })

function make(kind: Kind, id: string, extra: Partial<GossipConfig> = {}): { g: Gossip; store?: LogStore } {
  if (kind === 'memory') return { g: new Gossip(id, config(extra)) }
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'scuttle-matrix-'))
  dirs.push(dir)
  const d = openDurable(id, config(extra), { dir, durability: 'none' })
  return { g: d.gossip, store: d.store }
}

/** Join two nodes over `link`; returns a function that starts an exchange and one that closes. */
async function join2(link: Link, a: Gossip, b: Gossip): Promise<{ kick: () => void; close: () => Promise<void> }> {
  if (link === 'objects') {
    const sa = a.createStream()
    const sb = b.createStream()
    sa.pipe(sb).pipe(sa)
    return { kick: () => sa.gossip(), close: async () => void (sa.destroy(), sb.destroy()) }
  }
  if (link === 'wire' || link === 'frames') {
    const wire = link === 'frames' ? 2 : 1
    const sa = a.createWireStream({ wire })
    const sb = b.createWireStream({ wire })
    sa.pipe(sb).pipe(sa)
    return { kick: () => sa.gossip(), close: async () => void (sa.destroy(), sb.destroy()) }
  }
  const wire = link === 'tcp-ndjson' ? 1 : 2
  const na = new Network(a, { interval: 20, wire })
  const nb = new Network(b, { interval: 20, wire })
  const { port } = await listen(na, { port: 0 })
  connect(nb, { host: '127.0.0.1', port })
  return { kick: () => {}, close: async () => void (await Promise.all([na.close(), nb.close()])) }
}

async function converge(kick: () => void, a: Gossip, b: Gossip, what: string): Promise<void> {
  let turns = 0
  await waitFor(
    () => {
      if (++turns % 20 === 0) kick()
      return sameState([a, b])
    },
    20_000,
    `${what} (a holds ${a.size}, b ${b.size})`,
  )
}

for (const ka of ['memory', 'durable'] as Kind[]) {
  for (const kb of ['memory', 'durable'] as Kind[]) {
    for (const link of ['objects', 'wire', 'frames', 'tcp', 'tcp-ndjson'] as Link[]) {
      test(`${ka} <-> ${kb} over ${link}: both directions converge`, async (t) => {
        const A = make(ka, 'a')
        const B = make(kb, 'b')
        const { kick, close } = await join2(link, A.g, B.g)
        try {
          for (let i = 0; i < 50; i++) A.g.set(`a${i}`, i)
          for (let i = 0; i < 50; i++) B.g.set(`b${i}`, i)
          kick()
          await converge(kick, A.g, B.g, 'first writes')
          A.g.del('b7')
          B.g.del('a3')
          B.g.set('a4', 'from b')
          kick()
          await converge(kick, A.g, B.g, 'deletes and overwrites')
          t.equal(A.g.keys().length, 98, 'a holds 98 live keys')
          t.equal(B.g.get('b7').value, null, "a's delete of b's key reached b")
          t.equal(A.g.get('a3').value, null, "b's delete of a's key reached a")
          t.equal(A.g.get('a4').value, 'from b', "b's overwrite of a's key won on a")
          t.equal(A.g.version > 1e15 && B.g.version > 1e15, true, 'both number their writes by wall time (µs)')
        } finally {
          await close()
          A.store?.close()
          B.store?.close()
        }
        t.end()
      })
    }
  }
}

test('clocks 4 minutes apart converge; 6 minutes apart are refused at the hello on both sides, naming the skew', async (t) => {
  const ahead = (ms: number) => ({ now: () => Date.now() + ms })
  {
    const a = new Gossip('a', config())
    const b = new Gossip('b', config(ahead(4 * 60_000)))
    const { close } = await join2('tcp', a, b)
    try {
      a.set('x', 1)
      b.set('y', 2)
      await waitFor(() => sameState([a, b]) && a.keys().length === 2, 20_000, 'skewed within the bound')
      t.pass('4 minutes apart: converged')
      a.set('x', 3)
      await waitFor(() => b.get('x').value === 3, 20_000, 'a later write of the slow node')
      t.pass("the slow node's later write still wins over its earlier one on the fast node")
    } finally {
      await close()
    }
  }
  {
    const a = new Gossip('a', config())
    const b = new Gossip('b', config(ahead(6 * 60_000)))
    const na = new Network(a, { interval: 20 })
    const nb = new Network(b, { interval: 20 })
    const refusedA: string[] = []
    const refusedB: string[] = []
    na.on('refused', (_x, r) => refusedA.push(r))
    nb.on('refused', (_x, r) => refusedB.push(r))
    const { port } = await listen(na, { port: 0 })
    connect(nb, { host: '127.0.0.1', port })
    try {
      await waitFor(() => refusedA.length > 0 && refusedB.length > 0, 20_000, 'refusals on both sides')
      t.match(refusedA[0], /^clock skew: the peer's clock is 6 min ahead of this node's/, `a: ${refusedA[0]}`)
      t.match(refusedB[0], /^clock skew: the peer's clock is 6 min behind this node's/, `b: ${refusedB[0]}`)
      t.equal(na.peers.length + nb.peers.length, 0, 'no link was made')
    } finally {
      await Promise.all([na.close(), nb.close()])
    }
  }
  t.end()
})

test('cleanup', (t) => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  t.pass('temporary folders removed')
  t.end()
})
