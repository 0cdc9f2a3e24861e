/**
 * A node behind a peer's gc floors (it missed tombstones the peer has since
 * forgotten) still sends the peer its own records: never held back, and,
 * while it is behind, not vouched for (the peer may drop some), so each goes
 * once and none holds back the rest. Nor does it vouch for another source
 * whose records it held back or sent unvouched: the peer's clock of that
 * source does not pass records it never got.
 */
import test from 'tape'
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import { Session } from '../../lib/core/session.ts'
import { CapturePort, sessionOpts, updates } from '../support/core.ts'

for (const lossy of [false, true]) {
  test(`${lossy ? 'lossy' : 'sound'} link: a node behind a peer that forgot tombstones without their keys sends it each of its own records once; its newer ones arrive`, (t) => {
    let now = 1_000_000 // µs; versions follow it
    const opts = { resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, now: () => now }
    const s = new Replica({ id: 's', ...opts })
    for (let i = 0; i < 30; i++) {
      now += 1
      s.writeLocal('old' + i, i)
    }
    // r was restored without the keys of the tombstones it forgot (as the IndexedDB store does): x's gc floor is its floor.
    const r = new Replica({ id: 'r', ...opts })
    r.restore({ records: [], sources: [{ id: 'x', gen: undefined, clock: 2_000_000, gc: 2_000_000 }], version: 2_000_000 })
    t.equal(r.collected.floor, 2_000_000, 'r\'s floor of forgotten tombstones is x\'s gc floor')
    s.clock.advance(s.clock.intern('x', undefined), 10) // s is far behind r's gc floor of x
    now = 2_000_100
    for (let i = 0; i < 10; i++) {
      now += 1
      s.writeLocal('new' + i, i)
    }
    const side = (rep: Replica, peer: string) => {
      const port = new CapturePort()
      return { s: new Session(rep, port, { ...sessionOpts(5, 'depth', 1, 3_600_000), lossy, peer: { id: peer } }), port }
    }
    const S = side(s, 'r')
    const R = side(r, 's')
    const sent = new Map<number, number>()
    const run = () => {
      for (let guard = 0; guard < 10_000; guard++) {
        if (S.port.out.length) {
          const m = S.port.out.shift()!
          if (m.digest !== true && m.source_id === 's') sent.set(m.version as number, (sent.get(m.version as number) ?? 0) + 1)
          R.s.receive(m)
        } else if (R.port.out.length) S.s.receive(R.port.out.shift()!)
        else if (S.s.owes || R.s.owes) {
          S.s.payDebts(true)
          R.s.payDebts(true)
        } else return
      }
      throw new Error('link did not go quiet')
    }
    for (let round = 0; round < 10; round++) {
      R.s.start()
      run()
      S.s.start()
      run()
    }
    t.equal(sent.size, 40, 's sent r every one of its 40 records, the 30 below the floor included')
    t.deepEqual([...new Set(sent.values())], [1], 'each once, in ten rounds of exchanges')
    t.equal([...r.keys()].filter((k) => k.startsWith('new')).length, 10, 'r holds s\'s 10 newer records')
    t.ok(R.s.stats.staleDropped > 0, 'r dropped the older ones it cannot tell from records a forgotten tombstone deleted')
    t.end()
  })
}

test('lossy link: the own records a node behind its peer sends unvouched may be on their way when its clock entry arrives: the entry vouches for nothing until the peer claims them', (t) => {
  let now = 500 // µs; versions follow it
  const opts = { resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, now: () => now }
  const s = new Replica({ id: 's', ...opts })
  const first = s.writeLocal('a', 0).rec
  now = 1_000_000
  for (let i = 0; i < 3; i++) {
    now += 1
    s.writeLocal('k' + i, i)
  }
  // r has s's first record, and forgot x's tombstones up to 2,000,000, remembering them by key (its floor is 0).
  const r = new Replica({ id: 'r', ...opts })
  r.restore({ records: [first], sources: [{ id: 's', gen: undefined, clock: 500, gc: 0 }, { id: 'x', gen: undefined, clock: 2_000_000, gc: 2_000_000 }], version: 2_000_000, forgotten: { floor: 0, tombstones: [] } })
  s.clock.advance(s.clock.intern('x', undefined), 10) // s is behind r's gc floor of x
  now = 2_000_100
  const side = (rep: Replica, peer: string) => {
    const port = new CapturePort()
    return { s: new Session(rep, port, { ...sessionOpts(10, 'depth', 1, 3_600_000), lossy: true, peer: { id: peer } }), port }
  }
  const S = side(s, 'r')
  const R = side(r, 's')
  R.s.start()
  for (const m of R.port.take()) S.s.receive(m)
  const answer = S.port.take()
  t.equal(updates(answer).length, 3, 's answers with its three records')
  // The link reorders: s's digest overtakes its records.
  for (const m of answer.filter((m) => m.digest === true)) R.s.receive(m)
  t.equal(r.clock.get('s'), 500, 'r does not take s\'s clock over records it has not got')
  for (const m of updates(answer)) R.s.receive(m)
  t.deepEqual([...r.keys()].sort(), ['a', 'k0', 'k1', 'k2'], 'then they arrive')
  t.end()
})

