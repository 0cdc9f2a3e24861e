/** What a node knows of its own earlier lives, and recovering their records from one peer. */
import test from 'tape'
import { OwnLife } from '../../lib/core/own-life.ts'
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

test('self recovery: digests claim nothing of our own source until one of them gets a whole answer', (t) => {
  const life = new OwnLife()
  life.wrote(1000)
  const r = new SelfRecovery(life)
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
  const r = new SelfRecovery(life)
  for (let i = 0; i < 100; i++) r.sending(false, true) // requests never answered
  t.ok(r.seen(400), 'a loss is seen')
  t.ok(r.sending(false, true), 'a request asks')
  for (let i = 0; i < 3; i++) r.answerEnded(false, true)
  t.ok(r.asking, 'answers to the older requests kept (at most 3 of them) end nothing')
  r.answerEnded(false, true)
  t.notOk(r.asking, 'the answer to the asking request ends it')
  t.end()
})

test('self recovery on a lossy link: only own records that chain from 0 to the claim end it, or eight answers in a row that carry some, none new', (t) => {
  const life = new OwnLife()
  life.wrote(1000)
  const r = new SelfRecovery(life, true)
  t.ok(r.seen(400), 'a loss is seen')
  t.ok(r.sending(true, true), 'a reply asks')
  r.ownLink(0, 100)
  r.ownLink(200, 400) // the record between was lost
  r.answerEnded(true, true)
  t.ok(r.asking, 'a whole answer with a skipped link ends nothing')
  t.ok(r.sending(true, true), 'the next reply asks again')
  r.ownLink(0, 100)
  r.ownLink(100, 300)
  r.answerEnded(true, true)
  t.ok(r.asking, 'nor one whose chain stops below the claim')
  r.sending(true, true)
  r.ownLink(0, 100)
  r.ownLink(100, 200)
  r.ownLink(200, 400)
  r.answerEnded(true, true)
  t.notOk(r.asking, 'a chain from 0 up to the claim ends it')
  t.notOk(life.lacks(400), 'recovered up to the claim')
  const r2 = new SelfRecovery(life, true)
  t.ok(r2.seen(800), 'another loss')
  for (let i = 0; i < 10; i++) {
    r2.sending(false, true)
    r2.answerEnded(false, true)
  }
  t.ok(r2.asking, 'answers that carry none of our records end nothing, however many')
  for (let i = 0; i < 8; i++) {
    r2.sending(false, true)
    r2.ownLink(500, 800) // linked past what arrived: a gap
    r2.answerEnded(false, true)
  }
  t.ok(r2.asking, 'eight answers with our records but no intact chain (the first brought a new one) end nothing')
  r2.sending(false, true)
  r2.ownLink(500, 800)
  r2.answerEnded(false, true)
  t.notOk(r2.asking, 'the eighth in a row with nothing new ends it anyway (a peer that cannot vouch; fingerprint checks take over)')
  t.end()
})

test('self recovery on a lossy link: what one answer lost, later ones bring; the chain is judged on all of them, and answers that bring something new keep it going', (t) => {
  const life = new OwnLife()
  life.wrote(1000)
  const r = new SelfRecovery(life, true)
  t.ok(r.seen(500), 'a loss is seen')
  const chain = [100, 200, 300, 400, 500]
  // Two answers, each losing one record; neither alone is whole.
  for (let i = 0; i < 2; i++) {
    r.sending(false, true)
    chain.forEach((v, j) => j !== i && r.ownLink(j === 0 ? 0 : chain[j - 1], v))
    r.answerEnded(false, true)
  }
  t.notOk(r.asking, 'the second answer (which lost 200) completes the chain with the first\'s (which lost 100)')
  t.notOk(life.lacks(500), 'recovered up to the claim')
  const life2 = new OwnLife()
  life2.wrote(3000)
  const r2 = new SelfRecovery(life2, true)
  t.ok(r2.seen(1500), 'another loss')
  for (let i = 0; i < 20; i++) {
    r2.sending(false, true)
    r2.ownLink(1000 + i, 1001 + i) // something new each time, never linked down to 0
    r2.answerEnded(false, true)
  }
  t.ok(r2.asking, 'twenty answers that each bring something new end nothing')
  t.end()
})

test('self recovery on a lossy link: links of our own records are kept only up to those we hold (and some more)', (t) => {
  const life = new OwnLife()
  life.wrote(10_000_000)
  let held = 2
  const r = new SelfRecovery(life, true, () => held)
  t.ok(r.seen(5_000_000), 'a loss is seen')
  r.sending(false, true)
  for (let v = 1; v <= 100_000; v++) r.ownLink(v - 1, v) // one key of ours sent again and again
  const kept = (r as unknown as { links: Map<number, number> }).links.size
  t.ok(kept <= held + 1024, `${kept} links kept of 100,000 sent (we hold ${held} records)`)
  held = 5000
  for (let v = 100_001; v <= 110_000; v++) r.ownLink(v - 1, v)
  t.ok((r as unknown as { links: Map<number, number> }).links.size > kept, 'more are kept as we hold more')
  t.end()
})

