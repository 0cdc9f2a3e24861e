/**
 * What a peer's word can and cannot do to a node (design rules 9-11):
 * versions bounded by physical time, no drops on a peer's say-so, clocks
 * that move only along chains inside responses and never above what records
 * showed, user functions and the journal contained.
 */
import test, { type Test } from 'tape'
import { Replica, RefusedError } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import type { Rec, ResolveFn } from '../../lib/core/types.ts'
import { link, replica, session } from '../support/core.ts'

const rec = (key: string, version: number, source_id = 'b', extra: Partial<Rec> = {}): Rec => ({ key, value: version, source_id, version, ...extra }) as Rec

/** A replica of `b`'s writes 1..n, as a victim holds them after a clean exchange. */
function victimWithB(n: number): Replica {
  const b = replica('b')
  for (let i = 1; i <= n; i++) b.writeLocal('k' + i, i)
  const v = replica('v')
  link(b, v).exchange()
  return v
}

test('an update pushed into a response that never ends moves no clock', (t) => {
  const v = victimWithB(8)
  const { s } = session(v)
  s.start()
  s.receive({ key: 'gap', value: 1, source_id: 'b', version: 1000 })
  t.equal(v.clock.get('b'), 8, 'no marker from the peer: the clock stays')
  s.close()
  t.equal(v.clock.get('b'), 8, 'and the session ending does not move it either')
  t.end()
})

test('an update without prev that answers no digest of ours moves no clock', (t) => {
  const v = victimWithB(8)
  t.equal(v.clock.get('b'), 8, 'the victim covers b up to 8')
  const { s } = session(v)
  s.receive({ key: 'far', value: 1, source_id: 'b', version: 1000 })
  t.equal(v.get('far').value, 1, 'the update is applied (it is a real value)')
  t.equal(v.clock.get('b'), 8, 'but the clock does not jump over 9..999')
  // After a digest of ours, a reply marker closes the response; later updates are outside again.
  s.start()
  s.receive({ digest: true, done: true, reply: true })
  s.receive({ key: 'later', value: 1, source_id: 'b', version: 2000 })
  t.equal(v.clock.get('b'), 8, 'an update after the response ended moves no clock either')
  t.end()
})

test('inside a response, a refused record breaks its chain, and the next exchange asks for it again', (t) => {
  const verify = (u: Rec) => {
    if (u.sig === 'flaky') throw new Error('key store down')
    return u.sig === 'good'
  }
  const v = new Replica({ id: 'v', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, verify })
  const { s, port } = session(v)
  s.start()
  s.receive(rec('a1', 1, 'b', { sig: 'good' }))
  s.receive(rec('bad', 2, 'b', { sig: 'flaky' }))
  s.receive(rec('a3', 3, 'b', { sig: 'good' }))
  t.deepEqual(port.invalids, ['config.verify threw: key store down'], 'the middle record was refused')
  t.equal(v.clock.get('b'), -Infinity, 'no clock moves before the response ends')
  t.equal(v.get('a3').value, 3, 'the record after it is held all the same')
  s.receive({ digest: true, source_id: 'b', version: 3 })
  s.receive({ digest: true, done: true, reply: true })
  t.equal(v.clock.get('b'), 1, 'at its end the clock stops below the refused record, and adopts nothing past it')
  port.take()
  s.start()
  const asked = port.take()
  t.deepEqual(asked.filter((m) => m.source_id === 'b').map((m) => m.version), [1], 'the next exchange asks from exactly our clock for b')
  t.equal(asked[asked.length - 1].resync, true, 'as a resync, so the peer answers from there whatever it thinks it sent')
  t.end()
})

test('a record this node\'s accept refuses does not hold its source\'s clock back', (t) => {
  const accept = (u: Rec) => u.key !== 'forbidden'
  const v = new Replica({ id: 'v', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, accept })
  const { s, port } = session(v)
  s.start()
  s.receive(rec('a1', 1))
  s.receive(rec('forbidden', 2))
  s.receive(rec('a3', 3))
  s.receive({ digest: true, done: true, reply: true })
  t.deepEqual(port.invalids, ['not accepted'], 'refused by policy')
  t.equal(v.clock.get('b'), 3, 'the chain goes on past it: it will never be taken anyway')
  t.end()
})

