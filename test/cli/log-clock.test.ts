/**
 * The CLI's rate-limited event lines (links, refusals, members) count time
 * on the network's monotonic clock, not the wall clock: after the wall
 * clock steps back an hour, a line of a kind already printed is printed
 * again once the interval has passed, not an hour later.
 */
import test from 'tape'
import { reportEvents } from '../../lib/cli/events.ts'
import { joinCluster } from '../../lib/cli/members.ts'
import { Network } from '../../lib/net.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { node } from '../support/streams.ts'

const HOUR = 3_600_000
const realNow = Date.now

/** A network on fake timers whose events are collected as text lines; the wall clock follows the fake one, stepped by `wall.step`. */
function setup() {
  const timers = new FakeTimers()
  const wall = { step: 0 }
  const start = realNow()
  Date.now = () => start + timers.now() + wall.step
  const network = new Network(node('cli'), { timers })
  const lines: string[] = []
  const out = (_name: string, _fields: Record<string, unknown>, text: string) => void lines.push(text)
  return { timers, wall, network, lines, out }
}

test('refusal and link lines after the wall clock steps back an hour', (t) => {
  const { timers, wall, network, lines, out } = setup()
  try {
    reportEvents(network, out)
    const refuse = () => network.emit('refused', '10.0.0.1:7000', 'cluster mismatch')
    refuse()
    refuse()
    t.equal(lines.length, 1, 'a refusal, then its repeat held back')
    wall.step = -HOUR
    timers.advance(11_000)
    refuse()
    t.equal(lines.length, 2, '11 s later, the wall clock an hour back: the refusal is printed again')
    t.match(lines[1], /and 1 more like it/, 'with the count of those held back')

    const peer = { id: 'p', address: '10.0.0.2:7000', direction: 'in' as const, bytesIn: 0, bytesOut: 0 }
    const connect = () => network.emit('connect', peer as never)
    lines.length = 0
    for (let i = 0; i < 25; i++) connect()
    t.equal(lines.length, 21, 'connect lines: the burst of 20 in full, then one counted')
    wall.step = -2 * HOUR
    timers.advance(11_000)
    connect()
    t.equal(lines.length, 22, '11 s later, the wall clock stepped back again: a connect line is printed')
  } finally {
    Date.now = realNow
  }
  network.close()
  t.end()
})

test('member lines after the wall clock steps back an hour', (t) => {
  const { timers, wall, network, lines, out } = setup()
  try {
    joinCluster(network, { seeds: [], advertise: undefined, view: 6, phi: 8 }, { host: '127.0.0.1', port: 7000 }, undefined, out)
    const member = { id: 'm', address: '10.0.0.3:7000', generation: 1, state: 'alive' }
    const join = () => network.emit('join', member as never, 'gossip')
    for (let i = 0; i < 105; i++) join()
    t.equal(lines.length, 101, 'the burst of 100 in full, then one counted')
    wall.step = -HOUR
    timers.advance(11_000)
    const before = lines.length
    join()
    t.equal(lines.length, before + 1, '11 s later, the wall clock an hour back: a member line is printed')
  } finally {
    Date.now = realNow
  }
  network.close()
  t.end()
})

test('refusals whose reason quotes a peer\'s value of any shape (a cluster given as JSON) print one line per kind, however many shapes', (t) => {
  const { timers, network, lines, out } = setup()
  try {
    reportEvents(network, out)
    for (let i = 0; i < 3000; i++) {
      // What helloProblem writes for a cluster that is not a string: its JSON, a new shape each time.
      const shape = JSON.stringify(Array.from({ length: 1 + (i % 40) }, (_, j) => ((i >> j) & 1 ? {} : [])))
      network.emit('refused', '127.0.0.1:' + (40000 + (i % 1000)), `cluster mismatch: peer is in ${shape}, this node in "simple-scuttle"`)
      timers.advance(3)
    }
    t.ok(lines.length <= 2, `3,000 refusals over 9 s: ${lines.length} line(s)`)
  } finally {
    Date.now = realNow
  }
  network.close()
  t.end()
})
