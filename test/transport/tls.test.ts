/**
 * Links over TLS on loopback: mutual TLS with certificates made by openssl
 * at run time, and TLS-PSK with a cluster secret. Peers that fail
 * authentication are refused on both sides, exchange no state, and the
 * dialler keeps retrying.
 */
import test from 'tape'
import * as net from 'node:net'
import * as tls from 'node:tls'
import { Network, connect, listen, type Connection, type TlsOptions } from '../../lib/net.ts'
import type { Gossip } from '../../lib/index.ts'
import { makeTestPki } from '../support/certs.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { node, until, waitFor } from '../support/streams.ts'

const pki = makeTestPki()
const good = (n: { cert: Buffer; key: Buffer }): TlsOptions => ({ ...n, ca: pki.ca })
const certA = good(pki.nodeA)
const certB = good(pki.nodeB)
/** A rogue node in its own world, and one that knows (trusts) the public cluster CA. */
const rogueOwn: TlsOptions = { ...pki.rogue, ca: pki.rogueCa }
const rogueTrustingCa: TlsOptions = { ...pki.rogue, ca: pki.ca }

interface Peer {
  g: Gossip
  net: Network
  refused: string[]
  log: string[]
}

/** A node holding one key of its own (`<id>-own`), with fast redials. */
function peer(id: string, helloTimeout = 5000): Peer {
  const g = node(id)
  g.set(`${id}-own`, id)
  const n = new Network(g, { interval: 50, helloTimeout, backoff: { initial: 10, max: 100 } })
  const p: Peer = { g, net: n, refused: [], log: [] }
  n.on('refused', (_addr, reason) => p.refused.push(reason))
  n.on('log', (line) => p.log.push(line))
  return p
}

const keys = (p: Peer) => [...p.g.keys()].sort()
const closeAll = (...ps: Peer[]) => Promise.all(ps.map((p) => p.net.close()))
const seen = (p: Peer, re: RegExp) => p.refused.some((r) => re.test(r))

test('(a) mutual TLS: two nodes converge, writes on both sides reach the other', async (t) => {
  const a = peer('A')
  const b = peer('B')
  try {
    const { port } = await listen(a.net, { port: 0, tls: certA })
    connect(b.net, { host: '127.0.0.1', port, tls: certB })
    await waitFor(() => a.g.get('B-own').value === 'B' && b.g.get('A-own').value === 'A', 10_000, 'first exchange')
    a.g.set('later', { from: 'A' })
    b.g.set('later-b', { from: 'B' })
    await waitFor(() => b.g.get('later').value !== null && a.g.get('later-b').value !== null, 10_000, 'later writes')
    t.deepEqual(b.g.get('later').value, { from: 'A' }, "A's write reached B")
    t.deepEqual(a.g.get('later-b').value, { from: 'B' }, "B's write reached A")
    const sa = (a.net.peers[0] as Connection).socket as tls.TLSSocket
    const sb = (b.net.peers[0] as Connection).socket as tls.TLSSocket
    t.ok(sa instanceof tls.TLSSocket && sb instanceof tls.TLSSocket, 'both ends gossip over TLS sockets')
    t.ok(sa.authorized && sb.authorized, 'each verified the other against the CA')
    t.equal(sa.getPeerCertificate().subject.CN, 'node-b', "A saw B's certificate")
    t.equal(sb.getPeerCertificate().subject.CN, 'node-a', "B saw A's certificate")
    t.equal(sa.getProtocol(), 'TLSv1.3', 'negotiated TLS 1.3')
    t.deepEqual([a.refused, b.refused], [[], []], 'nothing refused')
  } finally {
    await closeAll(a, b)
  }
  t.end()
})

