/**
 * The membership exchange (lib/membership/exchange.ts): validation of what
 * peers send, and the push-pull round between two tables, message by
 * message: a steady round is two small messages, records move only in the
 * buckets that differ.
 */
import test from 'tape'
import { lineBudget, MemberLink, readMessage, type MemberMessage } from '../../lib/membership/exchange.ts'
import { readRecord } from '../../lib/membership/record.ts'
import type { MemberTable } from '../../lib/membership/table.ts'
import { MEMBER_LIMITS } from '../../lib/membership/types.ts'
import { WALL, rec, table } from './support/tables.ts'

const NOW = WALL + 60_000
const read = (o: unknown) => readMessage(o, MEMBER_LIMITS, NOW)
const S = '0123456789abcdef'

test('readMessage accepts the three messages and returns only their fields', (t) => {
  t.deepEqual(read({ mb: 'beat', s: S, hb: ['a', WALL, 3] }), { mb: 'beat', s: S, hb: ['a', WALL, 3] }, 'a beat')
  t.deepEqual(read({ mb: 'beat', s: S, hb: [], re: 1 }), { mb: 'beat', s: S, hb: [], re: 1 }, 'a reply beat')
  t.deepEqual(read({ mb: 'sums', b: ['00000000', 'ffffffff'] }), { mb: 'sums', b: ['00000000', 'ffffffff'] }, 'bucket sums')
  const r = read({ mb: 'recs', recs: [{ ...rec('a', { meta: { zone: 'eu' } }), extra: 'dropped' }] })
  t.deepEqual(r, { mb: 'recs', recs: [rec('a', { meta: { zone: 'eu' } })] }, 'records, unknown fields dropped')
  t.end()
})

test('readMessage refuses bad shapes, oversize lists and values out of range, with the reason', (t) => {
  const long = 'x'.repeat(MEMBER_LIMITS.maxIdLength + 1)
  const cases: [unknown, RegExp][] = [
    [null, /must be an object/],
    [['mb', 'beat'], /must be an object/],
    [{ mb: 'gossip' }, /unknown membership message/],
    [{ mb: 'beat', s: 'xyz', hb: [] }, /^beat s must be 16 lower-case hex digits$/],
    [{ mb: 'beat', s: S.toUpperCase(), hb: [] }, /^beat s must be 16 lower-case hex digits$/],
    [{ mb: 'beat', s: S, hb: [], re: 2 }, /re must be 1/],
    [{ mb: 'beat', s: S, hb: 'a' }, /hb must be an array/],
    [{ mb: 'beat', s: S, hb: ['a', WALL] }, /triples/],
    [{ mb: 'beat', s: S, hb: [long, WALL, 1] }, /heartbeat id longer than 256/],
    [{ mb: 'beat', s: S, hb: ['', WALL, 1] }, /must not be empty/],
    [{ mb: 'beat', s: S, hb: ['a', -1, 1] }, /non-negative safe integers/],
    [{ mb: 'beat', s: S, hb: ['a', WALL, 2 ** 53] }, /non-negative safe integers/],
    [{ mb: 'beat', s: S, hb: ['a', WALL, 1.5] }, /non-negative safe integers/],
    [{ mb: 'beat', s: S, hb: Array.from({ length: MEMBER_LIMITS.maxBeatEntries + 1 }, (_, i) => [`n${i}`, WALL, 1]).flat() }, /more than 20000 heartbeat entries/],
    [{ mb: 'sums', b: [] }, /1 to 256 hashes, a power of two/],
    [{ mb: 'sums', b: ['00000000', '00000000', '00000000'] }, /a power of two/],
    [{ mb: 'sums', b: ['0000000g'] }, /8-hex-digit/],
    [{ mb: 'recs', recs: {} }, /recs must be an array/],
    [{ mb: 'recs', recs: Array.from({ length: MEMBER_LIMITS.maxRecords + 1 }, (_, i) => rec(`n${i}`)) }, /at most 512 records/],
    [{ mb: 'recs', recs: [{ ...rec('a'), id: long }] }, /member id longer than 256/],
    [{ mb: 'recs', recs: [{ ...rec('a'), v: 0 }] }, /v must be a positive safe integer/],
    [{ mb: 'recs', recs: [{ ...rec('a'), st: 'dead' }] }, /st must be "up" or "left"/],
    [{ mb: 'recs', recs: [{ ...rec('a'), addr: 'no port' }] }, /addr must be host:port/],
    [{ mb: 'recs', recs: [{ ...rec('a'), addr: 'h:70000' }] }, /port must be 1\.\.65535/],
    [{ mb: 'recs', recs: [{ ...rec('a'), addr: 'h'.repeat(400) + ':1' }] }, /addr longer than 300/],
    [{ mb: 'recs', recs: [{ ...rec('a'), meta: 'x' }] }, /meta must be an object/],
    [{ mb: 'recs', recs: [{ ...rec('a'), meta: { big: 'x'.repeat(5000) } }] }, /meta longer than 4096/],
    [{ mb: 'recs', recs: [{ ...rec('a'), meta: JSON.parse('{"a":'.repeat(12) + '1' + '}'.repeat(12)) }] }, /member meta: .*deep/],
    [{ mb: 'recs', recs: [{ ...rec('a'), sig: 5 }] }, /sig must be a string/],
  ]
  for (const [msg, why] of cases) {
    const r = read(msg)
    t.ok(typeof r === 'string' && why.test(r), `refused: ${typeof r === 'string' ? r : JSON.stringify(r).slice(0, 80)}`)
  }
  t.equal(typeof read({ mb: 'beat', s: S, hb: ['a', WALL, 60_000 + 300_000] }), 'object', 'a counter at the bound is accepted')
  t.end()
})

