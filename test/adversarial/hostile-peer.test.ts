/**
 * A hostile peer against real nodes over loopback TCP, in the three
 * security modes: plain TCP, TLS-PSK (the hostile peer is a member: it has
 * the secret) and signed updates (it has no writer's key). Each attack of
 * issue "no single peer can destroy, freeze or split a cluster" is run; the
 * honest nodes must keep every record, keep writing and keep converging, and
 * every budget must hold (counts and bounds, never wall time).
 */
import test from 'tape'
import { Gossip, base, type GossipConfig, type Rec } from 'simple-scuttle'
import { Network, connect, listen, type TlsOptions } from 'simple-scuttle/net'
import { generateSigningKeys, signer, verifier } from 'simple-scuttle/security'
import { HostileClient } from '../support/hostile-client.ts'
import { waitFor } from '../support/streams.ts'

type Mode = 'plain' | 'psk' | 'signed'

const keys = { b: generateSigningKeys(), v: generateSigningKeys(), c: generateSigningKeys() }
const SECRET = 'correct horse battery staple'

/** The README's "Right" resolve, which reads `value.priority`: it throws on a tombstone (value null). */
const readmeResolve: GossipConfig['resolve'] = (gossip, update) => {
  const cur = gossip.record(update.key)
  if (!cur) return true
  const u = update.value as { priority?: number }
  const c = cur.value as { priority?: number }
  if (u.priority !== c.priority) return (u.priority ?? 0) > (c.priority ?? 0)
  return base.sort(update, cur) > 0
}

function node(id: 'b' | 'v' | 'c', mode: Mode, extra: Partial<GossipConfig> = {}): Gossip {
  const signed = mode === 'signed'
  return new Gossip(id, {
    ...base.config,
    mtu: 100,
    resolve: id === 'v' ? readmeResolve : base.resolution.lww_vs_current_vers,
    sign: signed ? signer(keys[id].privateKey) : undefined,
    verify: signed ? verifier({ b: keys.b.publicKey, v: keys.v.publicKey, c: keys.c.publicKey }) : undefined,
    ...extra,
  })
}

const tlsFor = (mode: Mode): TlsOptions | undefined => (mode === 'psk' ? { secret: SECRET } : undefined)

interface World {
  v: Gossip
  vnet: Network
  b: Gossip
  bnet: Network
  port: number
  logs: string[]
  invalid: string[]
  close(): Promise<void>
}

async function world(mode: Mode, netOpts: Partial<ConstructorParameters<typeof Network>[1]> = {}, vExtra: Partial<GossipConfig> = {}): Promise<World> {
  const v = node('v', mode, vExtra)
  const b = node('b', mode)
  for (let i = 0; i < 110; i++) b.set(`b${i}`, { priority: 1, n: i })
  const vnet = new Network(v, { interval: 50, helloTimeout: 500, stallTimeout: 500, idleTimeout: 3000, invalidBudget: 100, maxConnections: 30, ...netOpts })
  const bnet = new Network(b, { interval: 50, backoff: { initial: 10, max: 50 } })
  const logs: string[] = []
  const invalid: string[] = []
  vnet.on('log', (l) => logs.push(l))
  v.on('invalid', (reason: string) => invalid.push(reason))
  const { port } = await listen(vnet, { port: 0, tls: tlsFor(mode) })
  connect(bnet, { host: '127.0.0.1', port, tls: tlsFor(mode) })
  await waitFor(() => bHeld(v) === 110, 20_000, 'v holds b\'s 110 records')
  return { v, vnet, b, bnet, port, logs, invalid, close: async () => void (await Promise.all([vnet.close(), bnet.close()])) }
}

const bHeld = (g: Gossip) => g.records().filter((r) => r.source_id === 'b').length
const hostile = (w: World, mode: Mode, extra: Partial<Parameters<typeof HostileClient.open>[0]> = {}) => HostileClient.open({ port: w.port, tls: tlsFor(mode), ...extra })

/** The honest nodes still write and converge: b writes 10 keys, v gets them; v writes, b gets it. */
async function stillConverging(t: test.Test, w: World): Promise<void> {
  for (let i = 0; i < 10; i++) w.b.set(`after${i}`, { priority: 1, n: i })
  t.ok(w.v.set('v-after', { priority: 1 }) !== undefined, 'v can still write')
  await waitFor(() => w.v.get('after9').value !== null && w.b.get('v-after').value !== null, 60_000, 'writes after the attack')
  t.pass('writes on both sides still replicate')
}

