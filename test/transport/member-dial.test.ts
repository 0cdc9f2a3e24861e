/**
 * Dialling members (lib/transport/member-dial.ts): the addresses that
 * answer a dial with this node's own id are remembered, not dialled again,
 * and bounded: a flood of records naming hosts that all claim to be this
 * node holds at most `MAX_SELF_ADDRESSES` of them (the most recent), and
 * never forgets the node's advertised address.
 */
import test from 'tape'
import { DialGate, DIAL_LIMITS } from '../../lib/membership/dial-backoff.ts'
import { MemberTable } from '../../lib/membership/table.ts'
import { HelloRefused, SAME_ID } from '../../lib/protocol/hello.ts'
import type { Opener } from '../../lib/transport/link.ts'
import { MemberDialer } from '../../lib/transport/member-dial.ts'

/** The bound on addresses remembered (MAX_SELF_ADDRESSES). */
const MAX_SELF_ADDRESSES = 1024
import type { Network } from '../../lib/transport/network.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { tableOptions, WALL } from '../membership/support/tables.ts'

/** A dialler whose every dial is answered by a hello with this node's own id (or, with `words`, by a refusal whose peer-written reason is that text). */
function dialler(words = false) {
  const timers = new FakeTimers()
  const network = { timers, random: () => 0.5, peers: [], rateLog: { line: () => {} } } as unknown as Network
  const table = new MemberTable({ id: 'me', gen: WALL, addr: 'me.test:7000' }, tableOptions(), 0)
  const opener: Opener = () => ({
    ready: Promise.reject(words ? new HelloRefused(`the peer refused this node: ${SAME_ID}`, 'ERR_PEER_REFUSED') : new HelloRefused(SAME_ID, 'ERR_SAME_ID')),
    cancel: () => {},
  })
  const stats = { dials: 0, dialFailures: 0, dialsWrongNode: 0 }
  const d = new MemberDialer(network, table, new DialGate(DIAL_LIMITS, 100, 0), stats, opener, 5000, 1024)
  return { d, stats }
}

const settle = () => new Promise((r) => setImmediate(r))

test(`addresses that answer as this node: remembered and not dialled again, at most ${MAX_SELF_ADDRESSES} (the most recent), the advertised one kept`, async (t) => {
  const { d, stats } = dialler()
  d.selfAddresses.add('me.test:7000', true)
  t.ok(d.dial('10.0.0.1:7000', 'ghost'), 'a member\'s address is dialled')
  await settle()
  t.ok(d.selfAddresses.has('10.0.0.1:7000'), 'it answered as this node: remembered')
  t.notOk(d.dial('10.0.0.1:7000', 'ghost'), 'and not dialled again')
  const n = 3 * MAX_SELF_ADDRESSES
  for (let i = 0; i < n; i++) d.dial(`10.1.${i >> 8}.${i & 255}:7000`, `ghost${i}`)
  await settle()
  t.equal(stats.dials, n + 1, `${n} more dials, each answered as this node`)
  t.ok(d.selfAddresses.size <= MAX_SELF_ADDRESSES + 1, `remembered: ${d.selfAddresses.size}, at most ${MAX_SELF_ADDRESSES} and the advertised address`)
  t.ok(d.selfAddresses.has('me.test:7000'), 'the advertised address is kept')
  const last = n - 1
  t.ok(d.selfAddresses.has(`10.1.${last >> 8}.${last & 255}:7000`), 'the most recent are kept')
  t.notOk(d.selfAddresses.has('10.0.0.1:7000'), 'the oldest was forgotten')
  t.ok(d.dial('10.0.0.1:7000', 'ghost'), 'and may be dialled again')
  t.equal([...d.selfAddresses].length, d.selfAddresses.size, 'iterating gives them all')
  t.end()
})

test('a listener whose refusal reason is the same-id text is not taken for this node: its address is dialled again', async (t) => {
  const { d, stats } = dialler(true)
  t.ok(d.dial('10.0.0.1:7000', 'ghost'), 'dialled')
  await settle()
  t.equal(stats.dialFailures, 1, 'the dial failed')
  t.notOk(d.selfAddresses.has('10.0.0.1:7000'), 'the peer\'s words did not make it this node\'s address')
  t.end()
})
