/**
 * The adversarial and budget tests of test/adversarial/hostile-peer.test.ts,
 * over WebSocket: real nodes on loopback, the honest peer dialling with
 * `connectWebSocket` (the browser's client code, given the `ws` class),
 * the hostile one a raw `ws` client. Two modes: plain, and a token with
 * signed updates (the hostile peer has the token, as a member would, but no
 * writer's key). The honest nodes must keep every record, keep writing and
 * keep converging, and every budget must hold (counts and bounds, never
 * wall time). Then what only WebSocket has: the upgrade's token, origin and
 * subprotocol checks, and the frame size limit.
 */
import test from 'tape'
import { WebSocket } from 'ws'
import { Gossip, base, type GossipConfig } from 'simple-scuttle'
import { Network, connectWebSocket, listenWebSocket } from 'simple-scuttle/net'
import { generateSigningKeys, signer, verifier } from 'simple-scuttle/security'
import { HostileWsClient, type HostileWsOptions } from '../support/hostile-ws-client.ts'
import { waitFor } from '../support/streams.ts'

type Mode = 'plain' | 'signed'
const keys = { b: generateSigningKeys(), v: generateSigningKeys(), c: generateSigningKeys() }
const TOKEN = 'tab secret'

function node(id: 'b' | 'v' | 'c', mode: Mode, extra: Partial<GossipConfig> = {}): Gossip {
  const signed = mode === 'signed'
  return new Gossip(id, {
    ...base.config,
    mtu: 100,
    resolve: base.resolution.lww_vs_current_vers,
    sign: signed ? signer(keys[id].privateKey) : undefined,
    verify: signed ? verifier({ b: keys.b.publicKey, v: keys.v.publicKey, c: keys.c.publicKey }) : undefined,
    ...extra,
  })
}

const tokenFor = (mode: Mode) => (mode === 'signed' ? TOKEN : undefined)

interface World {
  v: Gossip
  vnet: Network
  b: Gossip
  bnet: Network
  url: string
  logs: string[]
  invalid: string[]
  refused: string[]
  close(): Promise<void>
}

async function world(mode: Mode, netOpts: Partial<ConstructorParameters<typeof Network>[1]> = {}, vExtra: Partial<GossipConfig> = {}, wsExtra: { origins?: string[]; maxPayload?: number } = {}): Promise<World> {
  const v = node('v', mode, vExtra)
  const b = node('b', mode)
  for (let i = 0; i < 110; i++) b.set(`b${i}`, { n: i })
  const vnet = new Network(v, { interval: 50, helloTimeout: 500, stallTimeout: 500, idleTimeout: 3000, invalidBudget: 100, maxConnections: 30, ...netOpts })
  const bnet = new Network(b, { interval: 50, backoff: { initial: 10, max: 50 } })
  const logs: string[] = []
  const invalid: string[] = []
  const refused: string[] = []
  vnet.on('log', (l) => logs.push(l))
  vnet.on('refused', (_a, r) => refused.push(r))
  v.on('invalid', (reason: string) => invalid.push(reason))
  const { url } = await listenWebSocket(vnet, { port: 0, token: tokenFor(mode), ...wsExtra })
  connectWebSocket(bnet, { url, token: tokenFor(mode), WebSocket })
  await waitFor(() => bHeld(v) === 110, 20_000, 'v holds b\'s 110 records')
  return { v, vnet, b, bnet, url, logs, invalid, refused, close: async () => void (await Promise.all([vnet.close(), bnet.close()])) }
}

const bHeld = (g: Gossip) => g.records().filter((r) => r.source_id === 'b').length
const hostile = (w: World, mode: Mode, extra: Partial<HostileWsOptions> = {}) => HostileWsClient.open({ url: w.url, token: tokenFor(mode), ...extra })

async function stillConverging(t: test.Test, w: World): Promise<void> {
  for (let i = 0; i < 10; i++) w.b.set(`after${i}`, { n: i })
  w.v.set('v-after', { n: 1 })
  await waitFor(() => w.v.get('after9').value !== null && w.b.get('v-after').value !== null, 20_000, 'writes after the attack')
  t.pass('writes on both sides still replicate')
}

