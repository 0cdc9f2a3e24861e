/**
 * join() checks its seeds before it changes anything, as the CLI's
 * --seed does: a malformed one is a RangeError naming it, and the network
 * can still join with corrected seeds.
 */
import test from 'tape'
import { seededRandom } from '../../lib/core/random.ts'
import { Network, join } from '../../lib/net.ts'
import type { LinkAttempt, Target } from '../../lib/transport/link.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { node } from '../support/streams.ts'

test('join with a malformed seed throws a RangeError naming it, and leaves the network able to join', async (t) => {
  const timers = new FakeTimers()
  const network = new Network(node('a', { now: () => 1_800_000_000_000 + timers.now() }), { interval: 300, timers, random: seededRandom(1) })
  // Dials never complete: the test sees only what join does with its options.
  const dials: string[] = []
  const opener = (addr: Target) => {
    dials.push(`${addr.host}:${addr.port}`)
    return { ready: new Promise<never>(() => {}), cancel: () => {} } satisfies LinkAttempt
  }
  const cases: [string, RegExp][] = [
    ['nope', /seed "nope" must be host:port/],
    ['127.0.0.1:99999', /seed "127\.0\.0\.1:99999" needs a port between 1 and 65535/],
    ['127.0.0.1:', /seed "127\.0\.0\.1:" needs a port between 1 and 65535/],
    ['::1:7000', /seed "::1:7000" must be host:port/],
  ]
  for (const [seed, want] of cases) {
    try {
      join(network, { advertise: '127.0.0.1:7000', seeds: ['127.0.0.1:7001', seed], opener })
      t.fail(`join with seed ${seed} was accepted`)
    } catch (err) {
      t.ok(err instanceof RangeError, `${seed}: a RangeError`)
      t.match((err as Error).message, want, (err as Error).message)
    }
  }
  t.equal(network.membership, null, 'the network has not joined')
  t.deepEqual(dials, [], 'nothing was dialled')
  const m = join(network, { advertise: '127.0.0.1:7000', seeds: ['127.0.0.1:7001', '[::1]:7002'], opener })
  t.equal(network.membership, m, 'a corrected join is taken')
  for (let i = 0; i < 10; i++) timers.advance(300)
  t.deepEqual([...new Set(dials)].sort(), ['127.0.0.1:7001', '::1:7002'], 'and dials its seeds')
  await network.close()
  t.end()
})
