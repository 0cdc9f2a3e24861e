/** The clock the core measures waits on (lib/core/wait-clock.ts): the wall clock, absorbing its steps back. */
import test from 'tape'
import { WaitClock } from '../../lib/core/wait-clock.ts'

test('WaitClock: follows the wall clock; a step back is no time passing, and the clock goes on from where it stood', (t) => {
  let wall = 1_000_000
  const c = new WaitClock(() => wall)
  t.equal(c.now(), 1_000_000, 'the wall clock, as long as it does not go back')
  wall += 500
  t.equal(c.now(), 1_000_500, 'advances with it')
  wall -= 3_600_000
  t.equal(c.now(), 1_000_500, 'a step back of an hour: no time passed')
  wall += 200
  t.equal(c.now(), 1_000_700, 'then 200 ms later: 200 ms later, not an hour before')
  wall -= 50
  t.equal(c.now(), 1_000_700, 'a small step back: absorbed too')
  wall += 60_000
  t.equal(c.now(), 1_060_700, 'a step forward moves it forward')
  t.end()
})

test('WaitClock: a reading that is not a number is passed through and changes nothing', (t) => {
  let wall = 5000
  const c = new WaitClock(() => wall)
  t.equal(c.now(), 5000)
  wall = Number.NaN
  t.ok(Number.isNaN(c.now()), 'NaN in, NaN out')
  wall = 4000
  t.equal(c.now(), 5000, 'the step back from before the NaN is still absorbed')
  wall = 4100
  t.equal(c.now(), 5100, 'and time goes on from there')
  t.end()
})
