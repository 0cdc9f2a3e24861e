/**
 * A node that refuses a record because a tombstone it forgot (and remembers
 * by key) beats it sends the peer that tombstone, unlinked: the peer's copy
 * of the deleted key goes too, whether or not the peer is behind its floors.
 * A writer that told one node of a delete and the other nodes that their
 * clocks covered it (a hostile member's story, in plain or signed clusters)
 * leaves them holding the old record; the node it told forgets the
 * tombstone after the grace period, refusing that record for good, and
 * verification's full sends alone would not make them converge.
 */
import test from 'tape'
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import { Session } from '../../lib/core/session.ts'
import { CapturePort, sessionOpts, updates } from '../support/core.ts'

function setup(lossy: boolean) {
  let now = 1_000_000 // µs; versions follow it
  let ms = 0
  const opts = { resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, now: () => now, time: () => ms }
  const w = new Replica({ id: 'w', ...opts })
  const old = w.writeLocal('k', 1).rec
  now = 2_000_000
  const tomb = w.writeLocal('k', null, true).rec
  // a took the delete and forgot it a grace period later (it remembers the key).
  const a = new Replica({ id: 'a', ...opts })
  a.applyRemote(old, a.sourceOf(old))
  a.applyRemote(tomb, a.sourceOf(tomb))
  a.advance(a.sourceOf(tomb), tomb.version)
  ms = 1000
  a.collect(ms, 500)
  // b holds the old record, its clock of w past the delete it never got.
  const b = new Replica({ id: 'b', ...opts })
  b.applyRemote(old, b.sourceOf(old))
  b.advance(b.sourceOf(old), tomb.version)
  const side = (rep: Replica, peer: string) => {
    const port = new CapturePort()
    return { s: new Session(rep, port, { ...sessionOpts(10, 'depth', 1, 100), lossy, peer: { id: peer } }), port }
  }
  const A = side(a, 'b')
  const B = side(b, 'a')
  const run = () => {
    for (let guard = 0; guard < 10_000; guard++) {
      if (A.port.out.length) B.s.receive(A.port.out.shift()!)
      else if (B.port.out.length) A.s.receive(B.port.out.shift()!)
      else if (A.s.owes || B.s.owes) {
        A.s.payDebts(true)
        B.s.payDebts(true)
      } else return
    }
    throw new Error('link did not go quiet')
  }
  return { a, b, A, B, run, old, tomb, tick: (d: number) => void (ms += d) }
}

for (const lossy of [false, true]) {
  test(`${lossy ? 'lossy' : 'sound'} link: a node that refuses a record a tombstone it forgot beats sends the peer that tombstone; verification's full send brings it back and the key goes there too`, (t) => {
    const { a, b, A, B, run, tomb, tick } = setup(lossy)
    t.equal(a.record('k'), undefined, 'a forgot the tombstone')
    t.equal(b.record('k')?.value, 1, 'b holds the old value')
    for (let round = 0; round < 20 && b.record('k')?.deleted !== true; round++) {
      tick(60)
      A.s.start()
      run()
      B.s.start()
      run()
    }
    t.equal(b.record('k')?.deleted, true, 'b took the tombstone: the key is deleted there too')
    t.equal(b.record('k')?.version, tomb.version, 'the tombstone a forgot')
    t.equal(a.record('k'), undefined, 'a holds nothing of the key still')
    t.end()
  })
}

test('the forgotten tombstone goes to the peer once per record it sent that it beats, and only for live records', (t) => {
  const { a, A, old, tomb } = setup(false)
  const push = { ...old, prev: old.version - 1 }
  A.s.receive(push)
  const out = updates(A.port.take())
  t.equal(out.length, 1, 'one record in answer')
  t.equal(out[0].version, tomb.version, 'the tombstone a forgot')
  t.equal(out[0].deleted, true, 'a tombstone')
  t.equal(out[0].prev, tomb.version - 1, 'unlinked: it moves no clock')
  const older = { key: 'k', value: null, deleted: true, source_id: 'w', version: old.version + 1, prev: old.version }
  A.s.receive(older)
  t.equal(updates(A.port.take()).length, 0, 'an older tombstone of the key gets none: both say deleted')
  t.equal(a.record('k'), undefined, 'a still holds nothing of the key')
  t.end()
})
