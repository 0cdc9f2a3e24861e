/**
 * Member records as the table holds them (lib/membership/held-record.ts):
 * metadata kept as its JSON text, so that what a peer can make a node hold
 * grows with the bytes it sent; read back, sent on, signed and verified as
 * the object it was.
 */
import test from 'tape'
import { messageJson, MemberLink, readMessage } from '../../lib/membership/exchange.ts'
import { hold, isHeld, metaText, recordJson } from '../../lib/membership/held-record.ts'
import { readRecord, signedForm } from '../../lib/membership/record.ts'
import { MEMBER_LIMITS, type MemberRecord } from '../../lib/membership/types.ts'
import { generateSigningKeys, signer, verifier } from '../../lib/security.ts'
import { WALL, rec, table } from './support/tables.ts'

const NOW = WALL + 60_000

/** 1,350 empty objects: 4,057 characters of JSON, within the limit, and the costliest metadata to parse. */
const EMPTIES = { a: Array.from({ length: 1350 }, () => ({})) }

/**
 * What `x` holds through its data properties (getters not called): the
 * objects reachable, `x` itself excluded, and the characters of its strings.
 */
function held(x: object): { objects: number; chars: number } {
  const seen = new Set<object>([x])
  const todo: object[] = [x]
  let chars = 0
  while (todo.length > 0) {
    const o = todo.pop()!
    for (const d of Object.values(Object.getOwnPropertyDescriptors(o)).concat(Object.getOwnPropertySymbols(o).map((s) => Object.getOwnPropertyDescriptor(o, s)!))) {
      if (!('value' in d)) continue
      if (typeof d.value === 'string') chars += d.value.length
      else if (typeof d.value === 'object' && d.value !== null && !seen.has(d.value)) {
        seen.add(d.value)
        todo.push(d.value)
      }
    }
  }
  return { objects: seen.size - 1, chars }
}

test('a member whose metadata is 1,350 empty objects is held as its text, and reads back as the same object', (t) => {
  t.equal(JSON.stringify(EMPTIES).length, 4057, 'the metadata is within maxMetaLength')
  const { t: a } = table('a')
  const line = JSON.stringify({ mb: 'recs', recs: [rec('m', { meta: EMPTIES })] })
  const msg = readMessage(JSON.parse(line), MEMBER_LIMITS, NOW)
  if (typeof msg === 'string') return t.fail(msg)
  new MemberLink(a, 'peer', { maxBeatEntries: 100, maxRecords: 100, maxLineBytes: 1 << 20, minReplyGap: 0 }).receive(msg, 0)
  const r = a.get('m')!.record
  const h = held(r)
  t.equal(h.objects, 0, 'the record holds no object of its metadata')
  t.ok(h.chars <= recordJson(r).length, `the record holds ${h.chars} characters, at most its JSON text (${recordJson(r).length})`)
  t.ok(isHeld(r), 'held')
  t.deepEqual(r.meta, EMPTIES, 'reading meta gives the object sent')
  t.notEqual(r.meta, r.meta, 'parsed afresh at every read: nothing is cached on the record')
  t.equal(held(r).objects, 0, 'still no object held after it was read')
  t.equal(messageJson({ mb: 'recs', recs: [r] }), line, 'sent on, byte for byte the line that brought it')

  // The application's view: parsed when read, then kept on that snapshot only.
  const m = a.members(0).find((x) => x.id === 'm')!
  t.equal(typeof Object.getOwnPropertyDescriptor(m, 'metadata')!.get, 'function', 'members() parses no metadata until it is read')
  t.deepEqual(Object.keys(m), ['id', 'generation', 'address', 'state', 'heartbeat', 'phi', 'since', 'metadata', 'self'], 'a member keeps its fields, in order')
  t.deepEqual(m.metadata, EMPTIES, 'member.metadata is the object sent')
  t.equal(m.metadata, m.metadata, 'and stays the same object on that snapshot')
  t.equal(held(a.get('m')!.record).objects, 0, 'the table holds no more for it')
  t.end()
})

