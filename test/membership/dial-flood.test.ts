/**
 * Member-address reflection, on loopback with injected time: a hostile peer
 * gossips forged member records (invented ids, attacker-chosen addresses,
 * kept alive by forged heartbeats) to a cluster of three honest nodes.
 * Every node would dial whatever the records name; the dial backoff per
 * address, one member per address and the dial rate (dial-backoff.ts) bound
 * what they dial, whatever the number of records. The bounds asserted are
 * computed from the backoff schedule and the rate, not observed. And an
 * honest member whose address fails and then comes back is dialled again
 * once its backoff ends.
 *
 * Time is a FakeTimers clock that every node shares: a round runs when the
 * test advances it, and the test waits for what the round set going to
 * settle before the next one: its dials refused or linked, their hellos
 * over, and every byte written on a link read at the other end.
 */
import test from 'tape'
import * as net from 'node:net'
import { seededRandom } from '../../lib/core/random.ts'
import { DIAL_LIMITS, dialLimits, delayCeiling, maxAttemptsWithin, maxDialsWithin } from '../../lib/membership/dial-backoff.ts'
import { Network, join, listen, type Membership } from '../../lib/net.ts'
import { openTcp, type Opener } from '../../lib/transport/dial.ts'
import { addressKey } from '../../lib/transport/member-address.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { HostileClient } from '../support/hostile-client.ts'
import type { Connection } from '../../lib/transport/connection.ts'
import { node, waitFor } from '../support/streams.ts'

const INTERVAL = 1000
const ROUNDS = 60
const S = '0000000000000000'
const line = (o: unknown) => JSON.stringify(o)

interface Honest {
  id: string
  net: Network
  membership: Membership
  addr: string
  /** Every dial, with the shared clock's time. */
  attempts: { addr: string; at: number }[]
  logs: string[]
}

/** A shared clock, and the dials in flight on it. */
class World {
  readonly timers = new FakeTimers()
  pending = 0
  readonly nodes: Honest[] = []
  /** Sockets of the hostile peers (the nodes' own are found through their connections). */
  readonly others: net.Socket[] = []

  /** An opener that counts its attempts and how many are unsettled. */
  opener(into: Honest['attempts']): Opener {
    return (target) => {
      into.push({ addr: target.address, at: this.timers.now() })
      this.pending++
      const a = openTcp(target)
      let open = true
      const settle = () => {
        if (open) this.pending--
        open = false
      }
      a.ready.then(settle, settle)
      return { ready: a.ready, cancel: () => (settle(), a.cancel()) }
    }
  }

  async node(id: string, opts: { seeds?: string[]; port?: number; seed: number }): Promise<Honest> {
    const gossip = node(id, { now: () => Date.now() })
    const network = new Network(gossip, { interval: INTERVAL, timers: this.timers, random: seededRandom(opts.seed), backoff: { initial: 10, max: 200 } })
    const { port } = await listen(network, { port: opts.port ?? 0, host: '127.0.0.1' })
    const addr = `127.0.0.1:${port}`
    const h: Honest = { id, net: network, membership: null as unknown as Membership, addr, attempts: [], logs: [] }
    network.on('log', (l) => h.logs.push(l))
    h.membership = join(network, { advertise: addr, seeds: opts.seeds ?? [], opener: this.opener(h.attempts) })
    this.nodes.push(h)
    return h
  }

  /** Whether the dials are settled, the hellos over and every byte written on a link read at its other end. */
  private quiet(): boolean {
    if (this.pending > 0 || !this.nodes.every((n) => n.net.connectionCount === n.net.peers.length)) return false
    const conns = this.nodes.flatMap((n) => [...(n.net as unknown as { connections: Set<Connection> }).connections])
    const sockets = [...conns.map((c) => c.socket as net.Socket), ...this.others].filter((s) => !s.destroyed)
    const byEnds = new Map(sockets.map((s) => [`${s.localPort}>${s.remotePort}`, s]))
    return sockets.every((s) => {
      const peer = byEnds.get(`${s.remotePort}>${s.localPort}`)
      return s.writableLength === 0 && (peer === undefined || peer.bytesRead === s.bytesWritten)
    })
  }

  /** One round everywhere: advance the clock, then wait until all it set going is quiet, and stays so past one turn of the event loop. */
  async round(): Promise<void> {
    this.timers.advance(INTERVAL)
    do {
      await new Promise((r) => setImmediate(r))
      await waitFor(() => this.quiet(), 10_000, 'the round to settle')
      await new Promise((r) => setImmediate(r))
    } while (!this.quiet())
  }

