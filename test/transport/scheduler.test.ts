import test from 'tape'
import { Scheduler } from '../../lib/transport/scheduler.ts'
import { backoffDelay } from '../../lib/transport/timers.ts'
import { seededRandom } from '../../lib/core/random.ts'
import { FakeTimers } from '../support/fake-timers.ts'

test('scheduler: a round every interval, fanout peers chosen at random', (t) => {
  const timers = new FakeTimers()
  const hits = [0, 0, 0, 0, 0]
  const peers = hits.map((_, i) => ({ gossip: () => hits[i]++ }))
  const s = new Scheduler(() => peers, { interval: 100, fanout: 2, random: seededRandom(3), timers })
  s.start()
  timers.advance(99)
  t.equal(s.rounds, 0, 'nothing before the first interval')
  timers.advance(1)
  t.equal(s.rounds, 1, 'one round at 100 ms')
  t.equal(hits.reduce((a, b) => a + b), 2, 'two peers contacted')
  timers.advance(100 * 499)
  t.equal(s.rounds, 500, '500 rounds in 50 s')
  t.ok(hits.every((h) => h > 150 && h < 250), `spread evenly over peers: ${hits.join(', ')}`)
  s.stop()
  timers.advance(10_000)
  t.equal(s.rounds, 500, 'stop halts rounds')
  t.deepEqual(timers.delays(), [], 'no timer left behind')
  t.end()
})

test('scheduler: with fewer peers than fanout, all of them', (t) => {
  const timers = new FakeTimers()
  let n = 0
  const s = new Scheduler(() => [{ gossip: () => n++ }], { interval: 10, fanout: 3, random: Math.random, timers })
  s.tick()
  t.equal(n, 1, 'the only peer')
  t.throws(() => new Scheduler(() => [], { interval: 0, random: Math.random, timers }), /interval/, 'bad interval refused')
  t.end()
})

test('backoff: exponential with equal jitter, capped', (t) => {
  const r = seededRandom(1)
  const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i, r, { initial: 100, max: 5000 }))
  delays.forEach((d, i) => {
    const ceiling = Math.min(5000, 100 * 2 ** i)
    t.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${i}: ${d} ms within [${ceiling / 2}, ${ceiling}]`)
  })
  t.end()
})