test('a plain record given to the table is held as text too', (t) => {
  const { t: a } = table('a')
  const plain = rec('p', { meta: EMPTIES })
  t.equal(held(plain).objects, 1352, 'the plain record holds 1,352 objects')
  t.equal(a.applyRecord(plain, 0), 'applied')
  t.equal(held(a.get('p')!.record).objects, 0, 'the table holds none of them')
  t.deepEqual(a.get('p')!.record.meta, EMPTIES, 'and reads the same metadata')
  t.equal(hold(a.get('p')!.record), a.get('p')!.record, 'holding a held record is the record itself')
  t.end()
})

test('records are written byte for byte as JSON.stringify writes them', (t) => {
  const metas: MemberRecord['meta'][] = [
    undefined,
    {},
    { zone: 'eu-west-1a', n: [1, -2.5e-7, 1e21, true, null], deep: { x: { y: 'z' } } },
    { '10': 'numeric keys first', b: 1, '2': 2, 'ü€😀': 'non-ASCII \u2028 "quoted" \\ \n', lone: '\ud800x' },
    JSON.parse('{"__proto__": {"p": 1}, "after": 0}'),
  ]
  for (const [i, meta] of metas.entries()) {
    for (const sig of [undefined, 'c2lnbmF0dXJl']) {
      const plain: MemberRecord = { id: `m-${i}`, gen: WALL, v: 3, addr: '[::1]:7001', st: 'left', ...(meta === undefined ? {} : { meta }), ...(sig === undefined ? {} : { sig }) }
      const wire = JSON.stringify(plain)
      const r = readRecord(JSON.parse(wire), MEMBER_LIMITS, NOW)
      if (typeof r === 'string') return t.fail(r)
      t.equal(recordJson(r), wire, `record ${i}${sig === undefined ? '' : ', signed'}: the same bytes`)
      t.equal(JSON.stringify(r), wire, 'and JSON.stringify of the held record writes them too')
      t.deepEqual(r, plain, 'it deep-equals the record read')
      t.equal(metaText(r), meta === undefined ? undefined : JSON.stringify(meta), 'its text is the canonical JSON')
    }
  }
  const recs = metas.map((meta, i) => hold(rec(`r-${i}`, meta === undefined ? {} : { meta })))
  t.equal(messageJson({ mb: 'recs', recs }), JSON.stringify({ mb: 'recs', recs: metas.map((meta, i) => rec(`r-${i}`, meta === undefined ? {} : { meta })) }), 'a recs line too')
  t.end()
})

test('signed records with metadata verify after the wire, and a changed metadata does not', (t) => {
  const keys = { a: generateSigningKeys(), b: generateSigningKeys() }
  const verify = verifier({ a: keys.a.publicKey, b: keys.b.publicKey })
  const signed = (id: 'a' | 'b') => ({ sign: (r: MemberRecord) => signer(keys[id].privateKey)(signedForm(r)), verify: (r: MemberRecord) => verify(signedForm(r)) })
  const { t: a } = table('a', signed('a'))
  const { t: b } = table('b', signed('b'))
  const own = a.update({ meta: { zone: 'eu', list: [{}, { k: 'ü€' }] } })
  t.ok(isHeld(own) && own.sig !== undefined, 'a\'s own record is held and signed')
  const line = messageJson({ mb: 'recs', recs: [own] })
  const msg = readMessage(JSON.parse(line), MEMBER_LIMITS, NOW)
  if (typeof msg === 'string' || msg.mb !== 'recs') return t.fail(String(msg))
  t.equal(b.applyRecord(msg.recs[0], 0), 'applied', 'b verifies a\'s signature over the metadata it holds as text')
  t.deepEqual(b.get('a')!.record.meta, { zone: 'eu', list: [{}, { k: 'ü€' }] }, 'and reads it back')
  const moved = a.update({ addr: 'a.test:7001' })
  t.deepEqual(moved.meta, own.meta, 'a new address keeps the metadata')
  t.equal(b.applyRecord(moved, 0), 'applied', 'and its record still verifies')
  const forged = readRecord(JSON.parse(recordJson(a.update({ meta: { zone: 'us' } })).replace('"us"', '"eu"')), MEMBER_LIMITS, NOW)
  if (typeof forged === 'string') return t.fail(forged)
  t.equal(b.applyRecord(forged, 0), 'bad signature', 'a record whose metadata was changed on the way is refused')
  t.end()
})
