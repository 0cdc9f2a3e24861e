/**
 * WebSocket links between Node nodes (the browser's dialler code with the
 * `ws` class): convergence, a reconnection that resends nothing, frames
 * and backpressure, a listener on an existing HTTP server, wss:// with
 * the cluster's certificates, a dialler the listener refuses (401, 403),
 * and the CLI's --ws-port and --ws-token. The `ws` classes are passed as
 * they are: `WebSocketConstructor` takes them without a cast.
 */
import test from 'tape'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { WebSocket } from 'ws'
import { Gossip, base } from 'simple-scuttle'
import { Network, WebSocketStream, connectWebSocket, listenWebSocket, type Connection, type FramePort } from 'simple-scuttle/net'
import { frames } from '../../lib/transport/websocket-stream.ts'
import { parseCliArgs } from '../../lib/cli/args.ts'
import { makeTestPki } from '../support/certs.ts'
import { HostileWsClient } from '../support/hostile-ws-client.ts'
import { turn, waitFor } from '../support/streams.ts'

const cfg = () => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100 })

test('frames: whole lines per frame; a line longer than a frame is cut at a character boundary', (t) => {
  const enc = (s: string) => new TextEncoder().encode(s)
  const parts = [...frames(enc('aaaa\nbbbb\ncc\n'), 10)].map((f) => new TextDecoder().decode(f))
  t.deepEqual(parts, ['aaaa\nbbbb\n', 'cc\n'], 'cut after the last newline that fits')
  const long = enc('ééééé\n') // 2 bytes each
  const cut = [...frames(long, 3)]
  t.ok(cut.every((f) => f.length <= 3), 'no frame over the limit')
  t.deepEqual(cut.map((f) => new TextDecoder('utf-8', { fatal: true }).decode(f)).join(''), 'ééééé\n', 'every frame is valid UTF-8 and together they are the text')
  t.equal([...frames(enc('short\n'), 100)].length, 1, 'a small chunk is one frame')
  t.end()
})

test('backpressure: a write waits while the socket holds more than the highWaterMark', async (t) => {
  let buffered = 0
  const sent: string[] = []
  const port: FramePort = { sendText: (b) => sent.push(new TextDecoder().decode(b)), bufferedAmount: () => buffered, close: () => {} }
  const s = new WebSocketStream(port, { highWaterMark: 100, pollMs: 1 })
  let acked = 0
  buffered = 1000
  s.write('{"a":1}\n', () => acked++)
  for (let i = 0; i < 20; i++) await turn()
  t.equal(acked, 0, 'not acknowledged while 1000 bytes sit in the socket')
  t.deepEqual(sent, ['{"a":1}\n'], 'the frame itself went out')
  buffered = 0
  await waitFor(() => acked === 1, 5000, 'the ack')
  t.pass('acknowledged once the socket drained')
  s.destroy()
  t.end()
})

test('two Node nodes over WebSocket converge; after a drop the dialler reconnects and nothing held is sent again', async (t) => {
  const v = new Gossip('v', cfg())
  const b = new Gossip('b', cfg())
  const vnet = new Network(v, { interval: 50 })
  const bnet = new Network(b, { interval: 50, backoff: { initial: 10, max: 50 } })
  try {
    const { url } = await listenWebSocket(vnet, { port: 0 })
    for (let i = 0; i < 300; i++) v.set(`v${i}`, i)
    for (let i = 0; i < 300; i++) b.set(`b${i}`, i)
    let remote = 0
    b.history.on('update', (u) => void (u.source_id !== 'b' && remote++))
    const dialer = connectWebSocket(bnet, { url, WebSocket })
    await waitFor(() => v.keys().length === 600 && b.keys().length === 600, 20_000, 'convergence')
    t.equal(remote, 300, 'b received v\'s 300 records once')
    ;(vnet.peers[0] as Connection).close('dropped by the test')
    await waitFor(() => !dialer.connected, 5000, 'the drop')
    for (let i = 0; i < 5; i++) v.set(`new${i}`, i)
    await waitFor(() => dialer.connected && b.keys().length === 605, 20_000, 'reconnected and caught up')
    v.set('last', 1)
    await waitFor(() => b.get('last').value === 1, 5000, 'one more write')
    t.equal(remote, 306, 'after the reconnection b received the 6 new records only')
    t.equal(v.stats.redundant, 0, 'and v received nothing twice')
  } finally {
    await Promise.all([vnet.close(), bnet.close()])
  }
  t.end()
})

