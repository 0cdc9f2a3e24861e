/**
 * Lossy links, one exchange at a time: what a responder sent and the peer has
 * not acknowledged is not sent again; what the peer acknowledged without its
 * clock showing it was lost, and goes again in the next response.
 * (Verification, which would also resend everything in the end, is kept out
 * of the way: `verifyInterval` is large and the replicas' time stands still.)
 */
import test from 'tape'
import { Session } from '../../lib/core/session.ts'
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import { CapturePort, link, replica, sessionOpts } from '../support/core.ts'

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
  /** Versions of the updates a sent since `mark` (an index into `delivered`), in order. */
  const resentSince = (mark: number) => versionsOf(delivered.slice(mark).filter((d) => d.from === 'a').map((d) => d.msg))
  /** Deliver what a has queued to b only (b's answers stay queued); `lose` says which messages the link loses. */
  const aToB = (lose: (m: Msg) => boolean = () => false) => {
    while (A.port.out.length > 0) {
      const m = A.port.out.shift()!
      if (lose(m)) continue
      delivered.push({ from: 'a', msg: m })
      B.s.receive(m)
    }
  }
  /** One whole exchange each way, nothing lost. */
  const sync = () => {
    B.s.start()
    run()
    A.s.start()
    run()
  }
  return { A, B, run, delivered, resentSince, aToB, sync }
}

const isUpdate = (m: Msg) => m.digest !== true
const versionsOf = (msgs: Msg[]) => msgs.filter(isUpdate).map((m) => m.version as number)

test('lossy link: a lost record is sent again by the next exchange, once the peer\'s ack shows it did not arrive', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 5; i++) a.writeLocal('k' + i, i)
  const { B, run, delivered, resentSince } = lossyLink(a, b)
  B.s.start()
  run((from, m) => from === 'a' && m.version === 3) // the link loses a's record at version 3
  t.deepEqual([...b.keys()].sort(), ['k1', 'k2', 'k4', 'k5'], 'first exchange: b got all but k3')
  t.equal(b.clock.get('a'), 2, 'b\'s clock for a stops below the gap (2)')
  const before = delivered.length
  B.s.start()
  run()
  const resent = resentSince(before)
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

test('lossy link: a lost tail goes again at the next exchange', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 8; i++) a.writeLocal('k' + i, i)
  const { B, run, delivered, resentSince } = lossyLink(a, b)
  B.s.start()
  run((from, m) => from === 'a' && (m.version as number) >= 6) // the tail of the response is lost
  t.equal(b.clock.get('a'), 5, 'b covers a up to 5')
  const before = delivered.length
  B.s.start()
  run()
  t.deepEqual(resentSince(before), [6, 7, 8], 'exactly 6, 7 and 8 were sent again, once each')
  t.equal(b.clock.get('a'), 8, 'b covers a up to 8')
  t.end()
})

test('lossy link: losses add up over many exchanges, and what each one lost still goes again at the next', (t) => {
  // An ack that counted objects received would lag behind the sender's count by every
  // object ever lost, so sends would stay "on their way" longer and longer.
  const a = replica('a')
  const b = replica('b')
  const { B, run } = lossyLink(a, b)
  let lost = 0
  for (let round = 1; round <= 8; round++) {
    const first = Math.max(0, a.clock.get('a')) + 1
    for (let i = 0; i < 4; i++) a.writeLocal(`r${round}k${i}`, i)
    B.s.start()
    // Lost: the first new record, and every other digest entry of a's.
    run((from, m) => {
      const drop = from === 'a' && (m.version === first || (m.digest === true && m.done !== true && lost++ % 2 === 0))
      return drop
    })
    t.equal(Math.max(0, b.clock.get('a')), first - 1, `exchange ${round}: b got everything up to the record this exchange lost (${first - 1})`)
  }
  B.s.start()
  run()
  t.equal(b.clock.get('a'), a.clock.get('a'), 'one clean exchange later, b covers a whole')
  t.equal(b.size, 32, 'and holds all 32 keys')
  t.end()
})

test('lossy link: every end of digest carries its seq (objects sent on the link, itself included) and acks the highest seq received', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 6; i++) a.writeLocal('k' + i, i)
  const { B, run, delivered } = lossyLink(a, b)
  const sent = { a: 0, b: 0 }
  const highest = { a: 0, b: 0 } // per receiver: the highest seq it got
  let checked = 0
  for (let n = 0; n < 4; n++) {
    B.s.start()
    run((from, m) => {
      sent[from]++
      if (m.done === true) {
        const to = from === 'a' ? 'b' : 'a'
        t.equal(m.seq, sent[from], `${from}'s end of digest carries seq ${sent[from]}`)
        t.equal(m.ack, highest[from], `and acks ${highest[from]}, the highest seq ${from} got`)
        checked++
        if (m.version === undefined && (m.seq as number) % 3 === 0) return true // some ends are lost
        highest[to] = Math.max(highest[to], m.seq as number)
      } else if (m.digest !== true && m.version === 2) return true
      return false
    })
  }
  t.ok(checked >= 6 && delivered.length > 0, `${checked} ends of digest checked`)
  t.end()
})

