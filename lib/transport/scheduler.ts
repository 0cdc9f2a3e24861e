/** Gossip rounds: every interval, exchanges with `fanout` peers picked at random. */
import { shuffle } from '../core/random.ts'
import type { RandomFn } from '../core/types.ts'
import type { Timers } from './timers.ts'
import { MAX_TIMER_MS, shown } from '../config.ts'

export interface SchedulerOptions {
  /** Time between rounds, ms. Default 1000. */
  interval?: number
  /** Peers contacted per round. Default 2. */
  fanout?: number
  random: RandomFn
  timers: Timers
}

/** Something the scheduler can start an exchange with. */
export interface Exchangeable {
  gossip(): void
}

/**
 * Gossip rounds: every `interval`, start an exchange with `fanout` peers
 * chosen at random among those connected. The first round runs one interval
 * after `start`.
 */
export class Scheduler {
  readonly interval: number
  readonly fanout: number
  rounds = 0
  private handle: unknown = null
  private running = false

  constructor(
    private readonly peers: () => Exchangeable[],
    private readonly opts: SchedulerOptions,
  ) {
    this.interval = opts.interval ?? 1000
    this.fanout = opts.fanout ?? 2
    if (typeof this.interval !== 'number' || !(this.interval > 0)) throw new RangeError(`interval must be a positive number of ms, got ${shown(opts.interval)}`)
    if (!(this.interval <= MAX_TIMER_MS)) throw new RangeError(`interval must be a positive number of ms up to ${MAX_TIMER_MS} (the longest timer), got ${shown(opts.interval)}`)
    if (!Number.isInteger(this.fanout) || this.fanout < 1) throw new RangeError(`fanout must be a positive integer, got ${shown(opts.fanout)}`)
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.arm()
  }

  stop(): void {
    this.running = false
    if (this.handle !== null) this.opts.timers.clearTimeout(this.handle)
    this.handle = null
  }

  /** Run one round now. */
  tick(): void {
    this.rounds++
    const all = this.peers()
    const chosen = all.length <= this.fanout ? all : shuffle(all.slice(), this.opts.random).slice(0, this.fanout)
    for (const p of chosen) p.gossip()
  }

  private arm(): void {
    this.handle = this.opts.timers.setTimeout(() => {
      this.handle = null
      if (!this.running) return
      this.tick()
      this.arm()
    }, this.interval)
  }
}
