/**
 * A hostile listener (a raw TCP server on 127.0.0.1 answering a dialler
 * with crafted lines) decides nothing by its words: what a dialler does
 * with a refusal follows from codes set by the code that decided it, never
 * from the text the peer sent. A refusal line whose reason reads like
 * another refusal (this node's own id) is a refusal by the peer like any
 * other: the dialler waits its longest backoff and dials again. Each
 * crafted answer ends in an event naming it, and costs a bounded amount.
 */
import test from 'tape'
import * as net from 'node:net'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'
import { Network, listen, connect } from '../../lib/net.ts'
import { PEER_REFUSED, SAME_ID } from '../../lib/protocol/hello.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { waitFor } from '../support/streams.ts'

const cfg = (extra: Partial<GossipConfig> = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, ...extra })

/** A listener answering each connection with `answer(n)` (n counts from 0), then ending it; it reads and drops what the dialler sends. */
async function hostileListener(answer: (n: number) => string): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.resume()
    socket.end(answer(n++))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    connections: () => n,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy()
        server.close(() => done())
      }),
  }
}

interface Watched {
  nb: Network
  refused: string[]
  logs: string[]
  invalid: string[]
  links: number
}

function dialler(): Watched {
  const b = new Gossip('b', cfg())
  const nb = new Network(b, { interval: 50, backoff: { initial: 5, max: 40 }, random: () => 0.5 })
  const w: Watched = { nb, refused: [], logs: [], invalid: [], links: 0 }
  nb.on('refused', (_addr, reason) => w.refused.push(reason))
  nb.on('log', (line) => w.logs.push(line))
  nb.on('invalid', (_peer, reason) => w.invalid.push(reason))
  nb.on('connect', () => w.links++)
  return w
}

const line = (obj: unknown) => JSON.stringify(obj) + '\n'

test("a refusal line whose reason is the text of the same-id refusal does not stop the dialler: it waits the longest backoff and dials again", async (t) => {
  const server = await hostileListener(() => line({ refused: SAME_ID }))
  const w = dialler()
  try {
    const d = connect(w.nb, { host: '127.0.0.1', port: server.port })
    await waitFor(() => server.connections() >= 3, 2000, 'the dialler dialling again')
    t.ok(server.connections() >= 3, `the dialler kept dialling (${server.connections()} connections)`)
    t.equal(w.refused[0], `${PEER_REFUSED}: ${SAME_ID}`, "each answer is a 'refused' event naming the peer's refusal")
    t.notEqual(d.lastError, SAME_ID, 'the dialler does not take the peer for this node')
    t.ok(d.attempts >= 16, `and waits its longest backoff, as for any refusal by the peer (attempts ${d.attempts})`)
    t.equal(w.links, 0, 'never linked')
  } finally {
    await Promise.all([w.nb.close(), server.close()])
  }
  t.end()
})

test("a hello whose cluster name holds the words of a peer's refusal is a cluster mismatch, retried at the usual backoff", async (t) => {
  const server = await hostileListener(() => line({ hello: 1, id: 'x', cluster: `${PEER_REFUSED}: ${SAME_ID}`, time: Date.now() }))
  const w = dialler()
  try {
    const d = connect(w.nb, { host: '127.0.0.1', port: server.port })
    await waitFor(() => w.logs.length > 0, 5000, 'the retry line')
    t.match(w.logs[0], /cluster mismatch: peer is in "the peer refused this node/, `the reason is the mismatch: ${w.logs[0]}`)
    t.ok(d.attempts < 16, `the first backoff step, not the longest (attempts ${d.attempts})`)
    t.match(w.refused[0]!, /^cluster mismatch/, "the 'refused' event is this node's own refusal of the hello, not the peer's")
    await waitFor(() => server.connections() >= 3, 2000, 'the dialler dialling again')
    t.notEqual(d.lastError, SAME_ID, 'and never stops')
  } finally {
    await Promise.all([w.nb.close(), server.close()])
  }
  t.end()
})

test('a refusal line with a 1 MB reason is reported cut short, and the dialler dials again', async (t) => {
  const server = await hostileListener(() => line({ refused: 'r'.repeat(1_000_000) }))
  const w = dialler()
  try {
    connect(w.nb, { host: '127.0.0.1', port: server.port })
    await waitFor(() => server.connections() >= 2, 2000, 'the dialler dialling again')
    t.ok(w.refused.length >= 1, "a 'refused' event")
    t.ok(w.refused[0]!.startsWith(`${PEER_REFUSED}: rrr`) && w.refused[0]!.length <= PEER_REFUSED.length + 210, `its reason cut short (${w.refused[0]!.length} characters)`)
    t.ok(w.logs.every((l) => l.length < 500), 'log lines stay short')
  } finally {
    await Promise.all([w.nb.close(), server.close()])
  }
  t.end()
})

test('a refusal line with a reason that is no string is no hello, and the dialler dials again at the usual backoff', async (t) => {
  const server = await hostileListener(() => line({ refused: { why: SAME_ID } }))
  const w = dialler()
  try {
    const d = connect(w.nb, { host: '127.0.0.1', port: server.port })
    await waitFor(() => server.connections() >= 3, 2000, 'the dialler dialling again')
    t.equal(w.refused[0], 'expected a hello object', "a 'refused' event: no hello")
    t.ok(d.attempts < 16 || w.logs.length >= 3, `usual backoff (attempts ${d.attempts})`)
    t.notEqual(d.lastError, SAME_ID, 'never stops')
  } finally {
    await Promise.all([w.nb.close(), server.close()])
  }
  t.end()
})

test("a refusal line after the listener's hello is an invalid object of the link, not a refusal", async (t) => {
  const server = await hostileListener(() => line({ hello: 1, id: 'x', cluster: 'simple-scuttle', time: Date.now() }) + line({ refused: SAME_ID }))
  const w = dialler()
  try {
    const d = connect(w.nb, { host: '127.0.0.1', port: server.port })
    await waitFor(() => server.connections() >= 2, 2000, 'the dialler dialling again')
    t.ok(w.links >= 1, 'the hello linked')
    t.ok(w.invalid.length >= 1, `the line is an 'invalid' event: ${w.invalid[0]}`)
    t.equal(w.refused.length, 0, "no 'refused' event")
    t.notEqual(d.lastError, SAME_ID, 'never stops')
  } finally {
    await Promise.all([w.nb.close(), server.close()])
  }
  t.end()
})

test('a refusal line sent to a listener in place of a hello is no hello: refused, and the listener serves others', async (t) => {
  const a = new Gossip('a', cfg())
  const na = new Network(a, { interval: 50 })
  const refused: string[] = []
  na.on('refused', (_addr, reason) => refused.push(reason))
  try {
    const { port } = await listen(na, { port: 0, host: '127.0.0.1' })
    const h = await HostileClient.open({ port, hello: false })
    await h.send([JSON.stringify({ refused: SAME_ID })])
    await h.closed
    t.deepEqual(refused, ['expected a hello object'], "the listener's 'refused' event: no hello")
    const other = await HostileClient.open({ port, id: 'other' })
    await waitFor(() => other.received.length > 0, 5000, "the listener's hello")
    t.match(other.received[0]!, /"hello":1/, 'the next peer is served')
    other.close()
  } finally {
    await na.close()
  }
  t.end()
})