test('a listener on an existing HTTP server takes upgrades on its path only', async (t) => {
  const server = http.createServer((_req, res) => res.end('page'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const v = new Gossip('v', cfg())
  const b = new Gossip('b', cfg())
  const vnet = new Network(v, { interval: 50 })
  const bnet = new Network(b, { interval: 50 })
  let other = 0
  server.on('upgrade', (req, socket) => {
    if (req.url === '/other') {
      other++
      socket.destroy()
    }
  })
  try {
    const l = await listenWebSocket(vnet, { server, path: '/gossip' })
    t.equal(l.port, port, 'the listener reports the server\'s port')
    v.set('k', 'v')
    connectWebSocket(bnet, { url: `ws://127.0.0.1:${port}/gossip`, WebSocket })
    await waitFor(() => b.get('k').value === 'v', 10_000, 'replication')
    t.pass('a peer on /gossip replicates')
    await HostileWsClient.open({ url: `ws://127.0.0.1:${port}/other` }).catch(() => {})
    t.equal(other, 1, 'an upgrade to another path is left to the server\'s other listener')
    t.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200, 'plain HTTP requests are the server\'s')
  } finally {
    await Promise.all([vnet.close(), bnet.close()])
    server.closeAllConnections()
    server.close()
  }
  t.end()
})

test('wss:// with a node certificate of the cluster CA', async (t) => {
  const pki = makeTestPki()
  const v = new Gossip('v', cfg())
  const b = new Gossip('b', cfg())
  const vnet = new Network(v, { interval: 50 })
  const bnet = new Network(b, { interval: 50 })
  try {
    const l = await listenWebSocket(vnet, { port: 0, tls: pki.nodeA, token: 't' })
    t.match(l.url, /^wss:\/\//, `the listener's url is ${l.url}`)
    class TrustingCa extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca: pki.ca })
      }
    }
    v.set('secret', 42)
    connectWebSocket(bnet, { url: l.url, token: 't', WebSocket: TrustingCa })
    await waitFor(() => b.get('secret').value === 42, 10_000, 'replication over wss')
    t.pass('a client that trusts the cluster CA replicates over wss://')
    const untrusting = await HostileWsClient.open({ url: l.url, token: 't' }).then(() => 'connected', (err: Error) => err.message)
    t.match(untrusting, /self-signed|unable to verify|certificate/i, `a client that does not trust the CA fails the handshake (${untrusting})`)
  } finally {
    await Promise.all([vnet.close(), bnet.close()])
    pki.remove()
  }
  t.end()
})

test('a dialler the listener refuses (401, 403): a refused event naming the token or origin, then the longest backoff', async (t) => {
  const vnet = new Network(new Gossip('v', cfg()), { interval: 50 })
  const bnet = new Network(new Gossip('b', cfg()), { interval: 50, backoff: { initial: 10, max: 60_000 } })
  const refused: string[] = []
  const retries: number[] = []
  bnet.on('refused', (address, reason) => refused.push(`${address} ${reason}`))
  bnet.on('log', (line) => {
    const m = /retrying in (\d+) ms/.exec(line)
    if (m !== null) retries.push(Number(m[1]))
  })
  try {
    const { url } = await listenWebSocket(vnet, { port: 0, token: 't', origins: ['https://app.example.org'] })
    class ElsewhereOrigin extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { origin: 'https://elsewhere.example.org' })
      }
    }
    const dialers = [
      connectWebSocket(bnet, { url, token: 'wrong', WebSocket }),
      connectWebSocket(bnet, { url, WebSocket }),
      connectWebSocket(bnet, { url, token: 't', WebSocket: ElsewhereOrigin }),
    ]
    await waitFor(() => retries.length === 3, 10_000, 'three refusals')
    t.deepEqual(
      dialers.map((d) => d.lastError),
      ['the listener refused the token: wrong token (HTTP 401)', 'the listener asks for a token, and none was given (HTTP 401)', 'the listener does not allow this origin (HTTP 403)'],
      'each dialler says why: the token (wrong or missing), the origin',
    )
    t.deepEqual(refused.sort(), dialers.map((d) => `${url} ${d.lastError}`).sort(), 'each is a refused event of the dialling network, with the url')
    t.ok(retries.every((ms) => ms >= 30_000), `the next try waits the longest backoff, not the first (${retries.join(', ')} ms)`)
  } finally {
    await Promise.all([vnet.close(), bnet.close()])
  }
  t.end()
})

