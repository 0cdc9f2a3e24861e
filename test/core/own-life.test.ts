/** What a node knows of its own earlier lives, and recovering their records from one peer. */
import test from 'tape'
import { MAX_OUTLIVE, OwnLife } from '../../lib/core/own-life.ts'
import { SelfRecovery } from '../../lib/core/self-recovery.ts'

test('own life: a claim shows a loss only above what is sure and below this life\'s first write', (t) => {
  const life = new OwnLife()
  t.notOk(life.lacks(0), 'a claim of nothing shows nothing')
  t.ok(life.lacks(50), 'before any write, any claim shows an earlier life')
  life.wrote(100)
  life.wrote(120)
  t.ok(life.lacks(99), 'a claim below the first write of this life shows one')
  t.notOk(life.lacks(100), 'a claim at a version this life wrote does not')
  t.notOk(life.lacks(110), 'nor one between its writes')
  t.ok(life.lacks(500), 'one above everything this life wrote does: an earlier life wrote there (its clock was ahead)')
  life.restored(60)
  t.notOk(life.lacks(60), 'restored data covers its own clock')
  t.ok(life.lacks(61), 'but not above it')
  life.recovered(500)
  t.notOk(life.lacks(99), 'recovering from a peer covers below the first write')
  t.notOk(life.lacks(500), 'and up to the claim it answered')
  t.end()
})

test('own life: found behind an earlier life at most MAX_OUTLIVE times', (t) => {
  const life = new OwnLife()
  t.notOk(life.behind(500), 'before any write there is nothing to write again')
  life.wrote(100)
  t.notOk(life.behind(100), 'a claim at this life\'s last write is not ahead')
  let n = 0
  for (let v = 200; v < 2000; v += 100) {
    if (life.behind(v)) {
      n++
      life.outlive()
    }
    life.wrote(v + 1) // the writes again go above the claim
  }
  t.equal(n, MAX_OUTLIVE, `records ahead acted on ${MAX_OUTLIVE} times, then no more (two live nodes sharing an id stop overtaking each other)`)
  t.end()
})

test('self recovery: digests claim nothing of our own source until one of them gets a whole answer', (t) => {
  const life = new OwnLife()
  life.wrote(1000)
  const r = new SelfRecovery(life, () => {})
  t.notOk(r.sending(false, true), 'with nothing to recover, a digest claims the clock')
  t.notOk(r.seen(1000), 'a claim at this life\'s versions shows no loss')
  r.answerEnded(false, true)
  t.notOk(r.asking, 'an answer changes nothing then')
  t.notOk(r.sending(false, true), 'a request goes out before the loss is seen (it claims the clock)')
  t.ok(r.seen(400), 'a claim below this life shows a loss')
  t.notOk(r.seen(450), 'a second one while recovering is not new')
  t.notOk(r.sending(true, false), 'a resync digest claims what it claims, never nothing')
  t.ok(r.sending(true, true), 'our next reply claims nothing of our own source')
  r.answerEnded(false, true)
  t.ok(r.asking, 'the whole answer to the request sent before the loss was seen ends nothing')
  r.answerEnded(true, true)
  t.ok(r.asking, 'nor the answer to the resync')
  r.answerEnded(true, false)
  t.ok(r.asking, 'an answer to the asking reply that did not arrive whole ends nothing')
  t.ok(r.sending(true, true), 'so the next reply asks again')
  r.answerEnded(true, true)
  t.notOk(r.asking, 'its whole answer ends the recovery')
  t.notOk(r.sending(false, true), 'digests claim the clock again')
  t.notOk(r.seen(450), 'the peer\'s claim is now covered: no loss shown again')
  t.notOk(life.lacks(450), 'recovered up to the highest claim seen')
  t.ok(life.lacks(451), 'and no further: a later, higher claim below this life shows a loss again')
  t.end()
})

test('self recovery: answers are matched per kind, and a peer that never answers costs a bounded queue', (t) => {
  const life = new OwnLife()
  life.wrote(1000)
  const r = new SelfRecovery(life, () => {})
  for (let i = 0; i < 100; i++) r.sending(false, true) // requests never answered
  t.ok(r.seen(400), 'a loss is seen')
  t.ok(r.sending(false, true), 'a request asks')
  for (let i = 0; i < 3; i++) r.answerEnded(false, true)
  t.ok(r.asking, 'answers to the older requests kept (at most 3 of them) end nothing')
  r.answerEnded(false, true)
  t.notOk(r.asking, 'the answer to the asking request ends it')
  t.end()
})
