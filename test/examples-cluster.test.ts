/** The demo's figures (examples/cluster/report.ts): totals keep a killed node's counters; lag compares one poll's counts. */
import test from 'tape'
import type { NodeStats } from '../examples/cluster/node-process.ts'
import { progressLine, summarize } from '../examples/cluster/report.ts'

function stats(id: string, keys: number, bytesOut: number, applied: number): NodeStats {
  return { id, keys, records: keys, version: 0, peers: 2, bytesIn: 0, bytesOut, applied, rejected: 0, redundant: 0, hash: `h-${keys}` }
}

const wireOf = (line: string) => /\| wire ([^|]+) \|/.exec(line)?.[1]
const lagOf = (line: string) => Number(/lag (-?\d+) keys/.exec(line)?.[1])

test('progressLine: wire adds the bytes of ended node lives; a down node shows as down', (t) => {
  const before = progressLine(1000, 'writing', 300, 500, [stats('a', 200, 300, 0), stats('b', 200, 300, 0), stats('c', 200, 200, 0)], 200, 0)
  t.equal(wireOf(before), '800 B', 'three live nodes: the sum of their bytes')
  // c was killed after sending 250 bytes (its counters taken before the kill), and is down.
  const down = progressLine(2000, 'writing', 400, 500, [stats('a', 250, 350, 0), stats('b', 250, 350, 0), null], 250, 250)
  t.equal(wireOf(down), '950 B', 'while c is down its 250 bytes still count')
  t.match(down, /keys 250\/500 250\/500 down \|/, 'c shows as down')
  // c restarted: its new life has sent 10 bytes so far.
  const after = progressLine(3000, 'writing', 500, 500, [stats('a', 300, 360, 0), stats('b', 300, 360, 0), stats('c', 280, 10, 0)], 300, 250)
  t.equal(wireOf(after), '980 B', 'after the restart: ended bytes + every live node\'s, no drop')
  t.end()
})

test('progressLine: lag is the keys written up to the poll minus the slowest live node\'s keys', (t) => {
  const line = progressLine(1000, 'writing', 120, 500, [stats('a', 100, 0, 0), stats('b', 93, 0, 0), null], 100, 0)
  t.equal(lagOf(line), 7, 'the slowest live node misses 7 of the 100 keys written')
  t.match(line, /writes 120 \|/, 'writes issued, as of the same poll')
  t.equal(lagOf(progressLine(1000, 'settled', 120, 500, [stats('a', 100, 0, 0), stats('b', 100, 0, 0)], 100, 0)), 0, 'no lag once both hold every key')
  t.end()
})

test('summarize: wire bytes and remote updates include the killed node\'s first life', (t) => {
  // 100 writes, all applied where sent; the killed life of c applied 40 updates (10 of them its own writes) and sent 300 bytes.
  const final = [stats('a', 90, 1000, 100), stats('b', 90, 1000, 100), stats('c', 90, 200, 30)]
  const s = summarize(final, { bytesOut: 300, applied: 40 }, 100, 100, 1000, 50, true)
  t.equal(s.wireBytes, 2500, 'wire: the three live nodes plus the ended life')
  t.equal(s.remoteApplied, 170, 'remote updates: 270 applied in all, minus the 100 applied where written')
  t.equal(s.bytesPerUpdate, Math.round((2500 / 170) * 10) / 10, 'bytes per remote update from those two')
  const none = summarize(final, { bytesOut: 0, applied: 0 }, 100, 100, 1000, 50, true)
  t.equal(none.wireBytes, 2200, 'with no ended life: the live nodes only')
  t.end()
})

test('summarize: a restart after the last write counts in the span, convergence from the restart', (t) => {
  const final = [stats('a', 90, 1000, 100), stats('b', 90, 1000, 100)]
  const s = summarize(final, { bytesOut: 0, applied: 0 }, 100, 100, 1000, 500, true, 1500)
  t.equal(s.convergeMs, 500, 'converged 500 ms after the restart')
  t.equal(s.appliedPerSec, Math.round((200 / 3) * 10) / 10, '200 updates applied over 1 s of writes + 1.5 s until the restart + 0.5 s')
  t.end()
})
