/**
 * `gossip.stats.invalidByReason` stays small whatever a peer sends: a
 * refusal whose reason carries a user function's message (which may hold
 * the peer's key or value) is counted under the function's fixed reason,
 * the full message only in the 'invalid' event; and at most
 * MAX_REASON_KEYS distinct keys are kept, the rest counted as 'other'.
 */
import test from 'tape'
import type { GossipConfig } from '../../lib/index.ts'
import { InvalidCounts, MAX_REASON_KEYS, OTHER, reasonKey } from '../../lib/stream/invalid-counts.ts'
import { node, quiet } from '../support/streams.ts'

const N = 2000

/** N records of source 'peer' with distinct keys, fed to a fresh node with `extra`; its stats and reported reasons. */
async function feed(extra: Partial<GossipConfig>) {
  const g = node('victim', extra)
  const reported: string[] = []
  g.on('invalid', (reason: string) => reported.push(reason))
  const s = g.createStream()
  for (let i = 0; i < N; i++) s.write({ key: `k-${i}-${'x'.repeat(50)}`, value: 'not an object', source_id: 'peer', version: i + 1 })
  await quiet(5)
  return { stats: g.stats, reported }
}

test('an accept that throws a message naming the key: one counter, the message in the event', async (t) => {
  const { stats, reported } = await feed({
    accept: (u) => {
      if (typeof u.value !== 'object') throw new TypeError(`${u.key}: the value must be an object`)
      return true
    },
  })
  t.equal(stats.invalid, N, `${N} records refused`)
  t.equal(Object.keys(stats.invalidByReason).length, 1, 'one key in invalidByReason')
  t.equal(stats.invalidByReason['config.accept threw'], N, 'counted under the fixed reason')
  t.equal(new Set(reported).size, N, 'each event carries its own message')
  t.equal(reported[7], `config.accept threw: k-7-${'x'.repeat(50)}: the value must be an object`, 'the full message')
  t.end()
})

test('a resolve that throws, an accept that answers neither true nor false: one counter each', async (t) => {
  const threw = await feed({
    resolve: (_g, u) => {
      throw new Error(`no: ${u.key}`)
    },
  })
  t.equal(Object.keys(threw.stats.invalidByReason).length, 1, 'resolve threw: one key')
  t.equal(threw.stats.invalidByReason['config.resolve threw'], N, 'counted under config.resolve threw')
  const odd = await feed({ accept: ((u: { key: string }) => u.key) as unknown as GossipConfig['accept'] })
  t.equal(Object.keys(odd.stats.invalidByReason).length, 1, 'accept returned a string: one key')
  t.equal(odd.stats.invalidByReason['config.accept returned neither true nor false'], N, 'counted as neither true nor false')
  t.ok(odd.reported[0].startsWith('config.accept returned k-0-'), 'the event says what it returned')
  t.end()
})

test('reason keys: fixed reasons as they are, messages cut off', (t) => {
  t.equal(reasonKey('update key longer than 1024'), 'update key longer than 1024')
  t.equal(reasonKey('not accepted'), 'not accepted')
  t.equal(reasonKey('config.verify.knows threw: x'), 'config.verify.knows threw')
  t.equal(reasonKey('the state object threw: x: y'), 'the state object threw')
  t.equal(reasonKey('internal error: boom'), 'internal error')
  t.end()
})

test(`at most ${MAX_REASON_KEYS} distinct keys, then '${OTHER}'`, (t) => {
  const c = new InvalidCounts()
  for (let i = 0; i < 10_000; i++) c.count(`reason ${i % 500}`)
  const snap = c.snapshot()
  t.equal(Object.keys(snap).length, MAX_REASON_KEYS + 1, `${MAX_REASON_KEYS} reasons and '${OTHER}'`)
  t.equal(snap['reason 0'], 20, 'a reason counted on its own keeps counting')
  t.equal(snap[OTHER], 10_000 - MAX_REASON_KEYS * 20, 'the rest under other')
  t.equal(Object.values(snap).reduce((a, b) => a + b, 0), c.total, 'every refusal counted once')
  t.end()
})
