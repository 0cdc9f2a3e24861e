/**
 * Writes made from inside a user function that a write calls (a history
 * listener deriving one key from another, a listener correcting a value)
 * take versions of their own and reach peers in version order.
 */
import test from 'tape'
import { connect, node, quiet, until } from '../support/streams.ts'

test('a set inside a history listener takes a later version and reaches the peer, in order, without rounds', async (t) => {
  const now = () => 0
  const a = node('A', { now })
  const b = node('B', { now })
  a.history.on('update', (u) => {
    if (u.key === 'x') a.set('x_copy', u.value)
  })
  connect(a, b)
  a.gossip()
  await quiet()
  const invalid: unknown[] = []
  b.on('invalid', (e: unknown) => invalid.push(e))
  a.set('x', 1)
  const x = a.record('x')!
  const copy = a.record('x_copy')!
  t.equal(x.version, 1, 'the outer write has version 1')
  t.equal(copy.version, 2, 'the write made by the listener has version 2, not 1 again')
  t.equal(a.clock.get('A'), 2, 'the clock covers both')
  await until(() => b.get('x_copy').value === 1 && b.get('x').value === 1, 10_000, 'both keys at B')
  t.deepEqual([b.get('x').version, b.get('x_copy').version], [1, 2], 'B holds both at their versions')
  t.deepEqual(invalid, [], 'B found nothing invalid')
  t.equal(b.clock.get('A'), 2, "B's clock of A covers both, from pushes alone")
  a.set('y', 3)
  t.equal(a.record('y')!.version, 3, 'the next write follows both')
  t.end()
})

test('a listener that corrects the value just written has the last word', async (t) => {
  const g = node('G', { now: () => 1_000 })
  g.history.on('update', (u) => {
    if (typeof u.value === 'number' && u.value > 100) g.set(u.key, 100)
  })
  g.set('speed', 150)
  t.equal(g.get('speed').value, 100, 'the correction wins')
  t.ok(g.get('speed').version > 1_000_000, 'and carries the later version')
  t.end()
})

test('a write refused by a user function leaves a gap, and the writes after it keep unique versions', async (t) => {
  const g = node('C', {
    now: () => 0,
    sort: (p, q) => {
      if (p.key === 'bad' || q.key === 'bad') throw new Error('no')
      return p.version - q.version
    },
  })
  g.set('ok', 1)
  t.throws(() => g.set('bad', 2), /sort threw/, 'the refused write throws')
  g.set('after', 3)
  t.deepEqual([g.record('ok')!.version, g.record('after')!.version], [1, 3], 'the refused version is not reused')
  t.equal(g.get('bad').value, null, 'the refused write is absent')
  t.equal(g.clock.get('C'), 3, 'the clock moved past the gap')
  t.end()
})

test('records read back are frozen, the record itself as well as its value', async (t) => {
  const state: Record<string, unknown> = {}
  const g = node('G', {}, state)
  g.set('x', { n: 1 })
  const r = g.record('x')!
  t.ok(Object.isFrozen(r), 'record() is frozen')
  t.ok(Object.isFrozen(g.history.memory[0]), 'the history entry is frozen')
  t.ok(Object.isFrozen(state.x), 'the record written through to the state object is frozen')
  t.throws(() => {
    'use strict'
    ;(r as { version: number }).version = 0
  }, TypeError, 'assigning to it throws')
  t.end()
})