for (const mode of ['plain', 'signed'] as Mode[]) {
  test(`websocket ${mode}: gc floors and a reset from a peer drop nothing`, async (t) => {
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

  test(`websocket ${mode}: no chain of messages carries versions past the clock bound; an unlinked update moves no clock`, async (t) => {
    const w = await world(mode)
    try {
      const h = await hostile(w, mode)
      const before = w.v.clock.get('b')
      let version = 0
      const updates: string[] = []
      for (let i = 0; i < 8193; i++) {
        const next = version + 2 ** 40 - 1
        updates.push(JSON.stringify({ key: `jump${i % 10}`, value: 1, source_id: 'evil-src', version: next, prev: version }))
        version = next
      }
      updates.push(JSON.stringify({ key: 'poison', value: 1, source_id: 'b', version: before + 1_000_000 }))
      const invalidBefore = w.invalid.length
      await h.send(updates)
      await waitFor(() => w.invalid.length > invalidBefore, 10_000, 'refusals')
      const bound = Date.now() * 1000 + w.v.config.maxClockOffset * 1000
      t.ok(w.v.version <= bound, `v's highest version seen (${w.v.version}) stays within its clock plus the offset`)
      t.equal(w.v.clock.get('b'), before, 'v\'s clock for b did not move across the gap')
      t.ok(w.v.set('still', 1), 'set still works')
      h.close()
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`websocket ${mode}: a flood of invalid objects is cut off at the budget, with bounded logs`, async (t) => {
    const w = await world(mode)
    try {
      const h = await hostile(w, mode)
      await h.send((function* () {
        for (let i = 0; i < 100_000; i++) yield '{}'
      })())
      const reason = await h.closed
      t.ok(w.vnet.stats.invalid >= 1, `v disconnected the flooding peer (${reason})`)
      const fromFlood = w.invalid.filter((r) => r === 'update key must be a string or a finite number').length
      t.ok(fromFlood >= 1 && fromFlood <= 101 + 10, `v processed ${fromFlood} invalid objects before cutting it off (budget 100)`)
      t.ok(w.logs.filter((l) => /invalid object/.test(l)).length <= 2, 'and logged them in at most 2 lines')
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`websocket ${mode}: a connection flood is refused past maxConnections, logged once, and cleared by the hello timeout`, async (t) => {
    const w = await world(mode, { helloTimeout: 5_000 }) // long enough for 50 upgrades to pile up on a loaded machine
    try {
      const opened = await Promise.allSettled(Array.from({ length: 50 }, () => hostile(w, mode, { hello: false, read: false })))
      const flood = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
      const refused503 = opened.filter((o) => o.status === 'rejected' && /503/.test(String(o.reason))).length
      t.ok(w.vnet.stats.overLimit >= 10, `connections refused over the limit (${w.vnet.stats.overLimit}, ${refused503} answered 503)`)
      t.ok(w.vnet.connectionCount <= 30, `v holds at most maxConnections (${w.vnet.connectionCount})`)
      t.equal(w.logs.filter((l) => /maxConnections/.test(l)).length, 1, 'one log line for the refusals, not one each')
      await waitFor(() => w.vnet.connectionCount <= 2, 20_000, 'the hello timeout clears the flood')
      for (const f of flood) f.close()
      const c = node('c', mode)
      const cnet = new Network(c, { interval: 50 })
      connectWebSocket(cnet, { url: w.url, token: tokenFor(mode), WebSocket })
      await waitFor(() => bHeld(c) === 110, 20_000, 'a new honest peer gets every record')
      t.pass('a new honest peer connected and caught up')
      await cnet.close()
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`websocket ${mode}: a peer that never reads is disconnected after stallTimeout; what waits for it stays bounded`, async (t) => {
    const w = await world(mode, { idleTimeout: 120_000, helloTimeout: 10_000 }) // so that only the stall, not silence, can end it
    try {
      // Fewer, larger records: the same bytes with an eighth of the writes (signing 40,000 was slow on a loaded machine).
      const filler = 'x'.repeat(2000)
      for (let i = 0; i < 5000; i++) w.v.set(`big${i}`, { filler })
      const h = await hostile(w, mode, { read: false })
      await h.send(['{"digest":true,"done":true}'])
      let maxWaiting = 0
      const conn = () => w.vnet.peers.find((p) => p.id === 'evil') as unknown as { stream: { waiting: number } } | undefined
      await waitFor(() => {
        const c = conn()
        if (c !== undefined) maxWaiting = Math.max(maxWaiting, c.stream.waiting)
        return w.vnet.stats.stalled >= 1
      }, 30_000, 'the stalled peer disconnected')
      h.close()
      t.ok(w.vnet.stats.stalled >= 1, 'v disconnected the peer that does not read')
      t.ok(maxWaiting < 256 * 1024 + 100 * 2200, `bytes waiting for it stayed within the high-water mark and one response (max ${maxWaiting})`)
      await stillConverging(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })

  test(`websocket ${mode}: maxSources holds against a peer inventing sources`, async (t) => {
    const w = await world(mode, {}, { limits: { maxSources: 50 } })
    try {
      const h = await hostile(w, mode)
      const lines: string[] = []
      for (let i = 0; i < 1000; i++) lines.push(JSON.stringify({ key: `s${i}`, value: 1, source_id: `src${i}`, version: 1 }))
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
}

test('websocket: clock skew beyond maxClockOffset is refused at the hello, naming the skew', async (t) => {
  const w = await world('plain')
  try {
    const h = await hostile(w, 'plain', { time: Date.now() + 30 * 24 * 3600 * 1000 })
    await h.closed
    await waitFor(() => w.refused.length > 0, 5000, 'refusal')
    t.match(w.refused[0], /clock skew: the peer's clock is 30 days ahead of this node's, more than the 5 min allowed/, w.refused[0])
    t.match(h.received[0] ?? '', /"hello":1/, 'the node sent its own hello (with its clock), so the peer can refuse too')
  } finally {
    await w.close()
  }
  t.end()
})

test('websocket: the upgrade is refused without the token, with a wrong one, from another origin, or without the subprotocol', async (t) => {
  const w = await world('signed', {}, {}, { origins: ['http://good.example'] })
  try {
    const status = (o: Partial<HostileWsOptions>) => hostile(w, 'signed', o).then((h) => (h.close(), 'accepted'), (err: Error) => err.message)
    t.equal(await status({ token: undefined }), 'HTTP 401', 'no token: 401')
    t.equal(await status({ token: 'guess' }), 'HTTP 401', 'wrong token: 401')
    t.equal(await status({ origin: 'http://evil.example' }), 'HTTP 403', 'origin not in the list: 403')
    t.equal(await status({ protocols: ['chat'] }), 'HTTP 400', 'no simple-scuttle subprotocol: 400')
    t.equal(await status({ origin: 'http://good.example' }), 'accepted', 'the right token from an allowed origin is accepted')
    t.deepEqual(w.refused.slice(0, 4), ['no token', 'wrong token', 'origin "http://evil.example" is not allowed', 'not a simple-scuttle client (no "simple-scuttle" subprotocol)'], 'each refusal is reported with its reason')
    t.equal(w.vnet.peers.length, 1, 'and none of them took a connection slot: b is the only peer')
    await stillConverging(t, w)
  } finally {
    await w.close()
  }
  t.end()
})

test('websocket: a frame over maxPayload closes that link only', async (t) => {
  const w = await world('plain', {}, {}, { maxPayload: 64 * 1024 })
  try {
    const h = await hostile(w, 'plain')
    await h.frame('x'.repeat(100 * 1024))
    const reason = await h.closed
    t.match(reason, /1009/, `the peer was closed with 1009, message too big (${reason})`)
    await stillConverging(t, w)
  } finally {
    await w.close()
  }
  t.end()
})