test('a heartbeat or record beyond this node\'s clock is clamped or dropped alone and reported: the rest of its line is read, the line is no fault', (t) => {
  const seen: string[] = []
  const ahead = (what: string) => seen.push(what)
  const hb = ['a', WALL, 5, 'b', WALL, 60_000 + 300_001, 'c', NOW + 400_000, 1, 'd', WALL, 60_000 + 300_000]
  t.deepEqual(readMessage({ mb: 'beat', s: S, hb }, MEMBER_LIMITS, NOW, ahead), { mb: 'beat', s: S, hb: ['a', WALL, 5, 'b', WALL, 60_000 + 300_000, 'd', WALL, 60_000 + 300_000] }, 'a counter over the bound is taken as the bound, a generation ahead dropped; the others kept as they are')
  t.deepEqual(seen, ['beat', 'beat'], 'each reported')
  // The same counter is within the bound of a node whose clock is one second ahead.
  t.deepEqual(readMessage({ mb: 'beat', s: S, hb }, MEMBER_LIMITS, NOW + 1000, ahead), { mb: 'beat', s: S, hb: hb.slice(0, 6).concat(hb.slice(9)) }, 'one second later the counter is taken')
  seen.length = 0
  const recs = [rec('a'), { ...rec('b'), gen: NOW + 300_001 }, rec('c')]
  t.deepEqual(readMessage({ mb: 'recs', recs }, MEMBER_LIMITS, NOW, ahead), { mb: 'recs', recs: [rec('a'), rec('c')] }, 'a record of a generation ahead is dropped, the others read')
  t.deepEqual(seen, ['record'], 'and reported')
  t.equal(typeof read({ mb: 'beat', s: S, hb: ['a', WALL, 1, 'b', WALL, 1.5] }), 'string', 'a malformed triple still refuses the line')
  t.end()
})

test('readRecord returns a fresh record: a __proto__ key or an extra field does not come along', (t) => {
  const hostile = JSON.parse(`{"id":"a","gen":${WALL},"v":1,"addr":"a:1","st":"up","__proto__":{"polluted":true},"admin":true}`)
  const r = readRecord(hostile, MEMBER_LIMITS, NOW)
  t.equal(typeof r, 'object', 'accepted')
  t.deepEqual(Object.keys(r as object).sort(), ['addr', 'gen', 'id', 'st', 'v'], 'only the record\'s fields')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype polluted')
  t.end()
})

