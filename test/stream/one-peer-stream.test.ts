/**
 * A stream from `createStream()` (or `createWireStream()`) is one peer's
 * session: a second destination or a second source is refused at pipe()
 * time, never taken silently (its peers would never converge through it).
 */
import test from 'tape'
import { PassThrough } from 'node:stream'
import { connect, node, quiet, sameState } from '../support/streams.ts'

test('a createStream() stream piped to a second destination throws, naming the fix, and keeps its first peer', async (t) => {
  const hub = node('hub')
  const b = node('b')
  const c = node('c')
  const s = hub.createStream()
  s.pipe(b).pipe(s)
  t.throws(() => s.pipe(c), /one peer's session.*createStream\(\) for each peer/, 'a second destination is refused')
  t.notOk((s as any)._readableState.pipes.includes(c), 'c was not piped to')
  t.doesNotThrow(() => s.pipe(b), 'piping the same destination again changes nothing')
  t.equal((s as any)._readableState.pipes.length, 1, 'still one destination')
  hub.set('h', 1)
  b.set('x', 1)
  s.gossip()
  await quiet(20)
  t.ok(sameState([hub, b]), 'the first peer still converges with the hub')
  hub.destroy()
  b.destroy()
  c.destroy()
  t.end()
})

test('a createStream() stream piped into from a second source throws, and the second source is left unpiped', async (t) => {
  const hub = node('hub')
  const b = node('b')
  const c = node('c')
  const s = hub.createStream()
  b.pipe(s)
  t.throws(() => c.pipe(s), /one peer's session.*createStream\(\) for each peer/, 'a second source is refused')
  t.notOk((c as any)._readableState.pipes.includes(s), 'c is not left piped into the stream')
  hub.destroy()
  b.destroy()
  c.destroy()
  t.end()
})

test('the stream-twice wiring (one stream, two peers) is refused; one stream per peer converges', async (t) => {
  const hub = node('hub')
  const b = node('b')
  const c = node('c')
  const shared = hub.createStream()
  shared.pipe(b).pipe(shared)
  t.throws(() => shared.pipe(c), /already piped/, 'the shared wiring fails at once')
  hub.destroy()
  b.destroy()
  c.destroy()
  t.end()
})

test('one createStream() per peer: a hub and two peers converge', async (t) => {
  const hub = node('hub')
  const b = node('b')
  const c = node('c')
  const s1 = hub.createStream()
  const s2 = hub.createStream()
  connect(s1, b)
  connect(s2, c)
  for (let i = 0; i < 5; i++) {
    hub.set('h' + i, i)
    b.set('b' + i, i)
    c.set('c' + i, i)
  }
  for (let r = 0; r < 6; r++) {
    s1.gossip()
    s2.gossip()
    await quiet(10)
  }
  t.ok(sameState([hub, b, c]), 'all three converge')
  hub.destroy()
  b.destroy()
  c.destroy()
  t.end()
})

test('a wire stream is one peer\'s session too: a second byte destination or source is refused', (t) => {
  const hub = node('hub')
  const w = hub.createWireStream()
  const p1 = new PassThrough()
  const p2 = new PassThrough()
  w.pipe(p1)
  t.throws(() => w.pipe(p2), /one peer's session.*createWireStream\(\) for each peer/, 'second destination refused')
  p1.pipe(w)
  t.throws(() => p2.pipe(w), /one peer's session/, 'second source refused')
  hub.destroy()
  t.end()
})
