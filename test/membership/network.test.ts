/**
 * Membership on real networks over loopback TCP: joining through one seed,
 * members() and the events, a graceful leave heard at once, a silent node
 * detected, a restart with a new generation, duplicate links collapsing,
 * replica traffic on the same links, and peers without membership.
 */
import test from 'tape'
import { Network, connect, listen } from '../../lib/net.ts'
import { node, sameState, waitFor } from '../support/streams.ts'
import { allAlive, memberNet, untilAllAlive, type MemberNet } from './support/nets.ts'

/** A node never declared dead by its detector within a test (threshold far away): a state change can only come from a record. */
const patient = { detector: { threshold: 1000, suspect: 999 } }

async function cluster(n: number, opts: Parameters<typeof memberNet>[1] = {}): Promise<MemberNet[]> {
  const first = await memberNet('n0', opts)
  const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => memberNet(`n${i + 1}`, { ...opts, seeds: [first.addr] })))
  return [first, ...rest]
}

test('five nodes, each given only the first as seed, learn every member alive; members() and join events', async (t) => {
  const nets = await cluster(5)
  await untilAllAlive(nets, false, 20_000, 'every node to hold all five alive')
  t.ok(allAlive(nets), 'every node lists all five, alive')
  const seen = nets[3].net.members()
  t.deepEqual(seen.map((m) => m.id), ['n0', 'n1', 'n2', 'n3', 'n4'], 'members() is sorted by id, this node included')
  t.deepEqual(seen.filter((m) => m.self).map((m) => m.id), ['n3'], 'its own entry says self')
  t.ok(seen.every((m) => m.address === nets.find((x) => x.id === m.id)!.addr), 'each with the address it advertised')
  t.ok(seen.every((m) => m.generation === nets.find((x) => x.id === m.id)!.membership.table.selfRecord.gen), 'and its generation')
  const joins = nets[3].events.filter((e) => e.kind === 'join').map((e) => e.id).sort()
  t.deepEqual(joins, ['n0', 'n1', 'n2', 'n4'], 'one join event for each other member')
  t.ok(nets[3].events.filter((e) => e.kind === 'join').every((e) => e.reason === 'new member'), 'reason "new member"')
  await Promise.all(nets.map((n) => n.net.close()))
  t.end()
})

test('writes replicate over the membership links (a seed and the view, no --peer)', async (t) => {
  const nets = await cluster(4)
  await untilAllAlive(nets, false, 20_000, 'membership')
  nets[3].gossip.set('hello', 'from n3')
  nets[1].gossip.set('other', 'from n1')
  await waitFor(() => nets.every((n) => n.gossip.get('hello').value === 'from n3' && n.gossip.get('other').value === 'from n1'), 20_000, 'the writes everywhere')
  t.ok(sameState(nets.map((n) => n.gossip)), 'every node holds the same state')
  t.ok(nets.every((n) => n.membership.stats.messagesIn > 0 && n.membership.stats.bytesOut > 0), 'membership lines went both ways on the same connections')
  await Promise.all(nets.map((n) => n.net.close()))
  t.end()
})

test('close() leaves gracefully: every node linked to it marks it left at once, with the reason', async (t) => {
  const nets = await cluster(4, patient)
  // A view of 6 links four nodes in a full mesh: the leave goes to every other node directly.
  await waitFor(() => allAlive(nets) && nets.every((n) => n.net.peers.length === 3), 20_000, 'membership, and every pair linked')
  const gone = nets[2]
  const rest = nets.filter((n) => n !== gone)
  const closedBy: string[] = []
  for (const n of rest) n.net.on('disconnect', (p, reason) => p.id === 'n2' && reason === 'peer left the cluster' && closedBy.push(n.id))
  await gone.net.close()
  // The detectors here would take 1000 mean intervals: only the leave record can say left.
  await waitFor(() => rest.every((n) => n.member('n2')?.state === 'left'), 10_000, 'n2 left at every node')
  for (const n of rest) {
    const e = n.events.find((x) => x.kind === 'leave' && x.id === 'n2')
    t.equal(e?.reason, 'left the cluster', `${n.id}: leave event, "left the cluster"`)
  }
  t.ok(rest.every((n) => !n.events.some((x) => x.kind === 'down')), 'nobody saw a down')
  t.deepEqual(closedBy.sort(), ['n0', 'n1', 'n3'], 'each closed its link to n2 once it had read the leave (n2 waited for that, not for a timeout)')
  await Promise.all(rest.map((n) => n.net.close()))
  t.end()
})

