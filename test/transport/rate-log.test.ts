/** Log lines that cannot grow with a peer's rate: RateLog (one per key per interval, with a count) and BurstLog (a burst in full, then RateLog). */
import test from 'tape'
import { BurstLog, RateLog, withRepeats } from '../../lib/transport/rate-log.ts'

test('RateLog: one line per key per interval; the next carries the count of those held back', (t) => {
  let now = 0
  const out: string[] = []
  const log = new RateLog<undefined>((line, n) => out.push(withRepeats(line, n)), () => now, 1000)
  for (let i = 0; i < 50; i++) log.line('k', 'line ' + i)
  log.line('other', 'another key')
  now = 1000
  log.line('k', 'later')
  t.deepEqual(out, ['line 0', 'another key', 'later (and 49 more like it since the last report)'], 'three lines for 52')
  t.end()
})

test('BurstLog: the first lines of each interval in full, then one per key with a count, afresh each interval', (t) => {
  let now = 0
  const full: string[] = []
  const counted: string[] = []
  const log = new BurstLog<number>((line) => full.push(line), (line, n) => counted.push(withRepeats(line, n)), () => now, 3, 1000)
  for (let i = 0; i < 1000; i++) log.line(i % 2 ? 'odd' : 'even', 'event ' + i, i)
  t.deepEqual(full, ['event 0', 'event 1', 'event 2'], 'the burst of 3 in full')
  t.deepEqual(counted, ['event 3', 'event 4'], 'past it, one line per key')
  now = 1000
  for (let i = 0; i < 5; i++) log.line('even', 'again ' + i, i)
  t.deepEqual(full.slice(3), ['again 0', 'again 1', 'again 2'], 'a new interval: a new burst in full')
  t.deepEqual(counted.slice(2), ['again 3 (and 497 more like it since the last report)'], 'then the key\'s count held back since its last line')
  t.end()
})

test('RateLog: a flood of distinct keys, cycling so each comes back later, prints at most maxKeys + 1 lines per interval', (t) => {
  let now = 0
  const out: string[] = []
  const log = new RateLog<undefined>((line, n) => out.push(withRepeats(line, n)), () => now, 1000, 16)
  // 64 kinds in rotation, a line every ms for 10 intervals: evicting the oldest key at once would print every line.
  for (let i = 0; i < 10_000; i++, now++) log.line('kind ' + (i % 64), 'line ' + i)
  const perInterval = new Map<number, number>()
  for (const line of out) {
    const i = Number(/line (\d+)/.exec(line)![1])
    perInterval.set(Math.floor(i / 1000), (perInterval.get(Math.floor(i / 1000)) ?? 0) + 1)
  }
  t.ok(out.length < 10_000 / 10, `${out.length} lines printed for 10,000`)
  t.ok([...perInterval.values()].every((n) => n <= 2 * 17), `at most (maxKeys + 1) per interval, give or take its edges: ${[...perInterval.values()].join(', ')}`)
  t.end()
})

test('RateLog: keys the flood pushed out come back once their line is an interval old', (t) => {
  let now = 0
  const out: string[] = []
  const log = new RateLog<undefined>((line) => out.push(line), () => now, 1000, 2)
  log.line('a', 'a0')
  log.line('b', 'b0')
  log.line('c', 'c0') // full, every kept line recent: c shares the overflow key
  log.line('d', 'd0') // the overflow key is taken for this interval
  t.deepEqual(out, ['a0', 'b0', 'c0'], 'a, b, then one overflow line')
  now = 1000
  log.line('e', 'e1')
  t.deepEqual(out.slice(3), ['e1'], 'an interval on, a new key takes the place of the oldest')
  t.end()
})
