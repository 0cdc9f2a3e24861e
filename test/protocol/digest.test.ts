/** Digest assembly: entries until the end marker, refused whole past either bound (entries, characters of ids). */
import test from 'tape'
import { DigestAssembler } from '../../lib/protocol/digest.ts'
import type { DigestMsg, DoneMsg } from '../../lib/protocol/messages.ts'

const done: DoneMsg = { type: 'done', reply: false, more: false, final: false, resync: false, stream: false } as unknown as DoneMsg
const entry = (id: string, gen?: string): DigestMsg => ({ type: 'digest', source_id: id, version: 1, gen, gc: 0 }) as unknown as DigestMsg

test('a digest of up to max entries of short ids is whole; one more entry refuses it', (t) => {
  const a = new DigestAssembler(100)
  for (let i = 0; i < 100; i++) a.entry(entry('s' + i, 'g' + i))
  t.equal(a.end(done)?.entries.length, 100, '100 entries of 100: whole')
  for (let i = 0; i < 101; i++) a.entry(entry('s' + i))
  t.equal(a.end(done), null, '101: refused')
  a.entry(entry('next'))
  t.equal(a.end(done)?.entries.length, 1, 'the next digest starts afresh')
  t.end()
})

test('entries of long ids and generations are bounded by their characters too (128 an entry on average)', (t) => {
  const a = new DigestAssembler(100)
  const long = 'é'.repeat(256)
  for (let i = 0; i < 24; i++) a.entry(entry(long + i, long))
  t.equal(a.end(done)?.entries.length, 24, 'twenty-four entries of 513 or 514 characters (12,326 of 12,800): whole')
  for (let i = 0; i < 25; i++) a.entry(entry(long + i, long))
  t.equal(a.end(done), null, 'twenty-five: refused, though far under 100 entries')
  for (let i = 0; i < 100; i++) a.entry({ ...entry(String(i).padStart(100, 'x'), 'g'.repeat(20)), fp: '0123456789abcdef' } as DigestMsg)
  t.equal(a.end(done)?.entries.length, 100, 'a full digest of 100-character ids, 20-character generations and fingerprints is whole')
  t.end()
})
