import test from 'tape'
import { Admission, NOT_ACCEPTED } from '../../lib/core/admission.ts'
import { BAD_SIGNATURE, UNSIGNED } from '../../lib/core/refusals.ts'
import type { Rec } from '../../lib/core/types.ts'

const rec = (extra: Partial<Rec> = {}): Rec => ({ key: 'k', value: 1, source_id: 's', version: 100, ...extra })
const peer = { id: 'p' }

test('admission: accept must answer true or false; anything else refuses with what it returned (not as a policy no)', (t) => {
  const matchArray = new Admission(() => 1000, 0, undefined, (u) => u.key.match(/^k/) as unknown as boolean)
  t.equal(matchArray.admit(rec(), peer), 'config.accept returned k, not true or false', 'a truthy match array is no yes')
  t.notEqual(matchArray.admit(rec(), peer), NOT_ACCEPTED, 'and not the refusal that passes the record over for good')
  const no = new Admission(() => 1000, 0, undefined, () => false)
  t.equal(no.admit(rec(), peer), NOT_ACCEPTED, 'false is the policy refusal')
  const throws = new Admission(() => 1000, 0, undefined, () => {
    throw new Error('boom')
  })
  t.equal(throws.admit(rec(), peer), 'config.accept threw: boom', 'a throw says so')
  const yes = new Admission(() => 1000, 0, undefined, () => true)
  t.equal(yes.admit(rec(), peer), null, 'true admits')
  t.end()
})

test('admission: the signature first, then the version against the physical clock, then accept', (t) => {
  let accepted = 0
  const a = new Admission(
    () => 1000,
    50,
    (u) => (u.sig === 'good' ? true : u.sig === 'odd' ? (1 as unknown as boolean) : false),
    () => (accepted++, true),
  )
  t.equal(a.admit(rec(), peer), UNSIGNED, 'unsigned')
  t.equal(a.admit(rec({ sig: 'bad', version: 1e9 }), peer), BAD_SIGNATURE, 'a bad signature, whatever the version')
  t.equal(a.admit(rec({ sig: 'odd' }), peer), 'config.verify returned 1, not true or false', 'verify must answer true or false too')
  t.equal(a.admit(rec({ sig: 'good', version: 1051 }), peer), 'version too far ahead of this node\'s clock (clock skew?)', 'beyond now + maxOffset')
  t.equal(accepted, 0, 'accept was not asked for any of those')
  t.equal(a.admit(rec({ sig: 'good', version: 1050 }), peer), null, 'at now + maxOffset: admitted')
  t.equal(accepted, 1, 'after accept said yes')
  t.end()
})
