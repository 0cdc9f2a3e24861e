/**
 * Relay trees prune on relays, not on answers: a record the peer relayed
 * that we already held asks it to stop relaying that source; the same
 * record inside an answer to our digest (crossing, or a resync from our
 * clock) asks nothing, since an answer is no relay path.
 */
import test from 'tape'
import { replica, session } from '../support/core.ts'

const held = { key: 'k', value: 1, source_id: 's', version: 5, prev: 4 }
const relayOffs = (out: Record<string, unknown>[]) => out.filter((m) => m.relay === false).length

test('a duplicate outside a response prunes the relay path; the same duplicate inside a response to our digest does not', (t) => {
  const y = replica('y')
  const { s: feed } = session(y, 10, 'depth', 1, 's')
  feed.receive({ key: 'k', value: 1, source_id: 's', version: 5 })
  t.equal(y.record('k')?.version, 5, 'y holds k at 5')

  const relayed = session(y, 10, 'depth', 2, 'p')
  relayed.s.receive({ ...held })
  t.equal(relayOffs(relayed.port.out), 1, 'relayed again by p: p is asked to stop relaying s')

  const answered = session(y, 10, 'depth', 3, 'q')
  answered.s.start()
  answered.port.out.length = 0
  answered.s.receive({ ...held })
  t.equal(relayOffs(answered.port.out), 0, 'inside q\'s answer to our digest: q is asked nothing')
  t.end()
})
