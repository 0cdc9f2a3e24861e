/**
 * Upgrade requests a WebSocket listener cannot take, sent raw over
 * loopback: a request target `new URL` cannot parse is answered 400 and
 * closed (a 'refused' event, no crash), on a listener's own server and on
 * a server given; an upgrade to a path no listener takes is answered 404
 * and closed, unless the server has an upgrade handler of its own (then
 * it is that handler's).
 */
import test from 'tape'
import * as http from 'node:http'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'
import { WebSocket } from 'ws'
import { Gossip, base } from 'simple-scuttle'
import { Network, connectWebSocket, listenWebSocket } from 'simple-scuttle/net'
import { waitFor } from '../support/streams.ts'

const cfg = () => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100 })

/** Errors thrown out of a handler while a test runs (the process would have died of them). */
const uncaught: string[] = []
process.on('uncaughtException', (err) => uncaught.push(err.message))

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

/** Send one upgrade request for `target` and read the answer; `closed` is false when the socket was still open after `boundMs`. */
function rawUpgrade(port: number, target: string, boundMs = 3000): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let answer = ''
    const bound = setTimeout(() => {
      socket.destroy()
      resolve({ answer, closed: false })
    }, boundMs)
    socket.on('data', (d) => (answer += d.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(bound)
      resolve({ answer, closed: true })
    })
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: simple-scuttle\r\n\r\n`,
    )
  })
}

const status = (answer: string) => /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? `none (${JSON.stringify(answer.slice(0, 40))})`

test('an upgrade whose URL cannot be parsed is answered 400 and closed, and reported, on a listener of its own', async (t) => {
  const v = new Network(new Gossip('v', cfg()), { interval: 50 })
  const refused: string[] = []
  v.on('refused', (_a, r) => refused.push(r))
  try {
    const l = await listenWebSocket(v, { port: 0, path: '/gossip' })
    for (const target of ['//[', 'http://[', 'http://x:99999/gossip']) {
      const r = await rawUpgrade(l.port, target)
      t.equal(status(r.answer), '400', `${target}: answered 400`)
      t.ok(r.closed, `${target}: and closed`)
    }
    t.deepEqual(uncaught, [], 'nothing was thrown out of the handler')
    t.equal(refused.filter((r) => /URL/.test(r)).length, 3, 'each reported as a refused upgrade naming the URL')
    const b = new Network(new Gossip('b', cfg()), { interval: 50 })
    connectWebSocket(b, { url: l.url, WebSocket })
    await waitFor(() => v.peers.length === 1, 10_000, 'an honest peer')
    t.pass('the listener still takes honest peers')
    await b.close()
  } finally {
    await v.close()
  }
  t.end()
})

/** A plain HTTP server on a free loopback port. */
async function httpServer(): Promise<{ server: http.Server; port: number; close(): void }> {
  const server = http.createServer((_req, res) => res.end('page'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}

test('on a server given: an upgrade whose URL cannot be parsed is answered 400 and closed, and reported', async (t) => {
  const h = await httpServer()
  const v = new Network(new Gossip('v', cfg()), { interval: 50 })
  const refused: string[] = []
  v.on('refused', (_a, r) => refused.push(r))
  try {
    await listenWebSocket(v, { server: h.server, path: '/gossip' })
    for (const target of ['//[', 'http://[']) {
      const r = await rawUpgrade(h.port, target)
      t.equal(status(r.answer), '400', `${target}: answered 400`)
      t.ok(r.closed, `${target}: and closed`)
    }
    t.equal(refused.filter((r) => /URL/.test(r)).length, 2, 'each reported')
    t.deepEqual(uncaught, [], 'nothing was thrown out of the handler')
  } finally {
    await v.close()
    h.close()
  }
  t.end()
})


test('on a server given: an upgrade to a path no listener takes is answered 404 and closed, and reported', async (t) => {
  const h = await httpServer()
  const v = new Network(new Gossip('v', cfg()), { interval: 50 })
  const w = new Network(new Gossip('w', cfg()), { interval: 50 })
  const refused: string[] = []
  v.on('refused', (_a, r) => refused.push(r))
  try {
    await listenWebSocket(v, { server: h.server, path: '/gossip' })
    await listenWebSocket(w, { server: h.server, path: '/other' })
    const nobody = await rawUpgrade(h.port, '/nobody')
    t.equal(status(nobody.answer), '404', 'a path no listener takes: 404')
    t.ok(nobody.closed, 'and closed: it holds no descriptor')
    t.equal(refused.filter((r) => /"\/nobody"/.test(r)).length, 1, 'reported once')
    const b = new Network(new Gossip('b', cfg()), { interval: 50 })
    const c = new Network(new Gossip('c', cfg()), { interval: 50 })
    connectWebSocket(b, { url: `ws://127.0.0.1:${h.port}/gossip`, WebSocket })
    connectWebSocket(c, { url: `ws://127.0.0.1:${h.port}/other`, WebSocket })
    await waitFor(() => v.peers.length === 1 && w.peers.length === 1, 10_000, 'a peer on each path')
    t.pass('each listener still takes its own path')
    await Promise.all([b.close(), c.close()])
  } finally {
    await Promise.all([v.close(), w.close()])
    h.close()
  }
  t.end()
})

test('a listener closed gives its path back: an upgrade to it is then answered 404 by the listeners left', async (t) => {
  const h = await httpServer()
  const v = new Network(new Gossip('v', cfg()), { interval: 50 })
  try {
    const gone = await listenWebSocket(v, { server: h.server, path: '/gone' })
    await listenWebSocket(v, { server: h.server, path: '/gossip' })
    await gone.close()
    const r = await rawUpgrade(h.port, '/gone')
    t.equal(status(r.answer), '404', 'answered 404')
    t.ok(r.closed, 'and closed')
  } finally {
    await v.close()
    h.close()
  }
  t.equal(h.server.listenerCount('upgrade'), 0, 'once every listener closed, the server has no upgrade handler of ours left')
  t.end()
})

test('on a server with an upgrade handler of its own, a path no WebSocket listener takes is left to it', async (t) => {
  const h = await httpServer()
  const seen: string[] = []
  h.server.on('upgrade', (req, socket) => {
    seen.push(req.url ?? '')
    if (req.url !== '/gossip') socket.end('HTTP/1.1 418 Teapot\r\nContent-Length: 0\r\n\r\n')
  })
  const v = new Network(new Gossip('v', cfg()), { interval: 50 })
  try {
    await listenWebSocket(v, { server: h.server, path: '/gossip' })
    const r = await rawUpgrade(h.port, '/mine')
    t.equal(status(r.answer), '418', 'the server\'s own handler answered')
    t.deepEqual(seen, ['/mine'], 'and was the only one to')
  } finally {
    await v.close()
    h.close()
  }
  t.end()
})