test('CLI flags: --ws-port and --ws-token, each refused with one sentence when it cannot work', (t) => {
  const ok = parseCliArgs(['--id', 'a', '--ws-port', '7101', '--ws-token', 't'])
  t.ok(ok.ok && ok.options.wsPort === 7101 && ok.options.wsToken === 't', 'both parsed')
  const none = parseCliArgs(['--id', 'a'])
  t.ok(none.ok && !('wsPort' in none.options) && !('wsToken' in none.options), 'absent when not given')
  const err = (argv: string[]) => {
    const r = parseCliArgs(['--id', 'a', ...argv])
    return r.ok ? 'accepted' : r.error
  }
  t.match(err(['--ws-port', '-1']), /--ws-port must be an integer between 0 and 65535/, 'a port out of range')
  t.match(err(['--ws-token', 't']), /--ws-token needs --ws-port/, 'a token without a listener')
  t.match(err(['--ws-port', '0', '--secret', 's']), /requires a cluster secret \(TLS-PSK\) needs --ws-token/, 'a cluster secret without a token')
  t.match(err(['--ws-port', '0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem']), /requires client certificates \(--tls-ca\) needs --ws-token/, 'mutual TLS without a token: browsers present no client certificate')
  t.equal(err(['--ws-port', '0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem', '--ws-token', 't']), 'accepted', 'mutual TLS with a token')
  t.equal(err(['--ws-port', '0', '--secret', 's', '--ws-token', 't']), 'accepted', 'a cluster secret with a token')
  t.end()
})

test('CLI: --ws-port accepts WebSocket peers, --ws-token guards them', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', '--id', 'cli', '--json', '--ws-port', '0', '--ws-token', 'tok'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines = createInterface({ input: child.stdout })
  const listening = await new Promise<Record<string, string>>((resolve) => lines.on('line', (l) => {
    const m = JSON.parse(l)
    if (m.event === 'listening') resolve(m)
  }))
  t.match(listening.ws, /^ws:\/\/127\.0\.0\.1:\d+\/$/, `the listening line names the WebSocket url (${listening.ws})`)
  child.stdin.write('set from-cli 1\n')
  const b = new Gossip('b', cfg())
  const bnet = new Network(b, { interval: 50 })
  try {
    const refused = await HostileWsClient.open({ url: listening.ws }).then(() => 'accepted', (err: Error) => err.message)
    t.equal(refused, 'HTTP 401', 'a peer without the token is refused')
    connectWebSocket(bnet, { url: listening.ws, token: 'tok', WebSocket })
    await waitFor(() => b.get('from-cli').value === 1, 20_000, 'replication from the CLI node')
    t.pass('a peer with the token replicates with the CLI node')
  } finally {
    await bnet.close()
    child.stdin.write('quit\n')
    await new Promise((r) => child.on('exit', r))
  }
  t.end()
})

test('connectWebSocket with no WebSocket class to use throws at once, saying what to pass', async (t) => {
  const g = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  const network = new Network(g)
  const had = (globalThis as { WebSocket?: unknown }).WebSocket
  ;(globalThis as { WebSocket?: unknown }).WebSocket = undefined
  try {
    t.throws(() => connectWebSocket(network, { url: 'ws://127.0.0.1:1/' }), /no WebSocket class here .* options\.WebSocket/, 'a TypeError naming the option, not retries forever')
  } finally {
    ;(globalThis as { WebSocket?: unknown }).WebSocket = had
    await network.close()
  }
})
