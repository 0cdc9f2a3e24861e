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

test('RateLog: a flood of distinct keys, cycling so each comes back later, prints at most maxKeys + 1 lines in any interval, however long it lasts', (t) => {
  for (const kinds of [64, 5000]) {
    let now = 0
    const at: number[] = []
    const log = new RateLog<undefined>(() => at.push(now), () => now, 1000, 16)
    // A line every ms for 60 intervals: evicting the oldest key at once would print every line.
    for (let i = 0; i < 60_000; i++, now++) log.line('kind ' + (i % kinds), 'line ' + i)
    let worst = 0
    for (let i = 0, j = 0; i < at.length; i++) {
      while (at[i]! - at[j]! >= 1000) j++
      worst = Math.max(worst, i - j + 1)
    }
    t.ok(worst <= 17, `${kinds} kinds in rotation: at most ${worst} lines in any 1,000 ms window (maxKeys + 1 = 17), ${at.length} lines for 60,000`)
    t.ok(at.length <= 17 * 61, 'and no more over the whole run')
  }
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
