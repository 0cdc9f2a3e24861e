import test from 'tape'
import { Session } from '../../lib/core/session.ts'
import { CapturePort, link, replica, session, updates } from '../support/core.ts'

test('push-pull: one exchange fixes both sides, in three legs', (t) => {
  const a = replica('a')
  const b = replica('b')
  a.writeLocal('x', 1)
  a.writeLocal('y', 2)
  b.writeLocal('z', 3)
  const { log, exchange } = link(a, b)
  t.equal(exchange(), 1, 'one exchange')
  t.deepEqual([...b.keys()].sort(), ['x', 'y', 'z'], 'b has everything')
  t.deepEqual([...a.keys()].sort(), ['x', 'y', 'z'], 'a has everything')
  const kinds = log.map((l) => `${l.from}:${l.msg.digest ? (l.msg.done ? (l.msg.final ? 'final' : l.msg.reply ? 'reply' : 'done') : 'd') : 'u'}`)
  t.deepEqual(kinds.filter((k) => !k.endsWith(':d')), ['a:done', 'b:u', 'b:reply', 'a:u', 'a:u', 'a:final'], 'digest, updates + reply digest, updates + final')
  t.equal(a.clock.get('b'), b.clock.get('b'), 'a adopted b\'s clock for b')
  t.equal(b.clock.get('a'), a.clock.get('a'), 'b adopted a\'s clock for a')
  t.end()
})

test('a second exchange sends no update at all', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 0; i < 20; i++) (i % 2 ? a : b).writeLocal('k' + i, i)
  const { log, exchange } = link(a, b, 7)
  exchange()
  const before = log.length
  exchange()
  t.equal(updates(log.slice(before).map((l) => l.msg)).length, 0, 'nothing sent twice')
  t.end()
})

test('a cut response goes on by itself, mtu at a time, and closes with a final marker', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 0; i < 25; i++) a.writeLocal('k' + i, i)
  const { exchange, log } = link(b, a, 10)
  t.equal(exchange(), 1, 'one exchange')
  t.equal(b.size, 25, 'all 25 arrived')
  const fromA = log.filter((l) => l.from === 'b').map((l) => l.msg)
  const dones = fromA.filter((m) => m.done === true)
  t.equal(dones[0].more, true, 'the reply said more')
  t.equal(dones[0].stream, true, 'and that the rest would follow by itself')
  t.equal(dones[dones.length - 1].final, true, 'the stream ended with a final marker')
  t.equal(b.clock.get('a'), a.clock.get('a'), 'after which b adopted a\'s clock')
  t.end()
})

test('a live push advances the clock only when its predecessor is covered', (t) => {
  const b = replica('b')
  const { s } = session(b, 10, 'depth', 1, 'a') // the source itself pushing its own writes
  s.receive({ key: 'x', value: 1, source_id: 'a', version: 5, prev: 0 })
  t.equal(b.clock.get('a'), 5, 'prev 0 is covered: clock 5')
  s.receive({ key: 'y', value: 1, source_id: 'a', version: 9, prev: 7 })
  t.equal(b.get('y').value, 1, 'an out-of-order push is still applied')
  t.equal(b.clock.get('a'), 5, 'but the clock does not jump the gap (6..7)')
  s.receive({ key: 'z', value: 1, source_id: 'a', version: 7, prev: 5 })
  t.equal(b.clock.get('a'), 7, 'the missing link arrives: clock 7')
  t.end()
})

test('pushes go out only while the peer is known to hold the previous write, and only with room', (t) => {
  const a = replica('a')
  const b = replica('b')
  const { A, B, run, exchange } = link(a, b)
  a.writeLocal('zero', 0)
  t.equal(A.port.out.length, 0, 'before any exchange, nothing is known of the peer: no push')
  exchange()
  a.writeLocal('first', 1)
  t.equal(updates(A.port.out).length, 1, 'after an exchange, a write goes out at once')
  run()
  A.port.full = true
  a.writeLocal('second', 2)
  t.equal(A.port.out.length, 0, 'no room: nothing queued')
  t.equal(A.port.wants, 1, 'the session asks for an exchange instead')
  A.port.full = false
  A.port.wants = 0
  a.writeLocal('third', 3)
  t.equal(A.port.out.length, 0, 'after a skipped push, no push until an exchange resyncs the peer')
  exchange()
  t.deepEqual([...b.keys()].sort(), ['first', 'second', 'third', 'zero'], 'the exchange carried what pushes skipped')
  a.writeLocal('fourth', 4)
  t.equal(updates(A.port.out).length, 1, 'pushes resume after the exchange')
  run()
  t.equal(b.clock.get('a'), a.clock.get('a'), 'and keep the peer\'s clock in step')
  t.equal(B.port.out.length, 0, 'no echo back to the writer')
  t.end()
})