test('a peer cannot make a node adopt versions no record showed it', (t) => {
  const v = victimWithB(5)
  const { s } = session(v)
  // Unsolicited: a final marker nobody asked for.
  s.receive({ digest: true, source_id: 'b', version: 1_000_000 })
  s.receive({ digest: true, done: true, reply: true, final: true })
  t.equal(v.clock.get('b'), 5, 'an unsolicited final is not adopted')
  // Solicited: the peer answers our digest, but claims more than it showed.
  s.start()
  s.receive(rec('k6', 6))
  s.receive({ digest: true, source_id: 'b', version: 1_000_000 })
  s.receive({ digest: true, done: true, reply: true })
  t.equal(v.clock.get('b'), 6, 'adoption stops at the highest record of b seen (6)')
  t.end()
})

test('a gc floor from a peer drops nothing and stops adoption across it', (t) => {
  const v = victimWithB(110)
  const { s, port } = session(v)
  s.start()
  s.receive({ digest: true, source_id: 'b', version: 0, gc: 1_000_000_000 })
  s.receive({ digest: true, done: true, reply: true })
  s.receive({ digest: true, reset: true, source_id: 'b', from: 0, to: 1e15, n: 0 })
  t.equal(v.clock.find('b')!.log.size, 110, 'every record of b is still held')
  t.equal(v.clock.get('b'), 110, 'and the clock still covers them')
  t.ok(port.invalids.some((r) => /resets are not accepted/.test(r)), 'the reset was refused as invalid')
  t.end()
})

test('a responder that forgot tombstones above the peer\'s floor sends unlinked records, and the peer adopts nothing of that source', (t) => {
  let now = 0
  const c = replica('c')
  const r = new Replica({ id: 'r', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => now })
  c.writeLocal('x', 1)
  c.writeLocal('gone', 1)
  c.writeLocal('gone', null, true) // c's tombstone, version 3
  c.writeLocal('y', 4)
  link(c, r).exchange()
  now = 10_000
  t.equal(r.collect(now, 100), 1, 'r forgot c\'s tombstone')
  t.equal(c.collect(now, 100), 0, 'c keeps its own tombstone')
  const late = replica('late')
  const L = link(late, r)
  L.exchange()
  const fromR = L.log.filter((l) => l.from === 'b' && l.msg.digest !== true).map((l) => l.msg)
  t.deepEqual(fromR.map((m) => m.key).sort(), ['gone', 'x', 'y'], 'r sent x, y and the tombstone of gone it forgot but remembers')
  t.ok(fromR.every((m) => m.prev === (m.version as number) - 1), 'each linked only to itself')
  t.equal(late.record('gone')?.deleted, true, 'so the late node has the delete without the writer')
  t.ok(late.clock.get('c') < 3, `the late node's clock for c (${late.clock.get('c')}) did not pass the forgotten tombstone (3)`)
  link(late, c).exchange()
  t.equal(late.record('gone')?.deleted, true, 'the writer agrees')
  t.equal(late.clock.get('c'), 4, 'and its clock catches up through the writer\'s chain')
  t.end()
})

test('a peer behind our gc floor: its old update of a key deleted here is refused by the remembered tombstone; its others are taken', (t) => {
  let now = 0
  const r = new Replica({ id: 'r', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => now })
  const { s } = session(r)
  s.receive(rec('gone', 5, 'x', { value: null, deleted: true }))
  now = 10_000
  r.collect(now, 100)
  t.equal(r.clock.find('x')!.gc, 5, 'r forgot x\'s tombstone at 5')
  s.receive({ digest: true, source_id: 'x', version: 1 })
  s.receive({ digest: true, done: true })
  s.receive({ key: 'gone', value: 'stale', source_id: 'y', version: 4, prev: 0 })
  t.equal(r.record('gone'), undefined, 'an old update of the deleted key (version 4, below the tombstone) is refused')
  t.equal(r.stats.rejected, 1, 'and counted')
  s.receive({ key: 'kept', value: 1, source_id: 'y', version: 3, prev: 0 })
  t.equal(r.get('kept').value, 1, 'an old update of a key never deleted here is taken (no tombstone forgotten here beat it)')
  s.receive({ key: 'fresh', value: 1, source_id: 'y', version: 6, prev: 0 })
  t.equal(r.get('fresh').value, 1, 'a newer one is taken')
  t.end()
})

