/**
 * The membership service's rounds (lib/transport/membership.ts) on fake
 * timers, without sockets: heartbeats are fed to the table as a link would
 * deliver them, and the test decides when the process stalls.
 */
import test from 'tape'
import { seededRandom } from '../../lib/core/random.ts'
import { Network, join } from '../../lib/net.ts'
import type { Member } from '../../lib/membership/types.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { node } from '../support/streams.ts'

const WALL = 1_800_000_000_000
const INTERVAL = 300

test('a node whose process stalls for 4 s does not report its healthy peers down when it resumes, before it reads the heartbeats that waited', (t) => {
  const timers = new FakeTimers()
  const gossip = node('a', { now: () => WALL + timers.now() })
  const network = new Network(gossip, { interval: INTERVAL, timers, random: seededRandom(1) })
  const logs: string[] = []
  const events: string[] = []
  network.on('log', (l) => logs.push(l))
  for (const kind of ['down', 'up'] as const) network.on(kind, (m: Member, why: string) => events.push(`${kind} ${m.id}: ${why}`))
  // Member dials never complete: the peers' links are the test's heartbeats.
  const m = join(network, { advertise: '127.0.0.1:1', seeds: [], opener: () => ({ ready: new Promise(() => {}), cancel: () => {} }) })
  for (const id of ['b', 'c']) m.table.applyRecord({ id, gen: WALL, v: 1, addr: `${id}.test:7000`, st: 'up' }, timers.now())
  let n = 0
  const beat = () => {
    n++
    m.table.applyBeats(['b', WALL, n, 'c', WALL, n], timers.now(), 'link')
  }
  for (let i = 0; i < 30; i++) {
    beat()
    timers.advance(INTERVAL)
  }
  t.deepEqual(events, [], 'b and c beat every round: alive')
  const rounds = m.stats.rounds
  timers.stall(4000)
  timers.advance(0)
  t.equal(m.stats.rounds, rounds + 1, 'on resuming, the overdue round runs first')
  t.deepEqual(events, [], 'and reports no one down over the node\'s own stall')
  t.ok(logs.some((l) => /a round 4\.\d s after the last \(this node stalled\)/.test(l)), 'the stall is logged')
  timers.advance(20)
  beat() // the heartbeats that waited in the socket buffers
  for (let i = 0; i < 10; i++) {
    timers.advance(INTERVAL)
    beat()
  }
  t.deepEqual(events, [], 'no down and no up once they are read')
  t.deepEqual(m.members().map((x) => `${x.id}:${x.state}`), ['a:alive', 'b:alive', 'c:alive'], 'every member alive')
  t.ok(m.table.get('b')!.window.mean(m.table.opts.detector) < 600, 'the stall is not an interval of the detector\'s')
  m.stop()
  t.end()
})
