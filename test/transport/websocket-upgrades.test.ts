/**
 * Upgrade requests a WebSocket listener cannot take, sent raw over
 * loopback: a request target `new URL` cannot parse is answered 400 and
 * closed (a 'refused' event, no crash), on a listener's own server and on
 * a server given.
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

