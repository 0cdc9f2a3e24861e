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
  t.notOk(life.lacks(500), 'nor one above it (the peer knows this life)')
  life.restored(60)
  t.notOk(life.lacks(60), 'restored data covers its own clock')
  t.ok(life.lacks(61), 'but not above it')
  life.recovered(500)
  t.notOk(life.lacks(99), 'recovering from a peer covers below the first write')
  t.end()
})

test('self recovery: one digest claims nothing of our own source, its whole answer ends it', (t) => {
  const life = new OwnLife()
  life.wrote(1000)
  const r = new SelfRecovery(life)
  t.equal(r.claim(1000), 1000, 'with nothing to recover, a digest claims the clock')
  t.notOk(r.seen(1000), 'a claim at this life\'s versions shows no loss')
  r.answered()
  t.equal(r.claim(1000), 1000, 'an answer changes nothing then')
  t.ok(r.seen(400), 'a claim below this life shows a loss')
  t.notOk(r.seen(450), 'a second one while recovering is not new')
  r.answered()
  t.equal(r.claim(1000), 0, 'an answer to a digest sent before does not end it: the next digest claims nothing')
  r.answered()
  t.equal(r.claim(1000), 1000, 'the answer to that digest ends it')
  t.notOk(r.seen(450), 'the peer\'s claim is now covered: no loss shown again')
  t.notOk(life.lacks(450), 'recovered up to the highest claim seen')
  t.ok(life.lacks(451), 'and no further: a later, higher claim below this life shows a loss again')
  t.end()
})