test('two sessions fed interleaved digests keep separate progress', (t) => {
  const h = replica('h')
  for (let i = 1; i <= 6; i++) h.writeLocal('k' + i, i)
  const one = session(h, 10)
  const two = session(h, 10)
  one.s.receive({ digest: true, source_id: 'h', version: 4 })
  two.s.receive({ digest: true, source_id: 'h', version: 1 })
  one.s.receive({ digest: true, done: true })
  two.s.receive({ digest: true, done: true })
  t.deepEqual(updates(one.port.take()).map((u) => u.version), [5, 6], 'first peer gets above 4')
  t.deepEqual(updates(two.port.take()).map((u) => u.version), [2, 3, 4, 5, 6], 'second peer gets above 1')
  t.end()
})

test('responses are computed from state, not the bounded history', (t) => {
  const h = replica('h') // maxHistory 10
  for (let i = 0; i < 25; i++) h.writeLocal('k' + i, i)
  t.equal(h.history.memory.length, 10, 'history forgot most writes')
  const { s, port } = session(h, 100)
  s.receive({ digest: true, done: true })
  t.equal(updates(port.take()).length, 25, 'a newcomer still gets all 25')
  t.end()
})

test('bad objects are refused with a reason and change nothing', (t) => {
  const r = replica('r')
  const { s, port } = session(r)
  for (const bad of [null, 7, 'x', [], { key: 1 }, { digest: 'yes' }, { key: 'k', value: 1, source_id: 's', version: -1 }]) {
    s.receive(bad)
  }
  t.equal(port.invalids.length, 7, 'seven refusals')
  t.equal(r.size, 0, 'state untouched')
  t.equal(r.clock.size, 1, 'only our own source is known')
  t.end()
})

test('an over-long digest is refused without a response', (t) => {
  const r = replica('r')
  r.writeLocal('x', 1)
  const port = new CapturePort()
  const limits = { maxKeyLength: 10, maxIdLength: 10, maxValueDepth: 5, maxSources: 10, maxValueBytes: 1000 }
  const s = new Session(r, port, { mtu: 10, order: 'depth', random: () => 0.5, limits, maxDigestEntries: 3 })
  for (let i = 0; i < 5; i++) s.receive({ digest: true, source_id: 's' + i, version: 1 })
  s.receive({ digest: true, done: true })
  t.equal(port.out.length, 0, 'nothing sent')
  t.ok(port.invalids[0].includes('longer than 3'), port.invalids[0])
  t.end()
})


/**
 * c writes k1 (version 1) and k2 (2); d overwrites k2 (3). The holder then
 * has c's clock at 2 but only k1 in c's log: no record carries c's clock.
 */
function supersededSource() {
  const c = replica('c')
  const d = replica('d')
  c.writeLocal('k1', 'c1')
  c.writeLocal('k2', 'c2')
  const cd = link(c, d)
  cd.exchange()
  d.writeLocal('k2', 'd wins')
  cd.run() // d pushes its write to c
  return { c, d }
}

test('adopt: from the source itself, its clock above every record it still holds is taken on', (t) => {
  const { c } = supersededSource()
  t.equal(c.get('k2').value, 'd wins', 'c\'s own k2 was superseded at c')
  t.equal(c.clock.get('c'), 2, 'c\'s clock for itself is 2, above its only remaining record (1)')
  const i = replica('i')
  link(i, c).exchange()
  t.deepEqual([i.get('k1').value, i.get('k2').value], ['c1', 'd wins'], 'i received both live records')
  t.equal(i.clock.get('c'), 2, 'i took on c\'s clock for c (2) from c\'s reply, though no record carries it')
  t.equal(i.clock.get('d'), 3, 'and d\'s')
  t.end()
})

test('adopt: from another peer, a clock above the peer\'s records is taken on up to what records showed this node', (t) => {
  const { c, d } = supersededSource()
  const r = replica('r')
  link(r, c).exchange()
  link(r, d).exchange()
  t.equal(r.clock.get('c'), 2, 'r covers c up to 2')
  // i saw c's k2 at version 2 (unlinked, so its clock did not move).
  const i = replica('i')
  i.applyRemote({ key: 'k2', value: 'c2', source_id: 'c', version: 2 }, i.clock.intern('c', undefined))
  t.equal(i.clock.get('c'), -Infinity, 'i has seen c at 2 without covering it')
  link(i, r).exchange()
  t.equal(i.get('k2').value, 'd wins', 'i got d\'s k2 from r')
  t.equal(i.clock.get('c'), 2, 'and took on r\'s clock for c, 2: a version a record showed it')
  // A node that never saw c's version 2 takes r's clock only as far as records showed it.
  const j = replica('j')
  link(j, r).exchange()
  t.equal(j.clock.get('c'), 1, 'a fresh node stops at c\'s highest record it received (1)')
  t.end()
})
