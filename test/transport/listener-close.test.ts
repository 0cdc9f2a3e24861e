/**
 * A listener's close() ends the links it accepted (reason "listener
 * closed"), and resolves once it is closed: over TCP, TLS and WebSocket
 * (on a port of its own, or on a server given, which keeps serving). Links
 * this node dialled, and those another listener accepted, stay.
 */
import test from 'tape'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket } from 'ws'
import { Gossip, base } from 'simple-scuttle'
import { Network, connect, connectWebSocket, listen, listenWebSocket } from 'simple-scuttle/net'
import { waitFor } from '../support/streams.ts'

const cfg = () => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100 })
const network = (id: string) => new Network(new Gossip(id, cfg()), { interval: 50, backoff: { initial: 1000, max: 1000 } })
const secret = { secret: 'listener-close test secret' }

/** 'closed', or 'still waiting' when `p` has not resolved within `ms` (the bound of a close that hangs). */
function within(p: Promise<unknown>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const bound = new Promise<string>((r) => (timer = setTimeout(() => r('still waiting'), ms)))
  return Promise.race([p.then(() => 'closed'), bound]).finally(() => clearTimeout(timer))
}

const linked = (net: Network, id: string) => net.peers.some((p) => p.id === id)

for (const mode of ['plain', 'tls'] as const) {
  test(`${mode === 'tls' ? 'TLS' : 'TCP'}: close() ends the links the listener accepted, and only those`, async (t) => {
    const tls = mode === 'tls' ? secret : undefined
    const [v, b, c, d] = ['v', 'b', 'c', 'd'].map(network)
    const reasons: string[] = []
    v.on('disconnect', (p, reason) => p.id === 'b' && reasons.push(reason))
    try {
      const one = await listen(v, { port: 0, tls })
      const other = await listen(v, { port: 0, tls })
      const ld = await listen(d, { port: 0, tls })
      connect(b, { host: '127.0.0.1', port: one.port, tls })
      connect(c, { host: '127.0.0.1', port: other.port, tls })
      connect(v, { host: '127.0.0.1', port: ld.port, tls })
      await waitFor(() => ['b', 'c', 'd'].every((id) => linked(v, id)), 10_000, 'v linked to b, c and d')
      t.equal(await within(one.close(), 5000), 'closed', 'close() resolves')
      await waitFor(() => !linked(v, 'b'), 5000, 'the link to b ended')
      t.deepEqual(reasons, ['listener closed'], 'the link it accepted ended, saying why')
      t.ok(linked(v, 'c') && linked(v, 'd'), 'the link another listener accepted, and the one v dialled, stay')
    } finally {
      await Promise.all([v, b, c, d].map((n) => n.close()))
    }
    t.end()
  })
}

test('WebSocket on a port of its own: close() ends the links it accepted', async (t) => {
  const [v, b] = ['v', 'b'].map(network)
  const reasons: string[] = []
  v.on('disconnect', (_p, reason) => reasons.push(reason))
  try {
    const l = await listenWebSocket(v, { port: 0 })
    const dialer = connectWebSocket(b, { url: l.url, WebSocket })
    await waitFor(() => linked(v, 'b'), 10_000, 'b linked')
    t.equal(await within(l.close(), 5000), 'closed', 'close() resolves')
    await waitFor(() => !linked(v, 'b') && !dialer.connected, 5000, 'the link ended, at both ends')
    t.deepEqual(reasons, ['listener closed'], 'saying why')
  } finally {
    await Promise.all([v.close(), b.close()])
  }
  t.end()
})

test('WebSocket on a server given: close() ends the links it accepted; the server serves on', async (t) => {
  const server = http.createServer((_req, res) => res.end('page'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const [v, b, c] = ['v', 'b', 'c'].map(network)
  const reasons: string[] = []
  v.on('disconnect', (_p, reason) => reasons.push(reason))
  try {
    const one = await listenWebSocket(v, { server, path: '/one' })
    await listenWebSocket(v, { server, path: '/two' })
    connectWebSocket(b, { url: `ws://127.0.0.1:${port}/one`, WebSocket })
    connectWebSocket(c, { url: `ws://127.0.0.1:${port}/two`, WebSocket })
    await waitFor(() => linked(v, 'b') && linked(v, 'c'), 10_000, 'b and c linked')
    t.equal(await within(one.close(), 5000), 'closed', 'close() resolves')
    await waitFor(() => !linked(v, 'b'), 5000, 'the link to b ended')
    t.deepEqual(reasons, ['listener closed'], 'saying why')
    t.ok(linked(v, 'c'), 'the other listener\'s link stays')
    const res = await fetch(`http://127.0.0.1:${port}/`)
    t.equal(await res.text(), 'page', 'the server still serves its pages')
  } finally {
    await Promise.all([v.close(), b.close(), c.close()])
    server.closeAllConnections()
    server.close()
  }
  t.end()
})