test('a peer behind our gc floor, where the tombstones forgotten are not remembered by key (an earlier life): its old updates are dropped and counted', (t) => {
  const r = new Replica({ id: 'r', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10 })
  r.restore({ records: [], sources: [{ id: 'x', gen: undefined, clock: 8, gc: 5 }], version: 8 })
  const { s } = session(r)
  s.receive({ digest: true, source_id: 'x', version: 1 })
  s.receive({ digest: true, done: true })
  s.receive({ key: 'old', value: 'stale', source_id: 'y', version: 4, prev: 0 })
  t.equal(r.record('old'), undefined, 'an update at or below the floor (4 <= 5) is dropped')
  t.equal(s.stats.staleDropped, 1, 'counted as staleDropped')
  s.receive({ key: 'fresh', value: 1, source_id: 'y', version: 6, prev: 0 })
  t.equal(r.get('fresh').value, 1, 'one above it is taken')
  t.end()
})

test('remote versions are bounded by the physical clock, so no chain of messages exhausts the version space', (t) => {
  const nowUs = 1_000_000
  const v = new Replica({ id: 'v', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, now: () => nowUs, maxOffset: 500 })
  const { s, port } = session(v)
  s.start()
  let version = 0
  for (let i = 0; i < 8193; i++) {
    const next = version + 2 ** 40 - 1
    s.receive({ key: 'k', value: i, source_id: 'evil', version: next, prev: version })
    version = next
  }
  t.ok(v.version <= nowUs + 500, `the highest version seen stays within the offset (${v.version})`)
  t.equal(port.invalids.length, 8193, 'every jump beyond the offset is refused')
  const { rec: own } = v.writeLocal('mine', 1)
  t.ok(own.version > 0 && Number.isSafeInteger(own.version), 'and the node still writes')
  t.end()
})

test('a resolve, sort or accept that throws refuses that update and leaves state unchanged', (t) => {
  const throwingOnTombstones: ResolveFn = (g, u) => (u.value as { n: number }).n > ((g.get(u.key).value as { n: number } | null)?.n ?? -1)
  const v = new Replica({ id: 'v', resolve: throwingOnTombstones, sort, maxHistory: 10 })
  const { s, port } = session(v)
  s.receive(rec('k', 1, 'b', { value: { n: 1 } }))
  s.receive(rec('k', 2, 'b', { value: null, deleted: true }))
  t.equal(port.invalids.length, 1, 'the delete was refused')
  t.match(port.invalids[0], /^config\.resolve threw: /, 'with the cause')
  t.deepEqual(v.get('k').value, { n: 1 }, 'state unchanged')
  t.throws(() => v.writeLocal('k', null, true), RefusedError, 'a local delete throws to the caller')
  t.deepEqual(v.get('k').value, { n: 1 }, 'and changes nothing')

  let bad = false
  const w = new Replica({ id: 'w', resolve: resolution.lww_vs_current_vers, sort: (a, b) => { if (bad) throw new Error('boom'); return sort(a, b) }, maxHistory: 10 })
  w.writeLocal('a', 1)
  w.writeLocal('b', 1)
  bad = true
  const W = session(w)
  W.s.receive(rec('c', 1, 'z'))
  t.deepEqual(W.port.invalids, ['config.sort threw: boom'], 'a throwing sort refuses the remote update')
  t.equal(w.record('c'), undefined, 'nothing of it was stored')
  t.equal(w.history.memory.length, 2, 'history unchanged')
  t.end()
})

test('a history listener that throws does not stop the update or the stream', (t) => {
  const v = replica('v')
  const errors: unknown[] = []
  v.onListenerError = (e) => errors.push(e)
  v.history.on('update', () => {
    throw new Error('listener bug')
  })
  let second = 0
  v.history.on('update', () => second++)
  const { s } = session(v)
  s.receive(rec('k', 1))
  t.equal(v.get('k').value, 1, 'applied')
  t.equal(second, 1, 'the other listener ran')
  t.equal(errors.length, 1, 'the error was reported')
  t.equal(v.stats.listenerErrors, 1, 'and counted')
  t.end()
})