for (const lossy of [false, true]) {
  test(`${lossy ? 'lossy' : 'sound'} link: a node behind a peer's floors vouches for no source whose records it held back: the peer's clock does not pass them`, (t) => {
    let now = 1_000_000 // µs; versions follow it
    const opts = { resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, now: () => now }
    // w writes one record below the floor s is behind and one above it.
    const w = new Replica({ id: 'w', ...opts })
    now = 1_500_000
    const old = w.writeLocal('a', 1).rec
    now = 2_500_000
    const fresh = w.writeLocal('b', 2).rec
    const s = new Replica({ id: 's', ...opts })
    s.restore({ records: [old, fresh], sources: [{ id: 'w', gen: undefined, clock: fresh.version, gc: 0 }, { id: 'x', gen: undefined, clock: 10, gc: 0 }], version: fresh.version })
    // r forgot x's tombstones up to 2,000,000 (remembering their keys): s, at 10 of x, is behind it.
    const r = new Replica({ id: 'r', ...opts })
    r.restore({ records: [], sources: [{ id: 'x', gen: undefined, clock: 2_000_000, gc: 2_000_000 }], version: 2_000_000, forgotten: { floor: 0, tombstones: [] } })
    now = 2_600_000
    const side = (rep: Replica, peer: string) => {
      const port = new CapturePort()
      return { s: new Session(rep, port, { ...sessionOpts(10, 'depth', 1, 3_600_000), lossy, peer: { id: peer } }), port }
    }
    const S = side(s, 'r')
    const R = side(r, 's')
    const run = () => {
      for (let guard = 0; guard < 10_000; guard++) {
        if (S.port.out.length) R.s.receive(S.port.out.shift()!)
        else if (R.port.out.length) S.s.receive(R.port.out.shift()!)
        else if (S.s.owes || R.s.owes) {
          S.s.payDebts(true)
          R.s.payDebts(true)
        } else return
      }
      throw new Error('link did not go quiet')
    }
    for (let round = 0; round < 3; round++) {
      R.s.start()
      run()
      S.s.start()
      run()
      const held = r.record('a')
      t.ok(held !== undefined || r.clock.get('w') < old.version, `round ${round + 1}: r holds w's older record or its clock of w is below it (clock ${r.clock.get('w')}, holds ${held === undefined ? 'nothing' : held.version})`)
    }
    t.equal(r.record('b')?.version, fresh.version, 'r holds w\'s newer record, sent unvouched')
    t.end()
  })
}

test('lossy link: records of another source a node behind its peer sent unvouched may be lost: its entry for that source vouches for nothing until the peer claims them', (t) => {
  let now = 1_000_000 // µs; versions follow it
  const opts = { resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, now: () => now }
  const w = new Replica({ id: 'w', ...opts })
  now = 2_500_000
  const fresh = w.writeLocal('b', 2).rec // above the floor s is behind: sent, but unvouched
  const s = new Replica({ id: 's', ...opts })
  s.restore({ records: [fresh], sources: [{ id: 'w', gen: undefined, clock: fresh.version, gc: 0 }, { id: 'x', gen: undefined, clock: 10, gc: 0 }], version: fresh.version })
  const r = new Replica({ id: 'r', ...opts })
  r.restore({ records: [], sources: [{ id: 'x', gen: undefined, clock: 2_000_000, gc: 2_000_000 }], version: 2_000_000, forgotten: { floor: 0, tombstones: [] } })
  now = 2_600_000
  const side = (rep: Replica, peer: string) => {
    const port = new CapturePort()
    return { s: new Session(rep, port, { ...sessionOpts(10, 'depth', 1, 3_600_000), lossy: true, peer: { id: peer } }), port }
  }
  const S = side(s, 'r')
  const R = side(r, 's')
  // r holds a later record of w, taken unvouched from another peer: it has seen w above 'b', its clock of w is 0.
  now = 3_000_000
  const later = w.writeLocal('c', 3).rec
  r.applyRemote(later, r.sourceOf(later))
  now = 3_100_000
  R.s.start()
  for (const m of R.port.take()) S.s.receive(m)
  const answer = S.port.take()
  t.equal(updates(answer).length, 1, 's answers with w\'s record')
  // The link loses it; the digest arrives.
  for (const m of answer.filter((m) => m.digest === true)) R.s.receive(m)
  t.equal(r.record('b'), undefined, 'r lacks w\'s record')
  t.equal(r.clock.get('w'), -Infinity, 'r takes no clock of w from s over it')
  t.end()
})