/** Deliver messages between two links until nothing is left; returns what was sent, by direction. */
function run(a: MemberLink, b: MemberLink, first: MemberMessage[], now: number) {
  const sent: { from: string; msg: MemberMessage }[] = []
  let queue: { to: MemberLink; from: MemberLink; msg: MemberMessage }[] = first.map((msg) => ({ to: b, from: a, msg }))
  while (queue.length > 0) {
    const next: typeof queue = []
    for (const { to, from, msg } of queue) {
      sent.push({ from: from.table.selfId, msg })
      // Every message goes through the validator, as on a connection.
      const checked = readMessage(JSON.parse(JSON.stringify(msg)), MEMBER_LIMITS, NOW)
      if (typeof checked === 'string') throw new Error(checked)
      for (const reply of to.receive(checked, now)) next.push({ to: from, from: to, msg: reply })
    }
    queue = next
  }
  return sent
}

const linkOf = (t: MemberTable, peer: string) => new MemberLink(t, peer, { maxBeatEntries: 1000, maxRecords: 2, maxLineBytes: lineBudget(1024 * 1024), minReplyGap: 75 })

test('push-pull: one round teaches both sides every record and heartbeat; a steady round is two beats', (t) => {
  const { t: a } = table('a')
  const { t: b } = table('b')
  for (const id of ['c', 'd', 'e']) b.applyRecord(rec(id), 0)
  a.beat()
  b.beat()
  const ab = linkOf(a, 'b')
  const ba = linkOf(b, 'a')
  const first = run(ab, ba, ab.start(), 100)
  const kinds = first.map((s) => `${s.from}:${s.msg.mb}`)
  t.deepEqual(kinds.slice(0, 5), ['a:beat', 'b:beat', 'b:sums', 'a:recs', 'a:sums'], 'beat; beat + sums (summaries differ); recs + sums')
  t.ok(kinds.length > 5 && kinds.slice(5).every((k) => k === 'b:recs'), `then b's records, two a message (${kinds.length - 5} messages)`)
  t.equal(a.summary(), b.summary(), 'after one round the summaries agree')
  t.deepEqual([...a.all()].map((e) => e.record.id).sort(), ['a', 'b', 'c', 'd', 'e'], 'a knows every member')
  t.equal(a.get('b')!.hb, 0, 'the heartbeat of a member not known yet is not kept: it comes with the next rise')
  a.beat()
  b.beat()
  const steady = run(ab, ba, ab.start(), 400)
  t.deepEqual(steady.map((s) => `${s.from}:${s.msg.mb}`), ['a:beat', 'b:beat'], 'a steady round: two beats, no sums, no records')
  t.deepEqual((steady[0].msg as { hb: unknown[] }).hb, ['a', WALL, 2], 'each carries only the counters that rose since the last one sent on the link')
  t.deepEqual((steady[1].msg as { hb: unknown[] }).hb, ['b', WALL, 2], 'and not back what it just got')
  t.equal(a.get('b')!.hb, 2, 'a holds b\'s heartbeat')
  t.equal(b.get('a')!.hb, 2, 'b holds a\'s')
  t.end()
})

test('a change moves only the records of the buckets that differ', (t) => {
  const { t: a } = table('a')
  const { t: b } = table('b')
  for (let i = 0; i < 40; i++) {
    a.applyRecord(rec(`m${i}`), 0)
    b.applyRecord(rec(`m${i}`), 0)
  }
  a.applyRecord(b.selfRecord, 0)
  b.applyRecord(a.selfRecord, 0)
  t.equal(a.summary(), b.summary(), '42 members, same summary')
  b.applyRecord(rec('m7', { v: 2, meta: { role: 'db' } }), 0)
  const ab = linkOf(a, 'b')
  const ba = linkOf(b, 'a')
  const sent = run(ab, ba, ab.start(), 100)
  const records = sent.flatMap((s) => (s.msg.mb === 'recs' ? s.msg.recs : []))
  t.ok(records.length >= 1 && records.length <= 8, `${records.length} records moved for one change among 42 (a bucket or two, not all)`)
  t.deepEqual(a.get('m7')!.record.meta, { role: 'db' }, 'a has the new record')
  t.equal(a.summary(), b.summary(), 'summaries agree again')
  t.end()
})