test('limits.maxSources is enforced: records of one source too many are refused', (t) => {
  const v = new Replica({ id: 'v', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, maxSources: 10 })
  const { s, port } = session(v)
  for (let i = 0; i < 1001; i++) s.receive(rec('k' + i, 1, 'src' + i))
  t.equal(v.clock.size, 10, '10 sources tracked (this node and 9 others)')
  t.equal(port.invalids.length, 1001 - 9, 'the others refused')
  t.match(port.invalids[0], /too many sources/, 'with a reason')
  t.end()
})

test('a journal that refuses keeps state unchanged; a local write throws the cause', (t) => {
  const v = replica('v')
  let fail = false
  v.journal = {
    append() {
      if (fail) throw new Error('ENOSPC: no space left on device')
    },
    remove() {},
  }
  v.writeLocal('a', 1)
  fail = true
  const err = (() => {
    try {
      v.writeLocal('a', 2)
    } catch (e) {
      return e as RefusedError
    }
  })()
  t.ok(err instanceof RefusedError && /ENOSPC/.test(err.message) && err.cause instanceof Error, 'set throws, naming the disk error')
  t.equal(v.get('a').value, 1, 'state unchanged')
  const { s, port } = session(v)
  s.start()
  s.receive(rec('r', 1))
  t.equal(v.record('r'), undefined, 'a remote update is not taken')
  t.equal(v.clock.get('b'), -Infinity, 'and no clock moves past it')
  t.match(port.invalids[0], /^not stored: ENOSPC/, 'it is reported')
  t.end()
})

test('outside a response, a link moves the clock only when the clock covers its prev', (t) => {
  const v = victimWithB(3)
  const relay = session(v, 10, 'depth', 1, 'c')
  relay.s.receive(rec('k9', 9, 'b', { prev: 7 } as Partial<Rec>))
  t.equal(v.clock.get('b'), 3, 'a relay linked to 7 does not carry a clock at 3')
  relay.s.receive(rec('k4', 4, 'b', { prev: 3 } as Partial<Rec>))
  t.equal(v.clock.get('b'), 4, 'a relay linked to 3 (what v holds) does: nothing lies between')
  t.end()
})

/**
 * Writer b's records k1..k5, held by an honest node; v is told by a liar
 * that b's records are 1, 2 and 5 only (its clock claims b up to 5 while
 * k3 and k4 are hidden from it). `make` builds the replicas.
 */
function hiddenByLiar(make: (id: string) => Replica = (id) => replica(id)) {
  const b = make('b')
  for (let i = 1; i <= 5; i++) b.writeLocal('k' + i, i)
  const honest = make('h')
  link(b, honest).exchange()
  const v = make('v')
  const liar = session(v, 10, 'depth', 1, 'liar')
  liar.s.start()
  for (const k of [1, 2, 5]) liar.s.receive(b.record('k' + k))
  liar.s.receive({ digest: true, source_id: 'b', version: 5 })
  liar.s.receive({ digest: true, done: true, reply: true })
  return { b, honest, v }
}

/** b's records were sent to v in full: k3 and k4 are back, and v's fingerprint of b is the honest node's. */
function repaired(t: Test, v: Replica, honest: Replica, why: string): void {
  t.equal(v.get('k3').value, 3, `${why}: b's records were sent in full, k3 is back`)
  t.equal(v.get('k4').value, 4, 'and k4')
  t.equal(v.clock.find('b')!.fp.toString(), honest.clock.find('b')!.fp.toString(), 'the fingerprints of b now match')
}

test('a record hidden by a lying peer comes back: fingerprints that differ at an equal clock, twice, send the source in full', (t) => {
  const { honest, v } = hiddenByLiar()
  t.equal(v.clock.get('b'), 5, 'v\'s clock claims b up to 5')
  t.equal(v.record('k3'), undefined, 'while k3 and k4 are hidden from it')
  const L = link(v, honest, 10, 'depth', 0)
  L.exchange()
  t.equal(v.record('k3'), undefined, 'one exchange with an honest peer sends nothing (equal clocks; one difference may be a write in flight)')
  t.ok(L.log.some((l) => typeof l.msg.fp === 'string'), 'its digests carried fingerprints')
  L.exchange()
  repaired(t, v, honest, 'the same difference again')
  t.end()
})

