import { FLOW_DEFAULTS, FlowControl, type FlowOptions, type Rates } from './flow.ts'
import { FlowLink, clampRate, type FlowHost } from './flow-link.ts'
import type { ClockFn, JsonValue } from './types.ts'
import { MAX_RATE } from '../protocol/messages.ts'

/**
 * Flow control of one node (the paper's section 4, over real sessions):
 * its rates, the AIMD of every response it sends, the pairwise
 * redistribution on each of its connections (flow-link.ts), and the gate
 * that holds its own writes to min(ρ, τ).
 *
 * The gate is a token bucket: tokens accrue at min(ρ, τ) per second of the
 * injected clock, up to `burst` (without limit while writes are queued); a
 * write takes one. A write with no token is queued (in order, at most
 * `maxQueued`) or refused, as configured; a write never overtakes one
 * queued before it. Over any span, writes applied ≤ burst + ∫ rate dt.
 *
 * Pure: time is the injected `now` (ms); nothing here schedules anything.
 * The owner calls `drain` when time may have passed (the stream layer does
 * at each write, each change of rate, and on a timer of its own).
 */

/** Flow control as configured (`config.flow`). */
export interface FlowConfig extends FlowOptions {
  /** ρ: updates per second this node would like to write. Required. */
  desired: number
  /** τ at start, updates per second. Default `desired` (the paper's runs start at 0.2). */
  initial?: number
  /** Offer our rates on a connection at most once per this many ms (take a peer's once per half of it); positive. Default 1000. */
  interval?: number
  /** Writes the gate lets through at once after a quiet spell. Default 1. */
  burst?: number
  /** A write beyond the allowed rate: 'queue' it (default) or 'refuse' it with a `FlowError`. */
  overflow?: 'queue' | 'refuse'
  /** Most writes queued; one more is refused with a `FlowError`. Default 1000. */
  maxQueued?: number
  /** Wake the queue with a timer when the next write is due. Default true (the timer sleeps in real time: set false with a `now` that is not the wall clock, and call `applyQueued`). */
  timer?: boolean
}

/** Every option `FlowConfig` names (the compiler keeps this list and the interface equal). */
const FLOW_OPTIONS: Record<keyof FlowConfig, true> = {
  desired: true, initial: true, interval: true, burst: true, overflow: true, maxQueued: true, timer: true, alpha: true, beta: true, phi1: true, phi2: true,
}

/** The option names of `config.flow`, for warnings about the others. */
export const FLOW_CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(FLOW_OPTIONS))

export interface FlowSettings extends Readonly<Required<FlowOptions>> {
  readonly desired: number
  readonly initial: number
  readonly interval: number
  readonly burst: number
  readonly overflow: 'queue' | 'refuse'
  readonly maxQueued: number
  readonly timer: boolean
}

/** A write refused by flow control: over the allowed rate, or the queue is full. */
export class FlowError extends Error {
  override name = 'FlowError'
  constructor(
    message: string,
    /** 'ERATE': over the allowed rate (overflow 'refuse'); 'EQUEUEFULL': `maxQueued` writes wait already. */
    readonly code: 'ERATE' | 'EQUEUEFULL',
    /** Ms until the gate lets a write through at the current rate (Infinity at rate 0). */
    readonly retryAfter: number,
  ) {
    super(message)
  }
}

const isRate = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_RATE

