/**
 * A caller-supplied state object (the third constructor argument) is held
 * to the bound every other input is: no version more than maxClockOffset
 * ahead of the local clock. Such an entry is refused at construction,
 * naming the key, as a durable log holding one is refused at load.
 */
import test from 'tape'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'

const NOW_MS = 1_700_000_000_000
const cfg = (): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, now: () => NOW_MS })

test('a state entry a day ahead of the clock is refused at construction, naming the key', (t) => {
  const version = (NOW_MS + 86_400_000) * 1000
  t.throws(
    () => new Gossip('a', cfg(), { ok: { value: 0, version: NOW_MS * 1000 - 5 }, old: { value: 1, version, source_id: 'x' } }),
    (err: Error) => err instanceof RangeError && /state\["old"\]/.test(err.message) && /86400 s ahead/.test(err.message) && /maxClockOffset/.test(err.message),
    'RangeError naming the key, how far ahead, and the option',
  )
  t.end()
})

test('a state entry at MAX_SAFE_INTEGER is refused at construction (it used to make every later set throw)', (t) => {
  t.throws(() => new Gossip('a', cfg(), { k: { value: 1, version: Number.MAX_SAFE_INTEGER } }), /state\["k"\].*ahead of this machine's clock/)
  t.end()
})

test('entries within maxClockOffset load, and later writes stay acceptable to a peer', async (t) => {
  const ahead = (NOW_MS + 60_000) * 1000 // a minute ahead: within the default 5 minutes
  const a = new Gossip('a', cfg(), { old: { value: 1, version: ahead, source_id: 'x' } })
  t.equal(a.get('old').value, 1, 'loaded')
  a.set('k', 'new')
  t.ok(a.get('k').version > ahead, 'a later write is above it')
  const b = new Gossip('b', cfg())
  const refused: string[] = []
  b.on('invalid', (r: string) => refused.push(r))
  a.pipe(b).pipe(a)
  a.gossip()
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  t.equal(b.get('k').value, 'new', 'the peer took the write')
  t.deepEqual(refused, [], 'nothing refused')
  a.destroy()
  b.destroy()
  t.end()
})

test('the bound follows config.maxClockOffset', (t) => {
  const version = (NOW_MS + 20_000) * 1000 // 20 s ahead
  t.throws(() => new Gossip('a', { ...cfg(), maxClockOffset: 10_000 }, { k: { value: 1, version } }), /state\["k"\]: version .* 20 s ahead/)
  t.doesNotThrow(() => new Gossip('a', { ...cfg(), maxClockOffset: 30_000 }, { k: { value: 1, version } }).destroy())
  t.end()
})

test('a replica without a clock (the core Engine\'s default) refuses a state written with one, saying to give it now, not that a clock is ahead', async (t) => {
  const { Engine } = await import('../../lib/core/engine.ts')
  const version = NOW_MS * 1000
  t.throws(
    () => new Engine({ id: 'e', state: { k: { value: 1, version } } }),
    (err: Error) => err instanceof RangeError && /state\["k"\]/.test(err.message) && /without a clock/.test(err.message) && /give it `now`/.test(err.message) && !/machine's clock/.test(err.message),
    'RangeError naming the key and the missing clock',
  )
  const e = new Engine({ id: 'e', now: () => NOW_MS * 1000, state: { k: { value: 1, version } } })
  t.equal(e.replica.get('k')?.value, 1, 'with a clock (µs, as the core takes it) the same state loads')
  t.end()
})
