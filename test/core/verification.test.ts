/** Fingerprint checks with one peer: when a difference sends a source in full, and how often again. */
import test from 'tape'
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import { Verification } from '../../lib/core/verification.ts'
import type { DigestMsg } from '../../lib/protocol/messages.ts'
import { session } from '../support/core.ts'

function world() {
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10 })
  const b = r.clock.intern('b', undefined)
  r.applyRemote({ key: 'k', value: 1, source_id: 'b', version: 5 }, b)
  r.clock.advance(b, 5)
  const entry = (fp: string): DigestMsg => ({ type: 'digest', source_id: 'b', version: 5, gc: 0, fp }) as DigestMsg
  return { r, b, entry }
}

test('a difference that lasts an interval sends the source in full; the same difference again after that send waits twice as long each time', (t) => {
  const { r, b, entry } = world()
  const v = new Verification(1000)
  const other = '0123456789abcdef'
  const sendsAt: number[] = []
  for (let now = 0; now <= 40_000; now += 1000) if (v.compare([entry(other)], r.clock, now).includes(b)) sendsAt.push(now)
  t.deepEqual(sendsAt, [1000, 4000, 9000, 18_000, 35_000], 'sent at 1 s, then after 2, 4, 8 and 16 intervals of the same difference')
  t.end()
})

test('equal fingerprints end the backoff: a new difference is sent after one interval', (t) => {
  const { r, b, entry } = world()
  const v = new Verification(1000)
  const other = '0123456789abcdef'
  t.deepEqual(v.compare([entry(other)], r.clock, 0), [], 'first sight: a suspect')
  t.deepEqual(v.compare([entry(other)], r.clock, 1000), [b], 'an interval later: sent in full')
  t.deepEqual(v.compare([entry(b.fp.toString())], r.clock, 2000), [], 'then the peer holds the same records')
  t.deepEqual(v.compare([entry(other)], r.clock, 3000), [], 'the difference again: a suspect')
  t.deepEqual(v.compare([entry(other)], r.clock, 4000), [b], 'sent after one interval, not two')
  t.end()
})

test('a whole digest with fingerprints that does not list a source is an empty fingerprint, judged only for sources held back', (t) => {
  const { r, b } = world()
  const v = new Verification(1000)
  const own: DigestMsg = { type: 'digest', source_id: 'x', version: 0, gc: 0, fp: '0000000000000000' } as DigestMsg
  for (const now of [0, 1000, 2000]) t.deepEqual(v.compare([own], r.clock, now, () => false), [], `at ${now}: not held back, nothing sent`)
  const w = new Verification(1000)
  t.deepEqual(w.compare([own], r.clock, 0, (src) => src === b), [], 'held back: a suspect')
  t.deepEqual(w.compare([own], r.clock, 1000, (src) => src === b), [b], 'an interval later: sent in full')
  const bare: DigestMsg = { type: 'digest', source_id: 'x', version: 0, gc: 0 } as DigestMsg
  const u = new Verification(1000)
  for (const now of [0, 1000, 2000]) t.deepEqual(u.compare([bare], r.clock, now, (src) => src === b), [], `at ${now}: a digest without fingerprints says nothing`)
  t.end()
})

test('a peer alternating between two wrong fingerprints gets the same backoff as one that keeps one', (t) => {
  const { r, b, entry } = world()
  const v = new Verification(1000)
  const wrong = ['0123456789abcdef', 'fedcba9876543210']
  const sendsAt: number[] = []
  let k = 0
  for (let now = 0; now <= 40_000; now += 1000) {
    // The peer shows one wrong fingerprint until a full send, then the other.
    if (v.compare([entry(wrong[k % 2])], r.clock, now).includes(b)) {
      sendsAt.push(now)
      k++
    }
  }
  t.deepEqual(sendsAt, [1000, 4000, 9000, 18_000, 35_000], 'sent after 1, 2, 4, 8 and 16 intervals, as for one difference')
  t.end()
})

test('fingerprint checks keep their interval when the wall clock steps back (not an hour without one after an hour\'s step)', (t) => {
  let wall = 1_700_000_000_000
  const r = new Replica({ id: 'a', resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => wall })
  const { s, port } = session(r, 10, 'depth', 1, 'b', 1000)
  const checks: number[] = []
  for (let i = 0; i <= 8; i++) {
    if (i === 4) wall -= 3_600_000 // NTP steps the wall clock back an hour
    else if (i > 0) wall += 500
    s.start()
    if (port.take().some((m) => m.fp !== undefined)) checks.push(i)
  }
  t.deepEqual(checks, [0, 2, 5, 7], 'an exchange every 500 ms carries fingerprints every 1,000 ms, across the step')
  t.end()
})