/** Validate `config.flow`, filling defaults; throws `RangeError`/`TypeError` naming the option. */
export function flowSettings(cfg: FlowConfig): FlowSettings {
  if (typeof cfg !== 'object' || cfg === null) throw new TypeError('config.flow must be an object such as { desired: 10 }, or absent')
  const num = (name: string, v: unknown, ok: (x: number) => boolean, what: string): number => {
    if (typeof v !== 'number' || !ok(v)) throw new RangeError(`config.flow.${name} must be ${what}, got ${String(v)}`)
    return v
  }
  const desired = num('desired', cfg.desired, isRate, `a rate in updates per second from 0 to ${MAX_RATE}`)
  const initial = num('initial', cfg.initial ?? desired, isRate, `a rate in updates per second from 0 to ${MAX_RATE}`)
  // 0 would lift every throttle of the trust rule (flow-link.ts): takes on every message, offers open side by side.
  const interval = num('interval', cfg.interval ?? 1000, (x) => Number.isFinite(x) && x > 0, 'a positive number of ms')
  const burst = num('burst', cfg.burst ?? 1, (x) => Number.isFinite(x) && x >= 1, 'a number of writes, at least 1')
  const maxQueued = num('maxQueued', cfg.maxQueued ?? 1000, (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer')
  const overflow = cfg.overflow ?? 'queue'
  if (overflow !== 'queue' && overflow !== 'refuse') throw new RangeError(`config.flow.overflow must be 'queue' or 'refuse', got ${String(overflow)}`)
  if (cfg.timer !== undefined && typeof cfg.timer !== 'boolean') throw new TypeError('config.flow.timer must be a boolean')
  // FlowControl checks alpha, beta, phi1, phi2.
  const probe = new FlowControl(desired, initial, cfg)
  return Object.freeze({ desired, initial, interval, burst, overflow, maxQueued, timer: cfg.timer !== false, alpha: probe.alpha, beta: probe.beta, phi1: probe.phi1, phi2: probe.phi2 })
}

/** A write held by the gate. */
export interface QueuedWrite {
  readonly key: string
  readonly value: JsonValue
  readonly deleted: boolean
}

export class NodeFlow implements FlowHost {
  readonly control: FlowControl
  readonly settings: FlowSettings
  /** Called after τ or ρ changed (not for a no-op). */
  onChange: (() => void) | null = null
  private tokens: number
  private refilledAt: number | null = null
  /** Writes held, in order, from `head` on (taken by index, so a long queue drains in linear time). */
  private queue: QueuedWrite[] = []
  private head = 0
  /** The link whose offer of our rates is open, and since when (ms). */
  private offer: FlowLink | null = null
  private offerAt = 0
  /** The link that offered last, until its reply or close; and whether a peer may have taken our rates since. */
  private lastOffer: FlowLink | null = null
  private tookSince = false

  constructor(settings: FlowSettings, private readonly clock: ClockFn) {
    this.settings = settings
    this.control = new FlowControl(settings.desired, settings.initial, settings)
    this.tokens = settings.burst
  }

  get interval(): number {
    return this.settings.interval
  }

  get beta(): number {
    return this.control.beta
  }

  now(): number {
    return this.clock()
  }

  rates(): Rates {
    return this.control.rates()
  }

  get desired(): number {
    return this.control.desired
  }

  set desired(v: number) {
    if (!isRate(v)) throw new RangeError(`desired rate must be from 0 to ${MAX_RATE} updates per second, got ${String(v)}`)
    this.refill()
    if (v === this.control.desired) return
    this.control.desired = v
    this.changed()
  }

  get allowed(): number {
    return this.control.allowed
  }

  /** min(ρ, τ): updates per second this node may write now. */
  get rate(): number {
    return this.control.rate
  }

  /** A new link for one connection. */
  link(): FlowLink {
    return new FlowLink(this)
  }

  claimOffer(link: FlowLink): boolean {
    if (this.offer !== link && this.offerOpen()) return false
    this.offer = link
    this.offerAt = this.clock()
    this.lastOffer = link
    this.tookSince = false
    return true
  }

  /**
   * Whether `link`'s offer still stands: open, or lapsed with nothing since
   * (no other offer, no take), so that its late reply redistributes
   * nothing twice and the pair still conserves its sum.
   */
  holdsOffer(link: FlowLink): boolean {
    if (this.offerOpen()) return this.offer === link
    return this.lastOffer === link && !this.tookSince
  }

  releaseOffer(link: FlowLink): void {
    if (this.offer === link) this.offer = null
    if (this.lastOffer === link) this.lastOffer = null
  }

  mayTake(): boolean {
    return !this.offerOpen()
  }

  took(): void {
    this.tookSince = true // a lapsed offer's late reply no longer counts
  }

  /** An offer of ours is open; it lapses after `interval` (its reply was lost, or its connection hangs). */
  private offerOpen(): boolean {
    if (this.offer === null) return false
    const now = this.clock()
    if (now - this.offerAt < this.settings.interval && now >= this.offerAt) return true
    this.offer = null
    return false
  }

  shift(delta: number): void {
    this.refill()
    const next = clampRate(this.control.allowed + delta)
    if (next === this.control.allowed) return
    this.control.allowed = next
    this.changed()
  }

  sent(wanted: number, mtu: number): void {
    this.refill()
    const before = this.control.allowed
    this.control.sent(wanted, mtu)
    this.control.allowed = clampRate(this.control.allowed)
    if (this.control.allowed !== before) this.changed()
  }

  // ---- the gate ----

  /** Writes waiting for the rate. */
  get queued(): number {
    return this.queue.length - this.head
  }

  /**
   * A local write: `apply` it now if the gate lets it through (nothing is
   * queued before it and a token is there), else queue it or throw a
   * `FlowError` as configured. Returns whether it was applied now. (Drain
   * the queue first: a write never overtakes a queued one.)
   */
  write(w: QueuedWrite, apply: (w: QueuedWrite) => void): boolean {
    if (this.queued === 0 && this.take()) {
      apply(w)
      return true
    }
    const s = this.settings
    const wait = this.wait()
    const rate = `${+this.rate.toPrecision(3)} updates/s (allowed ${+this.allowed.toPrecision(3)}, desired ${+this.desired.toPrecision(3)})`
    if (s.overflow === 'refuse') {
      throw new FlowError(`write of ${JSON.stringify(w.key)} refused: over the allowed rate, ${rate}; retry in ${Number.isFinite(wait) ? `${Math.ceil(wait)} ms` : 'a while (the rate is 0)'}`, 'ERATE', wait)
    }
    if (this.queued >= s.maxQueued) {
      throw new FlowError(`write of ${JSON.stringify(w.key)} refused: ${this.queued} writes already wait for the allowed rate, ${rate} (config.flow.maxQueued)`, 'EQUEUEFULL', wait)
    }
    this.queue.push(w)
    return false
  }

  /**
   * Apply queued writes, in order, as far as the gate allows now; returns
   * how many. A write whose `apply` throws is dropped (it took its token)
   * and the error goes to `failed`; the others go on.
   */
  drain(apply: (w: QueuedWrite) => void, failed?: (err: unknown, w: QueuedWrite) => void): number {
    let n = 0
    try {
      while (this.queued > 0 && this.take()) {
        const w = this.queue[this.head]!
        this.queue[this.head++] = undefined as unknown as QueuedWrite // applied writes are not held
        n++
        try {
          apply(w)
        } catch (err) {
          if (failed === undefined) throw err
          failed(err, w)
        }
      }
    } finally {
      this.compact()
    }
    if (this.queued === 0) this.tokens = Math.min(this.tokens, this.settings.burst)
    return n
  }

  /** Ms until the gate lets the next write through (0: now; Infinity: the rate is 0). */
  wait(): number {
    this.refill()
    if (this.tokens >= 1) return 0
    const rate = this.rate
    return rate > 0 ? ((1 - this.tokens) / rate) * 1000 : Infinity
  }

  /** Drop the taken slots once they are at least half the array (amortized linear). */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  private take(): boolean {
    this.refill()
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /**
   * Tokens accrue at the rate in force since the last refill (so call this
   * before any change of rate), up to `burst`, but without limit while
   * writes wait: a queue drains at the rate whenever it is looked at.
   */
  private refill(): void {
    const now = this.clock()
    if (!Number.isFinite(now)) return
    const last = this.refilledAt
    this.refilledAt = now
    if (last === null || !(now > last)) return
    const t = this.tokens + (this.rate * (now - last)) / 1000
    this.tokens = this.queued > 0 ? t : Math.min(this.settings.burst, t)
  }

  private changed(): void {
    this.onChange?.()
  }
}