test('a node that stops beating is marked dead by every other (down, with the reason); a new generation of it joins', async (t) => {
  // maxInterval 3 s: its replica still answers, and the bytes on its links end its silence for 3 maxInterval (9 s) past its last heartbeat.
  const nets = await cluster(4, { detector: { maxInterval: 3000 } })
  // Heard beating: a member learnt but never heard is judged after maxInterval instead (see table.test.ts).
  await untilAllAlive(nets, true, 20_000, 'membership, heartbeats heard')
  const victim = nets[3]
  const oldGen = victim.membership.table.selfRecord.gen
  victim.membership.stop() // silent: no leave, its links stay open, its replica goes on
  const rest = nets.slice(0, 3)
  await waitFor(() => rest.every((n) => n.member('n3')?.state === 'dead'), 30_000, 'n3 dead everywhere')
  for (const n of rest) {
    const e = n.events.find((x) => x.kind === 'down' && x.id === 'n3')
    t.match(e?.reason ?? '', /^no heartbeat for \d+\.\d s(, though its link carried bytes \d+\.\d s ago: its membership stalled)? \(phi \d+\.\d >= 8\)$/, `${n.id}: down: "${e?.reason}"`)
  }
  victim.net.removeAllListeners()
  const stopping = victim.net.close()
  await stopping
  // The same id comes back with a later generation (a restart).
  const again = await memberNet('n3', { seeds: [nets[0].addr], generation: oldGen + 1000 })
  await waitFor(() => rest.every((n) => n.member('n3')?.generation === oldGen + 1000 && n.member('n3')?.state === 'alive'), 20_000, 'the new generation alive everywhere')
  for (const n of rest) {
    t.ok(n.events.some((x) => x.kind === 'join' && x.id === 'n3' && x.generation === oldGen + 1000), `${n.id}: join of the new generation`)
  }
  await Promise.all([...rest, again].map((n) => n.net.close()))
  t.end()
})

test('two nodes that dial each other keep one connection (duplicates collapse)', async (t) => {
  const a = await memberNet('a')
  const b = await memberNet('b', { seeds: [a.addr] })
  // a dials b as well: both ends then hold two links to each other for a moment.
  connect(a.net, { host: '127.0.0.1', port: b.port })
  await untilAllAlive([a, b], false, 20_000, 'membership')
  await new Promise((r) => setTimeout(r, 500))
  t.equal(a.net.peers.length, 1, 'a keeps one connection to b')
  t.equal(b.net.peers.length, 1, 'b keeps one connection to a')
  t.equal(a.net.peers[0]?.direction === 'out' ? b.net.peers[0]?.direction : 'out', 'in', 'the two ends agree on which one it is')
  await Promise.all([a.net.close(), b.net.close()])
  t.end()
})

test('a peer without membership still replicates with a member node, and is not listed as a member', async (t) => {
  const a = await memberNet('a')
  const plain = new Network(node('plain', { now: () => Date.now() }), { interval: 100, backoff: { initial: 10, max: 200 } })
  await listen(plain, { port: 0, host: '127.0.0.1' })
  connect(plain, { host: '127.0.0.1', port: a.port })
  a.gossip.set('k', 'from a')
  await waitFor(() => plain.gossip.get('k').value === 'from a', 10_000, 'the write at the plain node')
  t.equal(plain.gossip.get('k').value, 'from a', 'the plain node got the write')
  t.deepEqual(a.net.members().map((m) => m.id), ['a'], 'a lists only itself')
  t.deepEqual(plain.members(), [], 'a network that never joined lists no member')
  t.equal(a.net.stats.invalid, 0, 'nothing was refused either way')
  await Promise.all([a.net.close(), plain.close()])
  t.end()
})

test('a seed given by host name is resolved, and resolved again later', async (t) => {
  const a = await memberNet('a')
  const asked: string[] = []
  const b = await memberNet('b', {
    seeds: [`seed.cluster.test:${a.port}`],
    resolve: async (host) => {
      asked.push(host)
      return ['127.0.0.1']
    },
    resolveEvery: 200,
  })
  await untilAllAlive([a, b], false, 20_000, 'b to join through the named seed')
  t.ok(allAlive([a, b]), 'b joined through seed.cluster.test, resolved to 127.0.0.1')
  await waitFor(() => asked.length >= 3, 10_000, 'the name resolved again')
  t.ok(asked.every((h) => h === 'seed.cluster.test'), `the seed's name was resolved ${asked.length} times`)
  await Promise.all([a.net.close(), b.net.close()])
  const after = asked.length
  await new Promise((r) => setTimeout(r, 500))
  t.equal(asked.length, after, 'and no more once the network closed')
  t.end()
})

test('join() twice, or after close(), is refused', async (t) => {
  const a = await memberNet('a')
  const { join } = await import('../../lib/net.ts')
  t.throws(() => join(a.net, { advertise: a.addr }), /already joined a cluster/, 'a second join')
  await a.net.close()
  const b = new Network(node('b'))
  await b.close()
  t.throws(() => join(b, { advertise: '127.0.0.1:1' }), /network closed/, 'join after close')
  t.end()
})
