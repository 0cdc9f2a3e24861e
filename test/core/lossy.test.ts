/**
 * Lossy links, one exchange at a time: what a responder sent and the peer has
 * not acknowledged is not sent again; what the peer acknowledged without its
 * clock showing it was lost, and goes again in the next response.
 * (Verification, which would also resend everything in the end, is kept out
 * of the way: `verifyInterval` is large and the replicas' time stands still.)
 */
import test from 'tape'
import { Session } from '../../lib/core/session.ts'
import type { Replica } from '../../lib/core/replica.ts'
import { CapturePort, replica, sessionOpts } from '../support/core.ts'

type Msg = Record<string, unknown>

function lossyLink(a: Replica, b: Replica) {
  const opts = { ...sessionOpts(10, 'depth', 1, 3_600_000), lossy: true }
  const side = (r: Replica, peer: string) => {
    const port = new CapturePort()
    return { s: new Session(r, port, { ...opts, peer: { id: peer } }), port }
  }
  const A = side(a, b.id)
  const B = side(b, a.id)
  const delivered: { from: 'a' | 'b'; msg: Msg }[] = []
  /** Deliver everything queued both ways until quiet; `drop` says which messages the link loses. */
  const run = (drop: (from: 'a' | 'b', m: Msg) => boolean = () => false) => {
    for (let guard = 0; guard < 10_000; guard++) {
      const side = A.port.out.length ? 'a' : B.port.out.length ? 'b' : null
      if (side === null) {
        if (A.s.owes || B.s.owes) {
          A.s.payDebts(true)
          B.s.payDebts(true)
          continue
        }
        return
      }
      const m = (side === 'a' ? A.port : B.port).out.shift()!
      if (drop(side, m)) continue
      delivered.push({ from: side, msg: m })
      ;(side === 'a' ? B.s : A.s).receive(m)
    }
    throw new Error('link did not go quiet')
  }
  return { A, B, run, delivered }
}

const isUpdate = (m: Msg) => m.digest !== true
const versionsOf = (msgs: Msg[]) => msgs.filter(isUpdate).map((m) => m.version as number)

test('lossy link: a lost record is sent again by the next exchange, once the peer\'s ack shows it did not arrive', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 5; i++) a.writeLocal('k' + i, i)
  const { B, run, delivered } = lossyLink(a, b)
  B.s.start()
  run((from, m) => from === 'a' && m.version === 3) // the link loses a's record at version 3
  t.deepEqual([...b.keys()].sort(), ['k1', 'k2', 'k4', 'k5'], 'first exchange: b got all but k3')
  t.equal(b.clock.get('a'), 2, 'b\'s clock for a stops below the gap (2)')
  const before = delivered.length
  B.s.start()
  run()
  const resent = versionsOf(delivered.slice(before).filter((d) => d.from === 'a').map((d) => d.msg))
  t.deepEqual(resent, [3, 4, 5], 'second exchange: a sends again from b\'s clock (3, 4, 5)')
  t.equal(b.get('k3').value, 3, 'b has k3')
  t.equal(b.clock.get('a'), 5, 'and covers a up to 5')
  t.end()
})

test('lossy link: records sent and not yet acknowledged are not sent twice', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 5; i++) a.writeLocal('k' + i, i)
  const { A, B, run } = lossyLink(a, b)
  B.s.start()
  const first = B.port.take()
  for (const m of first) A.s.receive(m) // a answers; its answer is still on the way
  t.deepEqual(versionsOf(A.port.out), [1, 2, 3, 4, 5], 'a answered with all five')
  B.s.start() // b asks again before a's answer arrives: same clock, nothing acknowledged
  const second = B.port.take()
  t.equal(second[second.length - 1].ack, 0, 'b\'s second digest acknowledges nothing of a\'s yet')
  const queued = A.port.out.length
  for (const m of second) A.s.receive(m)
  t.deepEqual(versionsOf(A.port.out.slice(queued)), [], 'a\'s second answer sends none of the five again: they are in flight')
  run()
  t.deepEqual([...b.keys()].sort(), ['k1', 'k2', 'k3', 'k4', 'k5'], 'b got all five, once')
  t.equal(b.clock.get('a'), 5, 'b covers a up to 5')
  t.equal(b.stats.redundant, 0, 'no record arrived twice')
  t.end()
})

test('lossy link: a lost tail goes again within two more exchanges (acks count objects, so they lag by what was lost)', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 8; i++) a.writeLocal('k' + i, i)
  const { B, run, delivered } = lossyLink(a, b)
  B.s.start()
  run((from, m) => from === 'a' && (m.version as number) >= 6) // the tail of the response is lost
  t.equal(b.clock.get('a'), 5, 'b covers a up to 5')
  const before = delivered.length
  for (let n = 0; n < 2 && b.clock.get('a') < 8; n++) {
    B.s.start()
    run()
  }
  t.deepEqual(versionsOf(delivered.slice(before).filter((d) => d.from === 'a').map((d) => d.msg)), [6, 7, 8], 'exactly 6, 7 and 8 were sent again, once each')
  t.equal(b.clock.get('a'), 8, 'b covers a up to 8')
  t.end()
})
