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

test('entries of long ids and generations are bounded by their characters too (64 an entry on average)', (t) => {
  const a = new DigestAssembler(100)
  const long = 'é'.repeat(256)
  for (let i = 0; i < 12; i++) a.entry(entry(long + i, long))
  t.equal(a.end(done)?.entries.length, 12, 'twelve entries of 513 or 514 characters (6,158 of 6,400): whole')
  for (let i = 0; i < 13; i++) a.entry(entry(long + i, long))
  t.equal(a.end(done), null, 'thirteen: refused, though far under 100 entries')
  for (let i = 0; i < 100; i++) a.entry(entry(String(i).padStart(60, 'x')))
  t.equal(a.end(done)?.entries.length, 100, 'a full digest of 60-character ids is whole')
  t.end()
})