test('a flood of beats gets at most one answer per minReplyGap', (t) => {
  const { t: a } = table('a')
  const link = linkOf(a, 'x')
  let answered = 0
  for (let i = 0; i < 100; i++) answered += link.receive({ mb: 'beat', s: S, hb: [] }, 1000 + i).length > 0 ? 1 : 0
  t.equal(answered, 2, '100 beats within 100 ms, a gap of 75 ms: two answered')
  t.equal(link.stats.unanswered, 98, 'the rest counted as unanswered')
  t.end()
})

test('a new link whose host is over its budget answers sums with records only once the budget allows', (t) => {
  const { t: a } = table('a')
  for (const id of ['p', 'q', 'r']) a.applyRecord(rec(id), 0)
  let allow = false
  let asked = 0
  const link = new MemberLink(a, 'x', { maxBeatEntries: 1000, maxRecords: 10, maxLineBytes: lineBudget(1024 * 1024), minReplyGap: 75, firstRecords: () => (asked++, allow) })
  const recsOut = (msgs: MemberMessage[]) => (msgs.some((m) => m.mb === 'recs') ? 1 : 0)
  t.equal(recsOut(link.receive({ mb: 'sums', b: ['00000000'] }, 1000)), 0, 'over the budget: no records')
  allow = true
  t.equal(recsOut(link.receive({ mb: 'sums', b: ['00000000'] }, 1100)), 1, 'once it allows: records')
  allow = false
  t.equal(recsOut(link.receive({ mb: 'sums', b: ['00000000'] }, 1200)), 1, 'and from then on at the link\'s own gap')
  t.equal(asked, 2, 'the budget is asked until it allows once')
  t.end()
})

test('bucket sums get records at most once per minReplyGap, and answers (re) only to sums this node sent', (t) => {
  const { t: a } = table('a')
  for (const id of ['p', 'q', 'r']) a.applyRecord(rec(id), 0)
  const link = linkOf(a, 'x')
  const other = ['00000000']
  const recsOut = (msgs: MemberMessage[]) => (msgs.some((m) => m.mb === 'recs') ? 1 : 0)
  let answered = 0
  for (let i = 0; i < 100; i++) answered += recsOut(link.receive({ mb: 'sums', b: other, re: 1 }, 1000 + i))
  t.equal(answered, 0, 'a hundred unsolicited answers (re: 1): no record sent')
  for (let i = 0; i < 100; i++) answered += recsOut(link.receive({ mb: 'sums', b: other }, 2000 + i))
  t.equal(answered, 2, 'a hundred sums within 100 ms, a gap of 75 ms: records sent twice')
  t.equal(link.stats.unanswered, 198, 'the rest counted as unanswered')
  // A real round: our beat answered with sums awaits the peer's answer, once.
  const fresh = linkOf(a, 'y')
  const reply = fresh.receive({ mb: 'beat', s: '0123456789abcdef', hb: [] }, 5000)
  t.ok(reply.some((m) => m.mb === 'sums'), 'summaries differ: our sums go out')
  t.ok(recsOut(fresh.receive({ mb: 'sums', b: other, re: 1 }, 5001)) > 0, 'the answer to them gets our records')
  t.equal(recsOut(fresh.receive({ mb: 'sums', b: other, re: 1 }, 5002)), 0, 'a second answer gets nothing')
  t.end()
})

test('on its own link a node\'s record speaks for it; relayed, it cannot end another\'s life', (t) => {
  const { t: a } = table('a')
  a.applyRecord(rec('b'), 0)
  a.applyRecord(rec('c'), 0)
  a.applyBeats(['b', WALL, 1, 'c', WALL, 1], 0, null)
  const fromB = linkOf(a, 'b')
  fromB.receive({ mb: 'recs', recs: [rec('c', { v: 2, st: 'left' })] }, 100)
  t.equal(a.get('c')!.state, 'alive', 'b says c left: c stays alive')
  fromB.receive({ mb: 'recs', recs: [rec('b', { v: 2, st: 'left' })] }, 100)
  t.equal(a.get('b')!.state, 'left', 'b says b left, on b\'s link: b left')
  t.end()
})