test('a hidden record comes back though its writer keeps writing between the fingerprint checks (the same difference, at other clocks)', (t) => {
  const { b, honest, v } = hiddenByLiar()
  const L = link(v, honest, 10, 'depth', 0)
  const toV = link(b, v)
  const toH = link(b, honest)
  for (let round = 0; round < 3; round++) {
    b.writeLocal('tick', round) // a new write of b, taken by both before each check
    toV.exchange()
    toH.exchange()
    t.equal(v.clock.get('b'), honest.clock.get('b'), `check ${round + 1}: both hold b's write ${b.clock.get('b')}`)
    L.exchange()
  }
  repaired(t, v, honest, 'the difference lasted')
  t.end()
})

test('fingerprint checks: a difference counts once it has lasted an interval, not at two checks of the same moment', (t) => {
  let now = 0
  const { honest, v } = hiddenByLiar((id) => new Replica({ id, resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => now }))
  const L = link(v, honest, 10, 'depth', 1000)
  const both = () => {
    L.A.s.start() // v checks at the reply
    L.run()
    L.B.s.start() // and at the final of honest's exchange, at the same moment
    L.run()
  }
  both()
  t.equal(v.record('k3'), undefined, 'two checks at one moment (as initiator, then as responder) send nothing in full')
  now = 1000
  both()
  t.equal(v.get('k3').value, 3, 'the same difference an interval later: b\'s records were sent in full, k3 is back')
  t.end()
})

test('a writer that told two stories at one version: the full send under an MTU of 1 carries every record at that version', (t) => {
  // Writer e signs x3@1 for some nodes and x3@1 and x4@1 for others (two records at one version).
  const full = replica('n0')
  const partial = replica('n1')
  const liar = session(full, 10, 'depth', 1, 'e')
  liar.s.start()
  for (const r of [rec('x3', 1, 'e'), rec('x4', 1, 'e'), rec('x5', 7, 'e')]) liar.s.receive(r)
  liar.s.receive({ digest: true, source_id: 'e', version: 7 })
  liar.s.receive({ digest: true, done: true, reply: true })
  const liar2 = session(partial, 10, 'depth', 1, 'e')
  liar2.s.start()
  for (const r of [rec('x3', 1, 'e'), rec('x5', 7, 'e')]) liar2.s.receive(r)
  liar2.s.receive({ digest: true, source_id: 'e', version: 7 })
  liar2.s.receive({ digest: true, done: true, reply: true })
  t.equal(full.clock.get('e'), 7, 'n0 covers e up to 7, holding x3@1 and x4@1')
  t.equal(partial.clock.get('e'), 7, 'n1 covers e up to 7 too, without x4')
  const L = link(full, partial, 1, 'depth', 0)
  for (let i = 0; i < 8 && partial.record('x4') === undefined; i++) L.exchange()
  t.equal(partial.get('x4').value, 1, 'x4@1 reached n1 though x3@1 shares its version and each response holds one record')
  t.equal(partial.clock.find('e')!.fp.toString(), full.clock.find('e')!.fp.toString(), 'the fingerprints of e now match')
  t.end()
})

for (const signed of [false, true]) {
  test(`${signed ? 'signed' : 'unsigned'}: a peer saying hello as b cannot carry b's clock past the physical bound${signed ? ', nor above what b\'s signed records showed' : ''}`, (t) => {
    const now = 1_796_000_000_000
    const verify = signed ? (u: Rec) => u.sig === 'good' : undefined
    const v = new Replica({ id: 'v', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, verify, now: () => now * 1000 })
    const first = session(v, 10, 'depth', 1, 'b')
    first.s.start()
    first.s.receive(rec('b1', now * 1000 - 5, 'b', { sig: 'good' }))
    first.s.receive({ digest: true, source_id: 'b', version: now * 1000 - 5 })
    first.s.receive({ digest: true, done: true, reply: true })
    t.equal(v.clock.get('b'), now * 1000 - 5, 'the real b\'s response moved b\'s clock to its record')
    for (const claim of [Number.MAX_SAFE_INTEGER, now * 1000 + 3_600_000_000]) {
      const { s } = session(v, 10, 'depth', 1, 'b')
      s.start()
      s.receive({ digest: true, source_id: 'b', version: claim })
      s.receive({ digest: true, done: true, reply: true })
      t.ok(v.clock.get('b') <= now * 1000 + 300_000_000, `a claim of ${claim} left b's clock at ${v.clock.get('b')}, within now + maxClockOffset`)
    }
    if (signed) t.equal(v.clock.get('b'), now * 1000 - 5, 'signed: b\'s clock is what its signed record showed')
    v.writeLocal('mine', 1)
    t.ok(v.record('mine')!.version < Number.MAX_SAFE_INTEGER, 'the node still writes')
    t.end()
  })
}