for (const mode of ['plain', 'psk', 'signed'] as Mode[]) {
  test(`${mode}: gc floors and a reset from a peer drop nothing`, async (t) => {
    const w = await world(mode)
    try {
      const clockBefore = w.v.clock.get('b')
      const h = await hostile(w, mode)
      await h.send([
        '{"digest":true,"source_id":"b","version":0,"gc":1000000000}',
        '{"digest":true,"done":true}',
        '{"digest":true,"reset":true,"source_id":"b","from":0,"to":1e15,"n":0}',
        '{"digest":true,"source_id":"b","version":0,"gc":1000000000}',
        '{"digest":true,"done":true,"reply":true,"final":true}',
      ])
      await waitFor(() => w.invalid.some((r) => /resets are not accepted/.test(r)), 10_000, 'the reset refused')
      t.equal(bHeld(w.v), 110, 'v still holds all 110 records of b')
      t.equal(w.v.clock.get('b'), clockBefore, 'and its clock for b is unchanged')
      h.close()
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: no chain of messages carries versions past the clock bound; the node keeps writing`, async (t) => {
    const w = await world(mode)
    try {
      const h = await hostile(w, mode)
      let version = 0
      const updates: string[] = []
      for (let i = 0; i < 8193; i++) {
        const next = version + 2 ** 40 - 1
        updates.push(JSON.stringify({ key: `jump${i % 10}`, value: { priority: 9 }, source_id: 'evil-src', version: next, prev: version }))
        version = next
      }
      const digest: string[] = []
      for (let i = 0; i < 8193; i++) digest.push(JSON.stringify({ digest: true, source_id: 'b', version: Number.MAX_SAFE_INTEGER - i }))
      digest.push('{"digest":true,"done":true,"reply":true,"final":true}')
      const invalidBefore = w.invalid.length
      await h.send(updates)
      await h.send(digest)
      await waitFor(() => w.invalid.length > invalidBefore, 10_000, 'refusals')
      const bound = Date.now() * 1000 + w.v.config.maxClockOffset * 1000
      t.ok(w.v.version <= bound, `v's highest version seen (${w.v.version}) stays within its clock plus the offset`)
      t.ok(w.v.clock.get('b') <= w.b.clock.get('b'), 'v does not claim more of b than b wrote')
      t.ok(w.v.set('still', { priority: 1 }), 'set still works')
      h.close()
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: an update with no link outside a response moves no clock`, async (t) => {
    const w = await world(mode)
    try {
      const before = w.v.clock.get('b')
      const h = await hostile(w, mode)
      await h.send([JSON.stringify({ key: 'poison', value: { priority: 1 }, source_id: 'b', version: before + 1_000_000 })])
      await waitFor(() => w.v.get('poison').value !== null || w.invalid.length > 0, 10_000, 'the update handled')
      t.equal(w.v.clock.get('b'), before, 'v\'s clock for b did not move across the gap')
      if (mode === 'signed') t.ok(w.invalid.includes('unsigned update'), 'in a signed cluster the forged update is refused')
      h.close()
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: a flood of invalid objects is cut off at the budget, with bounded logs and memory`, async (t) => {
    const w = await world(mode)
    try {
      const heapBefore = process.memoryUsage().heapUsed
      const h = await hostile(w, mode)
      const flood = (function* () {
        for (let i = 0; i < 100_000; i++) yield '{}'
      })()
      await h.send(flood)
      const reason = await h.closed
      t.ok(w.vnet.stats.invalid >= 1, `v disconnected the flooding peer (${reason})`)
      const fromFlood = w.invalid.filter((r) => r === 'update key must be a string or a finite number').length
      t.ok(fromFlood >= 1 && fromFlood <= 101 + 10, `v processed ${fromFlood} invalid objects before cutting it off (budget 100)`)
      t.ok(w.logs.filter((l) => /invalid object/.test(l)).length <= 2, 'and logged them in at most 2 lines')
      t.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'heap stayed bounded')
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: a connection flood is refused past maxConnections, logged once, and honest peers get in once it clears`, async (t) => {
    // A hello timeout long enough for 50 handshakes to pile up on a loaded machine (at 500 ms the first were closed before the last arrived).
    const w = await world(mode, { helloTimeout: 5_000 })
    try {
      // Over TLS, a connection refused at once fails its handshake: the client side sees an error.
      const opened = await Promise.allSettled(Array.from({ length: 50 }, () => hostile(w, mode, { hello: false, read: false })))
      const flood = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
      await waitFor(() => w.vnet.stats.overLimit >= 10, 20_000, 'connections refused over the limit')
      t.ok(w.vnet.connectionCount <= 30, `v holds at most maxConnections (${w.vnet.connectionCount})`)
      t.equal(w.logs.filter((l) => /maxConnections/.test(l)).length, 1, 'one log line for the refusals, not one each')
      // Without a hello, the flood's connections are closed after helloTimeout.
      await waitFor(() => w.vnet.connectionCount <= 2, 20_000, 'the hello timeout clears the flood')
      for (const f of flood) f.close()
      const c = node('c', mode)
      const cnet = new Network(c, { interval: 50 })
      connect(cnet, { host: '127.0.0.1', port: w.port, tls: tlsFor(mode) })
      await waitFor(() => bHeld(c) === 110, 20_000, 'a new honest peer gets every record')
      t.pass('a new honest peer connected and caught up')
      await cnet.close()
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: a peer that never reads is disconnected; what waits for it stays bounded`, async (t) => {
    const w = await world(mode, { idleTimeout: 120_000, helloTimeout: 10_000 }) // so that only the stall, not silence, can end it
    try {
      const filler = 'x'.repeat(2000)
      for (let i = 0; i < 5000; i++) w.v.set(`big${i}`, { priority: 1, filler })
      const h = await hostile(w, mode, { read: false })
      await h.send(['{"digest":true,"done":true}'])
      let maxWaiting = 0
      const conn = () => w.vnet.peers.find((p) => p.id === 'evil') as unknown as { stream: { waiting: number } } | undefined
      await waitFor(
        () => {
          const c = conn()
          if (c !== undefined) maxWaiting = Math.max(maxWaiting, c.stream.waiting)
          return w.vnet.stats.stalled >= 1
        },
        30_000,
        'the stalled peer disconnected',
      )
      const reason = 'stalled'
      h.close()
      t.ok(w.vnet.stats.stalled >= 1, `v disconnected the peer that does not read (${reason})`)
      t.ok(maxWaiting < 256 * 1024 + 100 * 2200, `bytes waiting for it stayed within the high-water mark and one response (max ${maxWaiting})`)
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: maxSources holds against a peer inventing sources`, async (t) => {
    const w = await world(mode, {}, { limits: { maxSources: 50 } })
    try {
      const h = await hostile(w, mode)
      const lines: string[] = []
      for (let i = 0; i < 1000; i++) lines.push(JSON.stringify({ key: `s${i}`, value: { priority: 1 }, source_id: `src${i}`, version: 1 }))
      await h.send(lines)
      await waitFor(() => w.invalid.length >= 100 || h.closedReason !== null, 10_000, 'refusals')
      t.ok(w.v.clock.size <= 50, `v tracks at most 50 sources (${w.v.clock.size})`)
      h.close()
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`${mode}: a resolve that throws on a peer's delete refuses that update; the node goes on`, async (t) => {
    const w = await world(mode)
    try {
      w.b.del('b5')
      await waitFor(() => w.invalid.some((r) => /^config\.resolve threw/.test(r)), 10_000, 'the delete refused')
      t.equal((w.v.get('b5').value as { n: number }).n, 5, 'v kept its value for b5')
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })
}

test('clock skew beyond maxClockOffset is refused at the hello, naming the skew, on both sides', async (t) => {
  const w = await world('plain')
  try {
    const h = await hostile(w, 'plain', { time: Date.now() + 30 * 24 * 3600 * 1000 })
    const refused: string[] = []
    w.vnet.on('refused', (_a, r) => refused.push(r))
    await h.closed
    await waitFor(() => refused.length > 0, 5000, 'refusal')
    t.match(refused[0], /clock skew: the peer's clock is 30 days ahead of this node's, more than the 5 min allowed/, refused[0])
    const hello = h.received[0] ?? ''
    t.match(hello, /"hello":1/, 'the node sent its own hello (with its clock), so the peer can refuse too')
  } finally {
    await w.close()
  }
  t.end()
})
