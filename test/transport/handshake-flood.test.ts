/**
 * Sockets in their TLS handshake or WebSocket upgrade are bounded from
 * their accept (`maxPending`): a flood of bare TCP connections that never
 * send a byte holds at most `maxPending` sockets on a listener, the surplus
 * is closed at once, counted (`stats.overLimit`) and logged once, and an
 * honest peer gets in once the holders time out or go away. Then: one TLS
 * listener's single secure context serves many handshakes, good and bad,
 * one after another and at once, each outcome reported with its own peer's
 * address (and PSK identity), no session resumed.
 */
import test from 'tape'
import * as net from 'node:net'
import * as tls from 'node:tls'
import { randomBytes } from 'node:crypto'
import { WebSocket } from 'ws'
import { Network, PSK_CIPHERS, PSK_TLS_VERSION, connect, connectWebSocket, listen, listenWebSocket, type TlsOptions } from '../../lib/net.ts'
import { makeTestPki } from '../support/certs.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { node, waitFor } from '../support/streams.ts'

const pki = makeTestPki()
const certA: TlsOptions = { ...pki.nodeA, ca: pki.ca }
const certB: TlsOptions = { ...pki.nodeB, ca: pki.ca }
const SECRET = { secret: 'flood test secret' }
const BOUND = 4
const FLOOD = 12

interface Victim {
  net: Network
  logs: string[]
  refused: [string, string][]
  /** Most pending sockets seen by `poll`. */
  peak: number
  poll(): void
}

function victim(id: string, opts: ConstructorParameters<typeof Network>[1]): Victim {
  const n = new Network(node(id), { interval: 50, maxPending: BOUND, ...opts })
  const v: Victim = { net: n, logs: [], refused: [], peak: 0, poll: () => (v.peak = Math.max(v.peak, n.pendingCount ?? Infinity)) }
  n.on('log', (l) => v.logs.push(l))
  n.on('refused', (address, reason) => v.refused.push([address, reason]))
  return v
}

/** `n` bare TCP connections to `port` that never send a byte; `closed` counts those the listener ended. */
function flood(port: number, n: number) {
  const sockets: net.Socket[] = []
  let closed = 0
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => {})
    s.on('close', () => closed++)
    s.resume() // reads (and drops) what the listener sends, so that its end is seen
    sockets.push(s)
  }
  return { closed: () => closed, end: () => sockets.forEach((s) => s.destroy()) }
}

/** Flood `port` and check the bound held: `BOUND` held, the rest closed at once, counted and logged once. */
async function floodHeld(t: test.Test, v: Victim, port: number) {
  const f = flood(port, FLOOD)
  await waitFor(() => (v.poll(), f.closed() === FLOOD - BOUND && v.net.pendingCount === BOUND), 10_000, `${FLOOD - BOUND} of ${FLOOD} bare connections closed, ${BOUND} held`)
  t.ok(v.peak <= BOUND, `the listener never held more than maxPending (${BOUND}) sockets in their handshake (peak ${v.peak})`)
  t.equal(v.net.stats.overLimit, FLOOD - BOUND, `the ${FLOOD - BOUND} over the bound were closed at once and counted`)
  t.equal(v.logs.filter((l) => /maxPending/.test(l)).length, 1, 'and logged in one line, not one each')
  return f
}

