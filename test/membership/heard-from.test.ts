/**
 * Signs of life other than heartbeats (table.ts `heardFrom`, detector.ts
 * `heard`): bytes from a member on its own link end its silence but are no
 * arrival, so the detector's mean stays the heartbeats' own; they keep a
 * member alive or suspect from going down, bring back none held dead, and
 * once they stop the member is judged by the same silence as before.
 */
import test from 'tape'
import { HEARD_FACTOR } from '../../lib/membership/detector.ts'
import { beatEvery, beats, rec, state, table } from './support/tables.ts'

test('bytes from a member keep it alive without a heartbeat, and are no samples; once they stop, down after the usual silence, the reason saying both', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  const last = beatEvery(a, 'b', 0, 3000, 300) // last arrival at 2700, mean 300
  const mean = a.get('b')!.window.mean(a.opts.detector)
  const samples = a.get('b')!.window.samples
  // 20 s of bytes every 50 ms, no heartbeat.
  for (let at = 2750; at <= 22_700; at += 50) {
    a.heardFrom('b', at)
    a.tick(at)
  }
  t.equal(state(a, 'b'), 'alive', 'alive after 20 s with no heartbeat, bytes arriving every 50 ms')
  t.deepEqual(events.filter((e) => e.kind !== 'join'), [], 'no down, no up')
  t.equal(a.get('b')!.window.samples, samples, 'the bytes are no arrivals: no interval sampled')
  t.equal(a.get('b')!.window.mean(a.opts.detector), mean, 'the mean is still the heartbeats\' (300 ms), not the bytes\' (50 ms)')
  t.ok(a.get('b')!.window.phi(22_700, a.opts.detector) < 0.01, 'phi counts from the last byte')
  // The bytes stop: down at 8 means of silence after the last one, as without them.
  a.tick(22_700 + 2399)
  t.equal(state(a, 'b'), 'suspect', 'phi under 8 (2.4 s after the last byte): suspect, not dead')
  a.tick(22_700 + 2400)
  t.equal(state(a, 'b'), 'dead', 'phi 8: dead')
  t.equal(events.at(-1)!.reason, 'no heartbeat for 22.4 s, nothing from it on its own link for 2.4 s (phi 8.0 >= 8)', `the reason: "${events.at(-1)!.reason}"`)
  // Bytes no longer count for a member held dead; a rising counter brings it back.
  a.heardFrom('b', 25_200)
  a.tick(25_300)
  t.equal(state(a, 'b'), 'dead', 'bytes bring back no member held dead')
  a.applyBeats(beats(['b', last + 1]), 25_400, 'link')
  t.equal(state(a, 'b'), 'alive', 'its heartbeats do')
  t.end()
})

test('a suspect member heard from is alive again at the next tick; heartbeats resuming after the bytes are judged on their own mean', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  let n = beatEvery(a, 'b', 0, 3000, 300)
  a.tick(2700 + 1500)
  t.equal(state(a, 'b'), 'suspect', 'phi 5: suspect')
  a.heardFrom('b', 4300)
  a.tick(4300)
  t.equal(state(a, 'b'), 'alive', 'a byte from it: alive again')
  for (let at = 4300; at < 15_000; at += 100) {
    a.heardFrom('b', at)
    a.tick(at)
  }
  // The heartbeats that waited behind the bytes come, then one every round again.
  n = beatEvery(a, 'b', 15_000, 30_000, 300, n + 1)
  t.equal(state(a, 'b'), 'alive', 'alive throughout')
  t.deepEqual(events.filter((e) => e.kind !== 'join'), [], 'no down and no up')
  t.ok(n > 50, 'its counter rose every round')
  t.end()
})

test('a member never heard to beat but heard from is judged maxInterval after the last byte; unknown ids and this node\'s own are ignored', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  for (let at = 0; at <= 15_000; at += 1000) {
    a.heardFrom('b', at)
    a.tick(at)
  }
  t.equal(state(a, 'b'), 'alive', 'no heartbeat in 15 s, but bytes every second: alive')
  a.tick(24_999)
  t.equal(state(a, 'b'), 'alive', 'just under maxInterval after the last byte')
  a.tick(25_000)
  t.equal(state(a, 'b'), 'dead', 'maxInterval (10 s) after the last byte: dead')
  t.equal(events.at(-1)!.reason, 'no heartbeat in the 25.0 s since it was learnt, nothing from it on its own link for 10.0 s', `the reason: "${events.at(-1)!.reason}"`)
  a.heardFrom('nobody', 25_000)
  a.heardFrom('a', 25_000)
  t.equal(a.get('nobody'), undefined, 'an unknown id: nothing')
  t.equal(a.get('a')!.state, 'alive', 'this node itself: unchanged')
  t.end()
})

test('a member whose bytes keep coming but whose counter is frozen (its membership stalled, its replica answering) is down HEARD_FACTOR maxIntervals after its last heartbeat', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  beatEvery(a, 'b', 0, 3000, 300) // last arrival at 2700
  const bound = HEARD_FACTOR * a.opts.detector.maxInterval
  t.ok(bound > 20_500, `the bound (${bound} ms) is longer than the heartbeat gap of a 6 MB transfer on a 200 KB/s link (20.5 s)`)
  // Bytes every 100 ms, no heartbeat, for ever.
  let at = 2800
  for (; at < 2700 + bound; at += 100) {
    a.heardFrom('b', at)
    a.tick(at)
  }
  t.equal(state(a, 'b'), 'alive', 'alive until the bound, its bytes arriving')
  t.deepEqual(events.filter((e) => e.kind !== 'join'), [], 'no down meanwhile')
  a.heardFrom('b', at)
  a.tick(at)
  t.equal(state(a, 'b'), 'dead', `dead at the bound (${at - 2700} ms after its last heartbeat), its bytes still arriving`)
  t.equal(events.at(-1)!.reason, 'no heartbeat for 30.0 s, though its link carried bytes 0.0 s ago: its membership stalled (phi 100.0 >= 8)', `the reason: "${events.at(-1)!.reason}"`)
  t.end()
})

test('a member never heard to beat whose bytes keep coming is down HEARD_FACTOR maxIntervals after it was learnt', (t) => {
  const { t: a, events } = table('a')
  a.applyRecord(rec('b'), 0)
  const bound = HEARD_FACTOR * a.opts.detector.maxInterval
  let at = 0
  for (; at < bound; at += 100) {
    a.heardFrom('b', at)
    a.tick(at)
  }
  t.equal(state(a, 'b'), 'alive', 'alive until the bound, its bytes arriving')
  a.heardFrom('b', at)
  a.tick(at)
  t.equal(state(a, 'b'), 'dead', 'dead at the bound, its bytes still arriving')
  t.equal(events.at(-1)!.reason, 'no heartbeat in the 30.0 s since it was learnt, though its link carried bytes 0.0 s ago: its membership stalled', `the reason: "${events.at(-1)!.reason}"`)
  t.end()
})
