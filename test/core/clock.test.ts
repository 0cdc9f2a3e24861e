/**
 * The vector clock's generation bookkeeping: a node id seen under a new
 * generation (it lost its data) counts once, whether the news came from a
 * record or first from a digest, and digests alone can announce only a
 * bounded number of generations per id.
 */
import test from 'tape'
import { Clock, GENERATION_QUIET_MS } from '../../lib/core/clock.ts'

/** A clock whose time moves past the quiet window at every look, so each change can count. */
function spacedClock(): Clock {
  const c = new Clock()
  let now = 0
  c.timeMs = () => (now += GENERATION_QUIET_MS)
  return c
}

test('a known id under a new generation counts once, from a record or a digest first', (t) => {
  const c = spacedClock()
  let calls = 0
  c.onNewGeneration = () => calls++
  c.intern('a', 'g1')
  t.equal(c.generationChanges, 0, 'the first generation of an id is no change')
  c.announce('a', 'g2')
  t.equal(c.generationChanges, 1, 'a digest naming a new generation counts')
  t.equal(c.find('a', 'g2'), undefined, 'without registering the source')
  c.announce('a', 'g2')
  t.equal(c.generationChanges, 1, 'the same generation again does not count twice')
  c.intern('a', 'g2')
  t.equal(c.generationChanges, 1, 'its first record does not count it again')
  c.intern('a', 'g3')
  t.equal(c.generationChanges, 2, 'a generation first seen in a record counts')
  t.equal(calls, 2, 'the listener heard each change once')
  t.end()
})

test('digests cannot announce generations of unknown ids, or more than two per id', (t) => {
  const c = spacedClock()
  c.announce('stranger', 'g1')
  t.equal(c.generationChanges, 0, 'an id we never held is not news')
  t.equal(c.size, 0, 'and is not registered')
  c.intern('a', 'g1')
  c.announce('a', 'g1')
  t.equal(c.generationChanges, 0, 'a generation we hold is not news')
  c.announce('a', undefined)
  t.equal(c.generationChanges, 0, 'nor is a source without a generation')
  for (let i = 0; i < 50; i++) c.announce('a', 'fake' + i)
  t.equal(c.generationChanges, 2, 'a flood of made-up generations counts as two at most')
  c.intern('a', 'fake0')
  c.announce('a', 'fake9')
  t.equal(c.generationChanges, 3, 'a slot frees when an announced generation shows a record')
  t.end()
})

test('generation changes count at most once per quiet window: made-up generations cannot make the cluster resync at their rate', (t) => {
  const c = new Clock()
  let now = 1_000_000
  c.timeMs = () => now
  for (const id of ['a', 'b', 'c']) c.intern(id, 'g0')
  for (let i = 1; i <= 50; i++) c.intern(['a', 'b', 'c'][i % 3], `fake${i}`)
  t.equal(c.generationChanges, 1, '50 new generations of known ids in one moment count once')
  now += GENERATION_QUIET_MS - 1
  c.intern('a', 'fake-late')
  t.equal(c.generationChanges, 1, 'and nothing more within the window')
  now += 1
  c.intern('b', 'real-restart')
  t.equal(c.generationChanges, 2, 'after the window, a new generation counts again')
  t.end()
})