test('lossy link: a peer that sends no seq (an older version) gets acks that count objects, and a lost tail still goes again', (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 8; i++) a.writeLocal('k' + i, i)
  const { B, run, delivered, resentSince } = lossyLink(a, b)
  // a speaks as before seq existed; the tail of its first response is lost.
  const older = (lose: boolean) => (from: 'a' | 'b', m: Msg) => {
    if (from === 'a') delete m.seq
    return from === 'a' && lose && (m.version as number) >= 6
  }
  B.s.start()
  run(older(true))
  t.equal(b.clock.get('a'), 5, 'b covers a up to 5')
  const view = (B.s as unknown as { view: { received: number; acks(): { ack: number } } }).view
  t.ok(view.received > 0 && view.acks().ack === view.received, `b acks the count of a's objects it received (${view.received})`)
  const before = delivered.length
  // Counted acks lag by what was lost: the tail may wait one exchange more, as before seq.
  for (let n = 0; n < 2 && b.clock.get('a') < 8; n++) {
    B.s.start()
    run(older(false))
  }
  t.deepEqual(resentSince(before), [6, 7, 8], 'a sent 6, 7 and 8 again, once each')
  t.equal(b.clock.get('a'), 8, 'b covers a up to 8')
  t.end()
})

test('lossy link: a push lost while writes keep coming goes again once the peer acks a later seq', (t) => {
  // One entry per source, holding the latest send's count, would let every later send
  // push the lost one's acknowledgement away: it would stay "on its way" for good.
  const a = replica('a')
  const b = replica('b')
  const { A, run, aToB, sync } = lossyLink(a, b)
  a.writeLocal('k1', 1)
  a.writeLocal('k2', 2)
  for (let i = 0; i < 3; i++) sync()
  t.equal(b.clock.get('a'), 2, 'b covers a up to 2')
  a.writeLocal('k3', 3)
  aToB((m) => m.version === 3) // the push of 3 is lost
  t.equal(b.clock.get('a'), 2, 'b did not get 3')
  for (let w = 4; w <= 13; w++) {
    A.s.start()
    aToB() // a's digest reaches b; b's answer is on its way back
    a.writeLocal('k' + w, w) // a write meanwhile, pushed at once
    run()
  }
  t.equal(b.clock.get('a'), 13, 'ten exchanges later, b covers a up to 13')
  t.equal(b.get('k3').value, 3, 'b holds 3')
  t.end()
})

for (const lossy of [true, false]) {
  test(`${lossy ? 'lossy' : 'sound'} link: one end of digest acking far more than was sent does not make a streamed answer restart for ever`, async (t) => {
    const { node } = await import('../support/streams.ts')
    const a = node('A', { lossy, mtu: 50 })
    for (let i = 0; i < 300; i++) a.set('k' + i, i)
    const s = a.createStream({ peer: { id: 'H' } })
    let records = 0
    s.on('data', (o: Msg) => {
      if (o.digest !== true && ++records > 3000) s.destroy() // bounds the run on a defect
    })
    s.write({ digest: true, done: true, ack: 2 ** 53 - 1, seq: 1 }) // a request that claims nothing
    let idle = 0
    for (let turns = 0, last = -1; turns < 500 && idle < 10; turns++) {
      await new Promise((r) => setImmediate(r))
      idle = records === last ? idle + 1 : 0
      last = records
    }
    t.equal(records, 300, 'the answer carried each of the 300 records once, then stopped')
    a.destroy()
    t.end()
  })
}

test('lossy link: more pushes in flight than are tracked one by one (32): a loss among those tracked together still goes again', (t) => {
  const a = replica('a')
  const b = replica('b')
  const { B, run, delivered, aToB, sync } = lossyLink(a, b)
  a.writeLocal('k0', 0)
  sync()
  const base = a.clock.get('a')
  t.equal(b.clock.get('a'), base, 'b covers a')
  const before = delivered.length
  for (let i = 1; i <= 40; i++) a.writeLocal('k' + i, i)
  // The pushes go out; the link loses the 36th (past the 32 tracked one by one).
  aToB((m) => m.value === 36)
  t.equal(b.clock.get('a'), base + 35, "b's clock stops below the lost push")
  // Responses carry at most mtu (10) records, and b's clock passes the ones it holds above the gap only as they come again.
  let n = 0
  for (; n < 8 && b.clock.get('a') < a.clock.get('a'); n++) {
    B.s.start()
    run()
  }
  t.equal(b.clock.get('a'), a.clock.get('a'), `b covers all 40 (${n} exchanges)`)
  const again = delivered.slice(before).filter((d) => d.from === 'a' && d.msg.value === 36)
  t.equal(again.length, 1, 'the lost push went again, once')
  t.end()
})

