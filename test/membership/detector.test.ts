/** Phi accrual arithmetic (lib/membership/detector.ts): the smoothed mean, phi, the window, the settings. */
import test from 'tape'
import { ArrivalWindow, defaultPrior, detectorOptions } from '../../lib/membership/detector.ts'

const opts = detectorOptions(300)

test('detectorOptions: the documented defaults, a frozen copy, the prior from the round interval', (t) => {
  t.deepEqual({ ...opts }, { threshold: 8, suspect: 5, window: 1000, prior: 300, priorWeight: 5, maxInterval: 10_000 }, 'threshold 8, suspect 5, window 1,000, prior = interval, weight 5, maxInterval 10 s')
  t.ok(Object.isFrozen(opts), 'frozen')
  t.equal(detectorOptions(300, { threshold: 4 }).suspect, 2.5, 'suspect defaults to 5/8 of a lower threshold')
  t.equal(detectorOptions(300, { prior: 1000 }).prior, 1000, 'a given prior wins over the interval')
  t.throws(() => detectorOptions(300, { threshold: 0 }), /threshold must be a positive number/, 'threshold 0 refused')
  t.throws(() => detectorOptions(300, { window: 2.5 }), /window must be an integer/, 'a fractional window refused')
  t.throws(() => detectorOptions(300, { suspect: 9 }), /suspect must not exceed threshold/, 'suspect above threshold refused')
  t.throws(() => detectorOptions(Number.NaN), /prior must be a positive number/, 'no usable prior refused')
  t.equal(defaultPrior(300), 1000, 'the default prior at a 300 ms interval: 1 s (at least a second)')
  t.equal(defaultPrior(1000), 3000, 'at 1 s: three intervals')
  t.end()
})

test('ArrivalWindow: phi is the silence over the mean interval, the mean smoothed towards the prior', (t) => {
  const w = new ArrivalWindow()
  t.equal(w.phi(5000, opts), 0, 'no arrival yet: phi 0')
  w.arrival(1000, opts)
  t.equal(w.samples, 0, 'the first arrival is no interval')
  t.equal(w.mean(opts), 300, 'no samples: the mean is the prior')
  t.equal(w.phi(1600, opts), 2, '600 ms of silence over a 300 ms mean: phi 2')
  for (let at = 1100; at <= 2000; at += 100) w.arrival(at, opts)
  t.equal(w.samples, 10, 'ten intervals of 100 ms')
  t.equal(w.mean(opts), (10 * 100 + 5 * 300) / 15, 'mean = (sum + weight x prior) / (samples + weight)')
  t.equal(w.phi(3000, opts), 1000 / ((10 * 100 + 5 * 300) / 15), 'phi = silence / mean')
  t.ok(Math.abs(w.phi(2000 + 8 * w.mean(opts), opts) - 8) < 1e-9, 'phi reaches the threshold 8 after eight mean intervals of silence')
  t.end()
})

test('ArrivalWindow: long gaps are not sampled, time never runs back, the window fades, reset keeps the last arrival', (t) => {
  const w = new ArrivalWindow()
  w.arrival(0, opts)
  w.arrival(20_000, opts)
  t.equal(w.samples, 0, 'a 20 s gap (over maxInterval) is not an interval sample')
  t.equal(w.last, 20_000, 'but it is the last arrival')
  w.arrival(19_000, opts)
  t.equal(w.samples, 0, 'an arrival stamped before the last one adds no sample')
  t.equal(w.last, 20_000, 'and does not move the last arrival back')

  const small = detectorOptions(300, { window: 4, priorWeight: 1 })
  const f = new ArrivalWindow()
  for (let at = 0; at <= 400; at += 100) f.arrival(at, small)
  t.equal(f.samples, 4, 'the window holds four samples')
  t.equal(f.mean(small), (400 + 300) / 5, 'four samples of 100 plus one prior of 300')
  f.arrival(900, small)
  t.equal(f.samples, 4, 'still four: the window is full')
  t.equal(f.mean(small), (400 - 100 + 500 + 300) / 5, 'the new 500 ms interval replaces the mean share of one')
  f.reset()
  t.equal(f.samples, 0, 'reset forgets the samples')
  t.equal(f.mean(small), 300, 'back to the prior')
  t.equal(f.last, 900, 'the last arrival is kept')
  t.end()
})

test('ArrivalWindow: start() begins the clock without a sample', (t) => {
  const w = new ArrivalWindow()
  w.start(500)
  t.equal(w.samples, 0, 'no sample')
  t.equal(w.phi(500 + 2400, opts), 8, 'phi counts from the start, over the prior')
  t.end()
})