test('a writer that sent two values under one version: fingerprints see it, and both nodes end with the same value', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (const [node, value] of [[a, 1], [b, 2]] as const) {
    const { s } = session(node, 10, 'depth', 1, 'w')
    s.start()
    s.receive(rec('k', 5, 'w', { value }))
    s.receive({ digest: true, source_id: 'w', version: 5 })
    s.receive({ digest: true, done: true, reply: true })
  }
  t.deepEqual([a.get('k').value, b.get('k').value, a.clock.get('w'), b.clock.get('w')], [1, 2, 5, 5], 'a and b hold other values of w@5 at equal clocks')
  t.notEqual(a.clock.find('w')!.fp.toString(), b.clock.find('w')!.fp.toString(), 'their fingerprints of w differ')
  const L = link(a, b, 10, 'depth', 0)
  for (let i = 0; i < 4; i++) L.exchange()
  t.equal(a.get('k').value, b.get('k').value, `both hold ${JSON.stringify(a.get('k').value)}`)
  t.equal(a.clock.find('w')!.fp.toString(), b.clock.find('w')!.fp.toString(), 'and their fingerprints match')
  t.end()
})

test('a bad signature is passed over inside a response (not asked for again), and moves no clock outside one', (t) => {
  const verify = (u: Rec) => u.sig === 'good'
  const v = new Replica({ id: 'v', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, verify })
  const { s, port } = session(v)
  s.start()
  s.receive(rec('a1', 1, 'b', { sig: 'good' }))
  s.receive(rec('old-key', 2, 'b', { sig: 'signed with a rotated key' }))
  s.receive(rec('a3', 3, 'b', { sig: 'good' }))
  t.deepEqual(port.invalids, ['bad signature'], 'the middle record was refused')
  s.receive({ digest: true, source_id: 'b', version: 3 })
  s.receive({ digest: true, done: true, reply: true })
  t.equal(v.clock.get('b'), 3, 'the next record\'s link passed over it: the clock covers it')
  port.take()
  s.start()
  const asked = port.take()
  t.deepEqual(asked.filter((m) => m.source_id === 'b').map((m) => m.version), [3], 'the next exchange asks from 3')
  t.notOk(asked[asked.length - 1].resync, 'not as a resync: nothing is fetched again')
  s.receive(rec('forged', 1000, 'b', { sig: 'forged', prev: 3 } as Partial<Rec>))
  t.equal(v.clock.get('b'), 3, 'a bad signature pushed with a link to our clock moves no clock')
  t.end()
})

test('in a signed cluster a bad signature makes no hole: a forger cannot lower for good the clock a node vouches for an honest source', (t) => {
  const verify = (u: Rec) => u.sig === 'good'
  const v = new Replica({ id: 'v', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, verify })
  const { s } = session(v)
  s.start()
  s.receive(rec('a1', 1, 'b', { sig: 'good' }))
  s.receive(rec('never-rewritten', 2, 'b', { sig: 'forged' }))
  s.receive(rec('a3', 3, 'b', { sig: 'good' }))
  s.receive({ digest: true, source_id: 'b', version: 3 })
  s.receive({ digest: true, done: true, reply: true })
  const b = v.clock.find('b')!
  t.equal(b.clock, 3, 'the forged record was passed over')
  t.equal(v.clock.holes.vouched(b), 3, 'and the node vouches for its whole clock of b')
  t.end()
})
