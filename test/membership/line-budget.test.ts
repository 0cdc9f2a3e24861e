/**
 * Membership lines fit the receiver's line limit: records and heartbeats
 * are cut by their bytes (UTF-8), not only by their count, so any set of
 * members the limits admit converges; no record alone can exceed a line,
 * and a network refuses limits (or its own record) under which one would.
 */
import test from 'tape'
import { DEFAULT_MAX_LINE_LENGTH } from '../../lib/codec/line-reader.ts'
import { utf8Length } from '../../lib/core/values.ts'
import { lineBudget, MemberLink, readMessage, RECS_FRAME, type MemberMessage } from '../../lib/membership/exchange.ts'
import { maxRecordBytes, recordBytes } from '../../lib/membership/record.ts'
import { MEMBER_LIMITS, type MemberRecord } from '../../lib/membership/types.ts'
import { join, listen, Network } from '../../lib/net.ts'
import { node, waitFor } from '../support/streams.ts'
import { memberNet } from './support/nets.ts'
import { WALL, rec, table } from './support/tables.ts'

const BUDGET = lineBudget(DEFAULT_MAX_LINE_LENGTH)

/** Metadata at the limit: 4,096 characters of JSON, each '€' three bytes in UTF-8 (12 KB a record). */
function bigMeta(i: number): MemberRecord['meta'] {
  const tag = String(i)
  const meta = { pad: '€'.repeat(MEMBER_LIMITS.maxMetaLength - 17 - tag.length), i: tag }
  if (JSON.stringify(meta).length !== MEMBER_LIMITS.maxMetaLength) throw new Error('the metadata is not at the limit')
  return meta
}

const lineBytes = (m: MemberMessage) => utf8Length(JSON.stringify(m))

test('the largest record the default limits admit fits a line many times over', (t) => {
  const most = maxRecordBytes(MEMBER_LIMITS)
  t.equal(most, 21_862, 'the bound README and PROTOCOL.md give: 21,862 bytes')
  const worst: MemberRecord = { id: '\u0001'.repeat(256), gen: 2 ** 53 - 1, v: 2 ** 48, addr: '\u0001'.repeat(290) + ':65535', st: 'left', meta: { p: '€'.repeat(4088) }, sig: '\u0001'.repeat(1024) }
  t.ok(recordBytes(worst) <= most, `a record of every field at its limit, escaped, is ${recordBytes(worst)} bytes, within the bound ${most}`)
  t.ok(RECS_FRAME + most < BUDGET / 40, `the bound (${most}) is a small part of the line budget (${BUDGET})`)
  t.end()
})

test('records go in lines within the byte budget, and all of them arrive', (t) => {
  const { t: a } = table('a')
  const { t: b } = table('b')
  for (let i = 0; i < 300; i++) a.applyRecord(rec(`m-${i}`, { meta: bigMeta(i) }), 0)
  const la = new MemberLink(a, 'b', { maxBeatEntries: 20_000, maxRecords: 512, maxLineBytes: BUDGET, minReplyGap: 75 })
  const lb = new MemberLink(b, 'a', { maxBeatEntries: 20_000, maxRecords: 512, maxLineBytes: BUDGET, minReplyGap: 75 })
  const sent: { from: string; msg: MemberMessage }[] = []
  let queue: { to: MemberLink; from: MemberLink; msg: MemberMessage }[] = la.start().map((msg) => ({ to: lb, from: la, msg }))
  while (queue.length > 0) {
    const next: typeof queue = []
    for (const { to, from, msg } of queue) {
      sent.push({ from: from.table.selfId, msg })
      const checked = readMessage(JSON.parse(JSON.stringify(msg)), MEMBER_LIMITS, WALL + 60_000)
      if (typeof checked === 'string') throw new Error(checked)
      for (const reply of to.receive(checked, 0)) next.push({ to: from, from: to, msg: reply })
    }
    queue = next
  }
  const recs = sent.filter((s) => s.from === 'a' && s.msg.mb === 'recs').map((s) => s.msg)
  const total = recs.reduce((n, m) => n + lineBytes(m), 0)
  t.ok(total > 3 * DEFAULT_MAX_LINE_LENGTH, `a sent 3.6 MB of records (${total} bytes)`)
  t.ok(recs.length >= 4, `in ${recs.length} recs lines`)
  t.deepEqual(sent.map((s) => lineBytes(s.msg)).filter((n) => n > BUDGET), [], `every line, both ways, within the budget (${BUDGET} bytes, UTF-8)`)
  t.equal(b.size, 302, 'b holds every record')
  t.equal(b.summary(), a.summary(), 'the two summaries agree')
  t.end()
})