  /** Close every node, moving the clock while they leave (a leave waits for its peers, at most a second of the clock). */
  async close(): Promise<void> {
    for (const s of this.others) s.destroy()
    let done = false
    const closing = Promise.all(this.nodes.map((n) => n.net.close())).then(() => (done = true))
    while (!done) {
      this.timers.advance(INTERVAL)
      await new Promise((r) => setImmediate(r))
    }
    await closing
  }
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as net.AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

/** Whether each of `nodes` is linked to every other. */
const meshed = (nodes: Honest[]) => nodes.every((n) => nodes.every((m) => m === n || n.net.peers.some((p) => p.id === m.id)))

/** Three honest nodes, linked in a mesh, each holding the others alive. */
async function cluster(w: World): Promise<Honest[]> {
  const n0 = await w.node('n0', { seed: 1 })
  const rest = [await w.node('n1', { seeds: [n0.addr], seed: 2 }), await w.node('n2', { seeds: [n0.addr], seed: 3 })]
  const all = [n0, ...rest]
  for (let r = 0; r < 30 && !(meshed(all) && all.every((n) => n.net.members().length === 3)); r++) await w.round()
  if (!meshed(all)) throw new Error('the honest cluster did not form')
  return all
}

/** The hostile peer: linked to every honest node, it sends them `recs` and keeps the ids alive with beats. */
async function hostile(w: World, nodes: Honest[], recs: object[]): Promise<{ beat(n: number): Promise<void>; close(): void }> {
  const links = await Promise.all(nodes.map((n) => HostileClient.open({ port: Number(n.addr.split(':')[1]), id: 'evil', extraHello: { members: 1 } })))
  w.others.push(...links.map((l) => l.socket))
  const ids = recs.map((r) => (r as { id: string }).id)
  const gen = (recs[0] as { gen: number }).gen
  // An empty digest first: a peer silent after its hello is closed (and this one stays linked for the whole test).
  for (const l of links) await l.send([line({ digest: true, done: true }), line({ mb: 'recs', recs })])
  await waitFor(() => nodes.every((n) => ids.every((id) => n.membership.table.get(id) !== undefined)), 10_000, 'the forged records applied everywhere')
  return {
    async beat(n: number) {
      const hb = ids.flatMap((id) => [id, gen, n])
      for (const l of links) await l.send([line({ mb: 'beat', s: S, hb })])
      await waitFor(() => nodes.every((x) => x.membership.table.get(ids[0])!.hb >= n), 10_000, 'the forged beats applied')
    },
    close: () => links.forEach((l) => l.close()),
  }
}

const forged = (ids: string[], addrs: string[], gen: number) => ids.map((id, i) => ({ id, gen, v: 1, addr: addrs[i % addrs.length], st: 'up' }))

/** Run the flood: `ROUNDS` rounds with forged beats; returns the dials each node made meanwhile, by address. */
async function flood(w: World, nodes: Honest[], recs: object[]): Promise<{ dials: string[][]; logs: number }> {
  const h = await hostile(w, nodes, recs)
  const from = nodes.map((n) => n.attempts.length)
  const logsFrom = nodes.map((n) => n.logs.length)
  for (let r = 1; r <= ROUNDS; r++) {
    await w.round()
    await h.beat(r)
  }
  h.close()
  return { dials: nodes.map((n, i) => n.attempts.slice(from[i]).map((a) => a.addr)), logs: nodes.reduce((s, n, i) => s + n.logs.length - logsFrom[i], 0) }
}

/** A test in its own world, closed however the test ends (a failed assertion that throws leaves no socket open). */
function inWorld(name: string, body: (t: test.Test, w: World) => Promise<void>): void {
  test(name, async (t) => {
    const w = new World()
    try {
      await body(t, w)
    } finally {
      await w.close()
    }
    t.end()
  })
}

const limits = dialLimits({ burst: 6 })
/** Rate-limited lines: at most one per key (two keys: a dial failure, the dial rate) per 10 s of the clock, and one at the start. */
const logBound = (nodes: number) => nodes * 2 * (Math.floor((ROUNDS * INTERVAL) / 10_000) + 1)

inWorld('forged records naming one closed port (in many spellings) and an honest node: few dials, by the backoff schedule', async (t, w) => {
  const nodes = await cluster(w)
  const port = await closedPort()
  const spellings = ['127.0.0.1', '127.000.0.1', '[::ffff:127.0.0.1]', '127.1', '0x7f.0.0.1', '2130706433', '0177.0.0.1']
  const victim = spellings.map((h) => `${h}:${port}`)
  const n0Port = nodes[0].addr.split(':')[1]
  const atN0 = spellings.map((h) => `${h}:${n0Port}`)
  const gen = Date.now() - 1000
  const recs = [...forged(Array.from({ length: 40 }, (_, i) => `forged-${i}`), victim, gen), ...forged(Array.from({ length: 14 }, (_, i) => `at-n0-${i}`), atN0, gen)]
  const { dials, logs } = await flood(w, nodes, recs)
  const perNode = maxAttemptsWithin(ROUNDS * INTERVAL, limits)
  const total = dials.flat().length
  const toVictim = dials.flat().filter((a) => addressKey(a) === `127.0.0.1:${port}`).length
  t.comment(`dials in ${ROUNDS} rounds by 3 nodes: ${total} (${toVictim} to the closed port, ${total - toVictim} to n0's address); bound ${3 * perNode}`)
  t.ok(dials.every((d) => d.length <= perNode), `each node dialled at most ${perNode} times (the backoff's bound over ${ROUNDS} s): ${dials.map((d) => d.length).join(', ')}`)
  t.ok(total <= 3 * perNode, `${total} dials in all, at most ${3 * perNode}`)
  t.equal(total - toVictim, 0, 'n0\'s address, linked already, is not dialled for the ids that claim it')
  t.ok(logs <= logBound(3), `${logs} log lines, at most ${logBound(3)} (rate-limited)`)
  for (const n of nodes) {
    t.ok(n.membership.stats.dialsBackedOff > 0 && n.membership.stats.dialsSameAddress > 0, `${n.id}: held back ${n.membership.stats.dialsBackedOff} times by the backoff, ${n.membership.stats.dialsSameAddress} ids passed over at an address taken`)
  }
  t.ok(meshed(nodes), 'the honest links are still up')
})

inWorld('forged records naming many closed ports: the dial rate bounds the dials, whatever their number', async (t, w) => {
  const nodes = await cluster(w)
  const ports = await Promise.all(Array.from({ length: 40 }, () => closedPort()))
  const addrs = ports.map((p) => `127.0.0.1:${p}`)
  const recs = forged(addrs.map((_, i) => `forged-${i}`), addrs, Date.now() - 1000)
  const { dials, logs } = await flood(w, nodes, recs)
  const perNode = Math.min(addrs.length * maxAttemptsWithin(ROUNDS * INTERVAL, limits), maxDialsWithin(ROUNDS, limits))
  const total = dials.flat().length
  t.comment(`dials in ${ROUNDS} rounds by 3 nodes: ${total}; bound ${3 * perNode} (burst ${limits.burst} + ${limits.perRound} a round, each node)`)
  t.ok(dials.every((d) => d.length <= perNode), `each node dialled at most ${perNode} times: ${dials.map((d) => d.length).join(', ')}`)
  t.ok(total <= 3 * perNode, `${total} dials in all, at most ${3 * perNode}`)
  t.ok(logs <= logBound(3), `${logs} log lines, at most ${logBound(3)} (rate-limited)`)
  for (const n of nodes) t.ok(n.membership.stats.dialsRateLimited > 0, `${n.id}: ${n.membership.stats.dialsRateLimited} dials held back by the rate`)
  t.ok(meshed(nodes), 'the honest links are still up')
})

inWorld('a member whose address fails is dialled again once its backoff ends, and the backoff is cleared by its hello', async (t, w) => {
  const a = await w.node('a', { seed: 5 })
  const port = await closedPort()
  const key = `127.0.0.1:${port}`
  // A relay tells a of member b, at an address where nothing listens yet, and keeps b's heartbeat rising.
  const relay = await hostile(w, [a], forged(['b'], [key], Date.now() - 1000))
  for (let r = 1; r <= 12; r++) {
    await w.round()
    await relay.beat(r)
  }
  const tries = a.attempts.filter((x) => x.addr === key)
  t.ok(tries.length >= 3 && tries.length <= maxAttemptsWithin(12 * INTERVAL, DIAL_LIMITS), `${tries.length} dials of b's address in 12 s (at most ${maxAttemptsWithin(12 * INTERVAL, DIAL_LIMITS)})`)
  const gaps = tries.slice(1).map((x, i) => x.at - tries[i].at)
  t.ok(gaps.every((g, i) => g >= delayCeiling(i + 1, DIAL_LIMITS) / 2), `the gaps between them grow with the failures: ${gaps.join(', ')} ms`)
  const failures = a.membership.gate.failures(key)
  t.equal(failures, tries.length, 'each failure remembered')
  // b comes up at that address; a dials it at the first round its backoff allows.
  const until = a.membership.gate.until(key)
  const b = await w.node('b', { port, seed: 6 })
  let linkedAt = -1
  for (let r = 1; r <= 20; r++) {
    await w.round()
    if (a.net.peers.some((p) => p.id === 'b' && p.direction === 'out')) {
      linkedAt = w.timers.now()
      break
    }
    await relay.beat(12 + r)
  }
  t.ok(linkedAt >= until && linkedAt < until + INTERVAL, `a linked to b at ${linkedAt} ms, the first round at or after its backoff's end (${until} ms)`)
  t.equal(a.membership.gate.failures(key), 0, 'the hello with b\'s id cleared the backoff')
  t.equal(b.net.peers.find((p) => p.id === 'a')?.direction, 'in', 'the link is a\'s dial')
  relay.close()
})