for (const mode of ['certificate', 'secret'] as const) {
  test(`TLS (${mode}): bare connections hold at most maxPending sockets; an honest peer gets in once they ${mode === 'certificate' ? 'time out' : 'close'}`, async (t) => {
    // The listener's timers are the test's: only `advance` ends a handshake for its slowness.
    const timers = new FakeTimers()
    const v = victim('V', { helloTimeout: 60_000, timers })
    const b = new Network(node('B'), { interval: 50, backoff: { initial: 10, max: 50 } })
    const f0 = { end: () => {} }
    let f = f0
    try {
      const { port } = await listen(v.net, { port: 0, tls: mode === 'certificate' ? certA : SECRET })
      f = await floodHeld(t, v, port)
      connect(b, { host: '127.0.0.1', port, tls: mode === 'certificate' ? certB : SECRET })
      await waitFor(() => (v.poll(), v.net.stats.overLimit >= FLOOD - BOUND + 2), 10_000, "the honest peer's attempts refused")
      t.equal(v.net.peers.length, 0, 'while the flood holds every slot, an honest peer is refused too')
      if (mode === 'certificate') {
        timers.advance(60_000)
        await waitFor(() => (v.poll(), v.refused.filter(([, r]) => r === 'no TLS handshake in time').length >= BOUND), 10_000, 'the handshake timeout')
        t.pass(`the ${BOUND} holders were cut off at the handshake timeout`)
      } else f.end()
      await waitFor(() => (v.poll(), v.net.peers.length === 1), 10_000, 'the honest peer in')
      t.pass('then the honest peer got in')
      t.ok(v.peak <= BOUND, `pending sockets never above ${BOUND} (peak ${v.peak})`)
    } finally {
      f.end()
      await Promise.all([v.net.close(), b.close()])
    }
    t.end()
  })
}

class TrustingCa extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { ca: pki.ca })
  }
}

for (const scheme of ['ws', 'wss'] as const) {
  test(`WebSocket (${scheme}://): bare connections hold at most maxPending sockets; the upgrade timeout clears them for an honest peer`, async (t) => {
    const v = victim('V', { helloTimeout: 500 })
    const b = new Network(node('B'), { interval: 50, backoff: { initial: 10, max: 50 } })
    let f = { end: () => {} }
    try {
      const { url, port } = await listenWebSocket(v.net, { port: 0, token: 't', tls: scheme === 'wss' ? pki.nodeA : undefined })
      const flooding = await floodHeld(t, v, port)
      f = flooding
      await waitFor(() => (v.poll(), flooding.closed() === FLOOD && v.net.pendingCount === 0), 10_000, 'the holders cut off')
      t.pass(`the ${BOUND} holders were cut off within helloTimeout (${scheme === 'wss' ? 'TLS handshake' : 'request headers'})`)
      connectWebSocket(b, { url, token: 't', WebSocket: scheme === 'wss' ? TrustingCa : WebSocket })
      await waitFor(() => v.net.peers.length === 1, 10_000, 'the honest peer in')
      t.equal(v.net.pendingCount, 0, 'an upgraded link holds no pending slot: maxConnections counts it')
      t.ok(v.peak <= BOUND, `pending sockets never above ${BOUND} (peak ${v.peak})`)
    } finally {
      f.end()
      await Promise.all([v.net.close(), b.close()])
    }
    t.end()
  })
}

test('WebSocket: close() ends upgrades in progress at once; refused upgrades are logged once per status; headers are bounded', async (t) => {
  const v = victim('V', { helloTimeout: 60_000 })
  const { port } = await listenWebSocket(v.net, { port: 0, token: 't' })
  const raw = (head: string) =>
    new Promise<string>((done) => {
      let got = ''
      const s = net.connect(port, '127.0.0.1', () => s.write(head))
      s.on('data', (d) => (got += d.toString('latin1')))
      s.on('error', () => {})
      s.on('close', () => done(got.split('\r\n')[0]))
    })
  const upgrade = (extra: string) => `GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n${extra}\r\n`
  const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => raw(upgrade(`Sec-WebSocket-Protocol: simple-scuttle, simple-scuttle-token.${Buffer.from(`guess${i}`).toString('base64url')}\r\n`))))
  t.ok(statuses.every((s) => s === 'HTTP/1.1 401 Unauthorized'), '20 upgrades with wrong tokens: 401 each')
  t.equal(v.refused.length, 20, "each reported as a 'refused' event")
  t.equal(v.logs.filter((l) => /refused|token/.test(l)).length, 0, "and not logged again: the 'refused' event is the one report of each")
  t.equal(await raw(upgrade(`X-Big: ${'a'.repeat(20_000)}\r\n`)), 'HTTP/1.1 431 Request Header Fields Too Large', 'a request head over 16 KiB is refused (431)')

  const silent = flood(port, 3)
  await waitFor(() => v.net.pendingCount === 3, 10_000, 'three silent sockets pending')
  let closed = false
  void v.net.close().then(() => (closed = true))
  await waitFor(() => closed && silent.closed() === 3, 5_000, 'close() to resolve with upgrades pending')
  t.pass('close() resolved at once, ending the sockets still in their upgrade (helloTimeout is 60 s)')
  t.end()
})