test('heartbeats that do not fit a line go first, in beats marked re; the last one may be answered', (t) => {
  const { t: a } = table('a')
  const { t: b } = table('b')
  // 2,000 ids of 256 characters, each '€' three bytes: 1.5 MB of heartbeats.
  const id = (i: number) => String(i).padStart(256, '€')
  for (let i = 0; i < 2000; i++) {
    a.applyRecord(rec(id(i)), 0)
    b.applyRecord(rec(id(i)), 0)
    a.applyBeats([id(i), WALL, 5], 10, 'elsewhere')
  }
  const la = new MemberLink(a, 'b', { maxBeatEntries: 20_000, maxRecords: 512, maxLineBytes: BUDGET, minReplyGap: 75 })
  const lb = new MemberLink(b, 'a', { maxBeatEntries: 20_000, maxRecords: 512, maxLineBytes: BUDGET, minReplyGap: 75 })
  const out = la.start()
  t.ok(out.length >= 2, `${out.length} beat lines`)
  t.deepEqual(out.filter((m) => lineBytes(m) > BUDGET).map(lineBytes), [], 'each within the budget')
  t.deepEqual(out.map((m) => m.mb === 'beat' && m.re === 1), [...out.slice(1).map(() => true), false], 'all but the last marked re')
  const replies: MemberMessage[] = []
  for (const m of out) {
    const checked = readMessage(JSON.parse(JSON.stringify(m)), MEMBER_LIMITS, WALL + 60_000)
    if (typeof checked === 'string') throw new Error(checked)
    replies.push(...lb.receive(checked, 20))
  }
  t.ok(Array.from({ length: 2000 }, (_, i) => b.get(id(i))!.hb).every((n) => n === 5), 'b took every heartbeat')
  t.deepEqual(replies.filter((m) => m.mb === 'beat').map((m) => m.mb === 'beat' && m.re), [1], 'one beat answered: the last')
  t.end()
})

test('two nodes converge on 300 members with metadata at the limit (3.6 MB of records), with no line refused', async (t) => {
  // No member is heard to beat here: the detectors wait (a member never heard from is dead after maxInterval).
  const opts = { detector: { maxInterval: 600_000 } }
  const a = await memberNet('a', opts)
  const invalid: string[] = []
  a.net.on('invalid', (_c, reason) => invalid.push(`a: ${reason}`))
  const now = a.net.timers.now()
  // Every member at a's address: a never dials its own, b none while linked to it (no dial leaves the test).
  const outcomes = Array.from({ length: 300 }, (_, i) => a.membership.table.applyRecord({ id: `m-${i}`, gen: Date.now(), v: 1, addr: a.addr, st: 'up', meta: bigMeta(i) }, now))
  t.ok(outcomes.every((o) => o === 'applied'), 'a holds 300 members (as if gossiped)')
  const b = await memberNet('b', { ...opts, seeds: [a.addr] })
  b.net.on('invalid', (_c, reason) => invalid.push(`b: ${reason}`))
  await waitFor(() => b.net.members().length === 302, 30_000, 'b to learn every member')
  t.equal(b.net.members().filter((m) => m.id.startsWith('m-') && m.metadata.i === m.id.slice(2)).length, 300, 'b holds the 300, their metadata with them')
  t.deepEqual(invalid, [], 'no line refused on either side')
  t.equal(b.membership.table.summary(), a.membership.table.summary(), 'the same records on both')
  await Promise.all([a.net.close(), b.net.close()])
  t.end()
})

test('join refuses limits under which a record would not fit a line, and a record of its own that peers would refuse', async (t) => {
  const net = new Network(node('x', { now: () => WALL }), { maxLineLength: 16 * 1024 })
  const { port } = await listen(net, { port: 0, host: '127.0.0.1' })
  t.throws(() => join(net, { advertise: `127.0.0.1:${port}` }), /admit a record of \d+ bytes .*maxLineLength 16384/, 'metadata of 4,096 characters cannot fit 16 KiB lines')
  await net.close()
  const ok = new Network(node('y', { now: () => WALL }))
  const { port: p2 } = await listen(ok, { port: 0, host: '127.0.0.1' })
  t.throws(() => join(ok, { advertise: `127.0.0.1:${p2}`, limits: { maxIdLength: 200_000 } }), /admit a record of \d+ bytes/, 'ids of 200,000 characters cannot fit 1 MiB lines')
  t.throws(() => join(ok, { advertise: `127.0.0.1:${p2}`, metadata: { big: 'x'.repeat(5000) } }), /refused by its peers: member meta longer than 4096/, 'metadata over the limit')
  t.throws(() => join(ok, { advertise: 'no-port' }), /refused by its peers: addr must be host:port/, 'an address without a port')
  await ok.close()
  t.end()
})