test('(b) certificates of a rogue CA are refused both ways; no state moves', async (t) => {
  const a = peer('A')
  const b = peer('B')
  const r1 = peer('R1')
  const r2 = peer('R2')
  const rl = peer('RL')
  try {
    const { port } = await listen(a.net, { port: 0, tls: certA })
    const d1 = connect(r1.net, { host: '127.0.0.1', port, tls: rogueOwn })
    await waitFor(() => d1.attempts >= 2 && seen(a, /broke off the TLS handshake/), 10_000, 'rogue refusals')
    t.ok(seen(r1, /^the peer's certificate is not signed by the cluster CA \(\w+\)$/), `the rogue node refuses A's certificate: ${r1.refused[0]}`)
    t.pass(`A refuses the rogue that broke off: ${a.refused[0]}`)

    const d2 = connect(r2.net, { host: '127.0.0.1', port, tls: rogueTrustingCa })
    await waitFor(() => d2.attempts >= 2 && r2.refused.length >= 2, 10_000, 'rogue refusals')
    t.ok(seen(a, /^the peer's certificate is not signed by the cluster CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/), 'A refuses a rogue certificate even when the rogue trusts the cluster CA')
    t.ok(seen(r2, /closed the link after the TLS handshake, before its hello/), `and the rogue learns it was refused: ${r2.refused[0]}`)
    t.ok(r2.log.some((l) => /before its hello.*; retrying in \d+ ms$/.test(l)), 'the dialler logs why, and retries')

    const { port: roguePort } = await listen(rl.net, { port: 0, tls: rogueOwn })
    const d3 = connect(b.net, { host: '127.0.0.1', port: roguePort, tls: certB })
    await waitFor(() => d3.attempts >= 3, 10_000, 'good node retries')
    t.ok(seen(b, /^the peer's certificate is not signed by the cluster CA \(\w+\)$/), `a good node refuses a rogue listener: ${b.refused[0]}`)
    t.ok(b.log.filter((l) => /not signed by the cluster CA.*retrying in \d+ ms$/.test(l)).length >= 3, 'and keeps retrying with backoff, saying why')
    t.ok(rl.refused.length > 0, `the rogue listener drops it too: ${rl.refused[0]}`)

    t.deepEqual(keys(a), ['A-own'], 'A holds only its own key')
    t.deepEqual(keys(b), ['B-own'], 'B holds only its own key')
    t.deepEqual([keys(r1), keys(r2), keys(rl)], [['R1-own'], ['R2-own'], ['RL-own']], 'the rogues received nothing')
    t.ok([a, b, r1, r2, rl].every((p) => p.net.peers.length === 0), 'no connection reached the hello')
  } finally {
    await closeAll(a, b, r1, r2, rl)
  }
  t.end()
})

test('(c) a client without a certificate is refused, and receives nothing', async (t) => {
  const a = peer('A')
  try {
    const { port } = await listen(a.net, { port: 0, tls: certA })
    let bytes = 0
    let closed = false
    const client = tls.connect({ host: '127.0.0.1', port, ca: pki.ca, checkServerIdentity: () => undefined })
    client.on('data', (d: Buffer) => (bytes += d.length))
    client.on('error', () => {})
    client.on('close', () => (closed = true))
    await waitFor(() => closed && a.refused.length > 0, 10_000, 'refusal')
    t.deepEqual(a.refused, ['no client certificate'], 'refused: no client certificate')
    t.notOk(a.log.some((l) => /no client certificate/.test(l)), 'reported once, as the event (no log line repeating it)')
    t.equal(bytes, 0, 'the client received no byte of the protocol (no hello)')
    t.deepEqual(keys(a), ['A-own'], 'A unchanged')
  } finally {
    await a.net.close()
  }
  t.end()
})

test('(d) cluster secret (TLS-PSK): same secret converges; another secret is refused both ways', async (t) => {
  const a = peer('A')
  const b = peer('B')
  const c = peer('C')
  try {
    const { port } = await listen(a.net, { port: 0, tls: { secret: 'correct horse battery staple' } })
    connect(b.net, { host: '127.0.0.1', port, tls: { secret: 'correct horse battery staple', identity: 'node-b' } })
    await waitFor(() => a.g.get('B-own').value === 'B' && b.g.get('A-own').value === 'A', 10_000, 'convergence')
    b.g.set('from-b', 1)
    await waitFor(() => a.g.get('from-b').value === 1, 10_000, 'a later write')
    const s = (a.net.peers[0] as Connection).socket as tls.TLSSocket
    t.equal(s.getProtocol(), 'TLSv1.2', 'TLS 1.2')
    t.equal(s.getCipher().name, 'ECDHE-PSK-CHACHA20-POLY1305', 'with the ECDHE-PSK suite')

    const d = connect(c.net, { host: '127.0.0.1', port, tls: { secret: 'wrong', identity: 'node-c' } })
    await waitFor(() => d.attempts >= 2 && a.refused.length >= 2, 10_000, 'refusals')
    t.equal(a.refused[0], 'wrong cluster secret (PSK identity "node-c")', 'the listener refuses, naming the identity')
    t.equal(c.refused[0], 'wrong cluster secret', 'the dialler refuses too')
    t.ok(c.log.some((l) => /: wrong cluster secret; retrying in \d+ ms$/.test(l)), 'and retries, saying why')

    const { port: cPort } = await listen(c.net, { port: 0, tls: { secret: 'wrong' } })
    const before = a.refused.length
    connect(a.net, { host: '127.0.0.1', port: cPort, tls: { secret: 'correct horse battery staple' } })
    await waitFor(() => c.refused.some((r) => r.startsWith('wrong cluster secret (PSK identity')) && a.refused.length > before, 10_000, 'reverse')
    t.pass('dialling a listener with another secret is refused as well')

    t.deepEqual(keys(c), ['C-own'], 'C received nothing')
    t.deepEqual(keys(a), ['A-own', 'B-own', 'from-b'], 'A holds its own and B\'s keys, none of C\'s')
    t.equal(a.net.peers.length, 1, 'A is still connected to B only')
  } finally {
    await closeAll(a, b, c)
  }
  t.end()
})

test('(e) plain TCP against TLS, and TLS against plain TCP, are refused', async (t) => {
  const s = peer('S')
  const p = peer('P')
  const q = peer('Q')
  const m = peer('M')
  try {
    const { port: securePort } = await listen(s.net, { port: 0, tls: { secret: 'k' } })
    const plain = connect(p.net, { host: '127.0.0.1', port: securePort })
    await waitFor(() => plain.attempts >= 2 && s.refused.length >= 2, 10_000, 'plain client refusals')
    t.equal(s.refused[0], 'the peer does not speak TLS (plain TCP?)', 'a TLS listener refuses a plain client')
    t.ok(p.log.some((l) => /before sending anything \(the peer may be at its connection limit, maxConnections, or a TLS listener\); retrying in \d+ ms$/.test(l)), 'the plain dialler says why it got nothing')

    const { port: plainPort } = await listen(p.net, { port: 0 })
    const secure = connect(q.net, { host: '127.0.0.1', port: plainPort, tls: { secret: 'k' } })
    await waitFor(() => secure.attempts >= 2 && p.refused.length >= 1, 10_000, 'TLS client refusals')
    t.equal(q.refused[0], 'the peer does not speak TLS (plain TCP?)', 'a TLS dialler refuses a plain listener')
    t.equal(p.refused[0], 'the peer speaks TLS; this listener is plain TCP', 'and the plain listener refuses the TLS client')

    connect(m.net, { host: '127.0.0.1', port: securePort, tls: certA })
    await waitFor(() => m.refused.length >= 1 && s.refused.some((r) => r.startsWith('no common TLS mode')), 10_000, 'mode mismatch')
    t.match(m.refused[0], /^no common TLS mode/, 'certificates against a cluster secret: no common TLS mode')

    t.deepEqual([keys(s), keys(p), keys(q), keys(m)], [['S-own'], ['P-own'], ['Q-own'], ['M-own']], 'no state moved')
  } finally {
    await closeAll(s, p, q, m)
  }
  t.end()
})

test('a plain listener reports a TLS client once, even when its handshake bytes hold a newline', async (t) => {
  const p = peer('P')
  try {
    const { port } = await listen(p.net, { port: 0 })
    // A TLS record header, then bytes with a newline in them (a real ClientHello holds one about a third of the time).
    const closed = new Promise<void>((done) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x0a, 0x7b, 0x7d, 0x0a])))
      s.on('error', () => {})
      s.on('close', () => done())
      s.resume() // read the listener's hello, so that its close is seen
    })
    await closed
    await waitFor(() => p.net.peers.length === 0 && p.refused.length >= 1, 5000, 'the refusal')
    t.deepEqual(p.refused, ['the peer speaks TLS; this listener is plain TCP'], 'one refusal, with its reason (not also "expected a hello object")')
  } finally {
    await closeAll(p)
  }
  t.end()
})

test('inside a TLS link the hello still refuses another cluster name', async (t) => {
  const a = peer('A')
  const g = node('G')
  g.set('G-own', 'G')
  const other = new Network(g, { cluster: 'green', backoff: { initial: 10_000 } })
  try {
    const { port } = await listen(a.net, { port: 0, tls: { secret: 'shared' } })
    connect(other, { host: '127.0.0.1', port, tls: { secret: 'shared' } })
    await waitFor(() => seen(a, /^cluster mismatch/), 10_000, 'cluster refusal')
    t.pass(`refused after the handshake: ${a.refused[0]}`)
    t.deepEqual([keys(a), [...g.keys()]], [['A-own'], ['G-own']], 'no state moved')
  } finally {
    await Promise.all([a.net.close(), other.close()])
  }
  t.end()
})

test('a silent peer is dropped after helloTimeout; close() ends handshakes in progress at once', async (t) => {
  const a = peer('A', 200)
  const { port } = await listen(a.net, { port: 0, tls: certA })
  const silent = net.connect(port, '127.0.0.1')
  silent.on('error', () => {})
  await waitFor(() => a.refused.includes('no TLS handshake in time'), 5000, 'handshake timeout')
  t.pass('refused: no TLS handshake in time')

  // B's timers are the test's: its handshake timeout can never fire, so
  // only close() itself can end the pending handshake.
  const timers = new FakeTimers()
  const gb = node('B')
  const b = { net: new Network(gb, { interval: 50, helloTimeout: 60_000, timers }), refused: [] as string[] }
  b.net.on('refused', (_addr, reason) => b.refused.push(reason))
  const { port: portB } = await listen(b.net, { port: 0, tls: { secret: 'k' } })
  const stuck = net.connect(portB, '127.0.0.1')
  stuck.on('error', () => {})
  let stuckClosed = false
  stuck.on('close', () => (stuckClosed = true))
  await new Promise<void>((r) => stuck.once('connect', () => r()))
  await until(() => timers.delays().includes(60_000), 10_000, 'the handshake timer to start')
  let closed = false
  void b.net.close().then(() => (closed = true))
  await until(() => closed, 10_000, 'close() to resolve with the handshake pending')
  t.pass('close() resolved with a handshake pending, its timeout never having fired')
  await until(() => stuckClosed, 10_000, 'the pending connection to end')
  t.pass('and ended that connection')
  t.deepEqual(b.refused, [], 'and reported no refusal for it')
  silent.destroy()
  stuck.destroy()
  await a.net.close()
  t.end()
})

test('unusable TLS options are refused with a TypeError naming the problem', async (t) => {
  const a = peer('A')
  const at = { host: '127.0.0.1', port: 1 }
  const throws = (tlsOpts: unknown, re: RegExp, what: string) => t.throws(() => connect(a.net, { ...at, tls: tlsOpts as TlsOptions }), re, what)
  throws({ cert: pki.nodeA.cert }, /missing or empty: key, ca/, 'missing fields')
  throws({ ...certA, secret: 'x' }, /not both/, 'both modes')
  throws({ secret: '' }, /non-empty/, 'empty secret')
  throws({ secret: 'x', identity: 'i'.repeat(200) }, /identity/, 'identity too long')
  throws({ cert: pki.nodeA.cert, key: pki.nodeB.key, ca: pki.ca }, /cannot load/, 'a key that does not match the certificate')
  let err: unknown = null
  await listen(a.net, { port: 0, tls: { cert: 'not pem', key: 'nope', ca: pki.ca } }).catch((e) => (err = e))
  t.ok(err instanceof TypeError && /cannot load the certificate, key or CA/.test(err.message), 'listen rejects bad PEM')
  await a.net.close()
  t.end()
})

test.onFinish(() => pki.remove())