/** A TLS client to `port`; resolves with its local address and whether the listener's hello reached it. */
function tryTls(port: number, opts: tls.ConnectionOptions): Promise<{ address: string; hello: boolean; reused: boolean; session?: Buffer }> {
  return new Promise((done) => {
    const s = tls.connect({ host: '127.0.0.1', port, checkServerIdentity: () => undefined, ...opts })
    let address = ''
    let session: Buffer | undefined
    s.on('connect', () => (address = `${s.localAddress}:${s.localPort}`))
    s.on('session', (x) => (session = x))
    s.on('error', () => {})
    s.once('data', (d: Buffer) => {
      const hello = d.toString().startsWith('{')
      setImmediate(() => {
        done({ address, hello, reused: s.isSessionReused(), session })
        s.destroy()
      })
    })
    s.on('close', () => done({ address, hello: false, reused: false }))
  })
}

test("TLS: one listener's context serves many handshakes, each outcome reported with its own address, none resumed", async (t) => {
  const v = victim('V', { helloTimeout: 5_000, maxPending: 64 })
  try {
    const { port } = await listen(v.net, { port: 0, tls: certA })
    const kinds = {
      good: { ...pki.nodeB, ca: pki.ca },
      rogue: { ...pki.rogue, ca: pki.ca },
      none: { ca: pki.ca },
    }
    const expected: Record<keyof typeof kinds, RegExp | null> = { good: null, rogue: /not signed by the cluster CA/, none: /^no client certificate$/ }
    const order = Array.from({ length: 30 }, (_, i) => (['good', 'rogue', 'none'] as const)[i % 3])
    const results: { kind: keyof typeof kinds; address: string; hello: boolean; reused: boolean }[] = []
    let session: Buffer | undefined
    for (const kind of order) {
      const r = await tryTls(port, { ...kinds[kind], session: kind === 'good' ? session : undefined })
      if (kind === 'good') session = r.session ?? session
      results.push({ kind, ...r })
    }
    const batch = await Promise.all(order.slice(0, 12).map(async (kind) => ({ kind, ...(await tryTls(port, kinds[kind])) })))
    results.push(...batch)
    await waitFor(() => v.refused.length >= results.filter((r) => r.kind !== 'good').length, 10_000, 'every refusal reported')
    const reasons = new Map(v.refused)
    const wrong = results.filter((r) => r.hello !== (r.kind === 'good') || (expected[r.kind] === null ? reasons.has(r.address) : !expected[r.kind]!.test(reasons.get(r.address) ?? '')))
    t.deepEqual(wrong, [], `${results.length} handshakes (30 in turn, 12 at once): good ones got the hello, each bad one refused under its own address with its reason`)
    t.equal(v.refused.length, results.filter((r) => r.kind !== 'good').length, 'one refusal per bad handshake')
    t.ok(session !== undefined && results.every((r) => !r.reused), 'a client offering an earlier session still gets a full handshake (no resumption)')

    // Wrong secrets at once on a PSK listener: each refusal names the identity offered from that address.
    const { port: pskPort } = await listen(v.net, { port: 0, tls: SECRET })
    const before = v.refused.length
    const psk = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const identity = `intruder-${i}`
        const r = await tryTls(pskPort, { ciphers: PSK_CIPHERS, minVersion: PSK_TLS_VERSION, maxVersion: PSK_TLS_VERSION, pskCallback: () => ({ psk: randomBytes(32), identity }) })
        return { identity, ...r }
      }),
    )
    await waitFor(() => v.refused.length >= before + 8, 10_000, 'eight PSK refusals')
    const named = new Map(v.refused.slice(before))
    t.ok(psk.every((r) => named.get(r.address) === `wrong cluster secret (PSK identity "${r.identity}")`), 'each wrong secret is refused naming the identity its own client offered')
  } finally {
    await v.net.close()
  }
  t.end()
})

test.onFinish(() => pki.remove())