test("lossy link: a peer's bogus seq (huge, then lower) only comes back to it as our ack; our own count and the exchange go on", (t) => {
  const a = replica('a')
  const b = replica('b')
  for (let i = 1; i <= 5; i++) a.writeLocal('k' + i, i)
  const { A, sync } = lossyLink(a, b)
  const endsOfA = () => A.port.out.filter((m) => m.done === true)
  A.s.receive({ digest: true, done: true, seq: 2 ** 53 - 1 }) // a request claiming nothing, with a huge seq
  A.s.receive({ digest: true, done: true, seq: 3 }) // then a lower one
  A.s.start()
  const ends = endsOfA()
  t.ok(ends.length > 0 && ends.every((m) => m.ack === 2 ** 53 - 1), 'a acks the highest seq it got, whatever it is')
  t.ok(ends.every((m) => (m.seq as number) <= A.port.out.length), 'and numbers its own messages by its own count')
  A.port.out.length = 0
  sync()
  sync()
  t.equal(b.clock.get('a'), a.clock.get('a'), 'a and b still exchange: b covers a')
  t.end()
})

test('lossy link: the forgotten tombstones a peer behind our floors is sent go again 60 s after a pass, the wait doubling up to 64 min (on the injected clock)', (t) => {
  let time = 1_000_000
  const opts = { resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => time }
  const a = new Replica({ id: 'a', ...opts })
  const b = new Replica({ id: 'b', ...opts })
  // x wrote k and deleted it; a applied both and forgot the tombstone; b got only the write.
  for (const r of [a, b]) {
    const x = r.clock.intern('x', undefined)
    r.applyRemote({ key: 'k', value: 1, source_id: 'x', version: 50 }, x)
    r.clock.advance(x, 50)
  }
  const ax = a.clock.find('x', undefined)!
  a.applyRemote({ key: 'k', value: null, source_id: 'x', version: 60, deleted: true }, ax)
  a.clock.advance(ax, 60)
  time += 10_000
  t.equal(a.collect(time, 5_000), 1, 'a forgot x\'s tombstone of k: b is behind a\'s gc floor of x')
  const { B, run } = lossyLink(a, b)
  const isTomb = (from: string, m: Msg) => from === 'a' && m.key === 'k' && m.deleted === true
  /**
   * One exchange b starts; how many times a sent the tombstone (the link
   * loses them all, and b's full sends of its old k, which a would answer
   * with the tombstone too).
   */
  const exchange = () => {
    let sent = 0
    B.s.start()
    run((from, m) => (isTomb(from, m) ? (sent++, true) : from === 'b' && m.key === 'k'))
    return sent
  }
  t.equal(exchange(), 1, 'the first exchange sends it (lost)')
  t.equal(exchange(), 0, 'the next exchange at once does not repeat it')
  const gaps: number[] = []
  let since = 0
  for (let step = 0; step < 1000 && gaps.length < 9; step++) {
    time += 30_000
    since += 30_000
    if (exchange() > 0) {
      gaps.push(since / 1000)
      since = 0
    }
  }
  t.deepEqual(gaps, [60, 120, 240, 480, 960, 1920, 3840, 3840, 3840], 'sent again after 60 s, then 2, 4 ... 64 min, and every 64 min from then on')
  B.s.start()
  run()
  time += 3_840_000
  B.s.start()
  run()
  t.equal(b.record('k')?.deleted, true, 'once the link delivers it, b has the delete')
  t.end()
})

test('a sound link sends the forgotten tombstones once per connection, however long it lasts', (t) => {
  let time = 1_000_000
  const opts = { resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => time }
  const a = new Replica({ id: 'a', ...opts })
  const b = new Replica({ id: 'b', ...opts })
  for (const r of [a, b]) r.clock.advance(r.clock.intern('x', undefined), 50)
  const ax = a.clock.find('x', undefined)!
  a.applyRemote({ key: 'k', value: null, source_id: 'x', version: 60, deleted: true }, ax)
  a.clock.advance(ax, 60)
  time += 10_000
  t.equal(a.collect(time, 5_000), 1, 'a forgot x\'s tombstone of k')
  const { B, log, run } = link(b, a, 10, 'depth', 3_600_000)
  let sent = 0
  for (let round = 0; round < 10; round++) {
    const mark = log.length
    B.s.start()
    run()
    sent += log.slice(mark).filter((d) => d.from === 'b' && d.msg.key === 'k').length
    time += 600_000
  }
  t.equal(sent, 1, 'one pass, in the first exchange')
  t.equal(b.record('k')?.deleted, true, 'b has the delete')
  t.end()
})
