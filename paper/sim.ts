import type { FlowOptions } from '../lib/core/flow.ts'
import type { FlowLink } from '../lib/core/flow-link.ts'
import { NodeFlow, flowSettings } from '../lib/core/flow-node.ts'
import { randomInt, seededRandom } from '../lib/core/random.ts'
import { WriteLog, staleness } from './metrics.ts'
import { ReferenceFlow } from './reference-flow.ts'

/**
 * The paper's experimental setup as a discrete-time driver (sections 3.3 and
 * 4): N participants, each the only writer of its K keys; each starts one
 * push-pull exchange per second with a uniformly random other participant,
 * at its own fixed phase within the second; each writes a uniformly random
 * one of its keys at a given rate (or, with flow control, at min(ρ, τ)).
 * Exchanges are instantaneous. Time advances in ticks of 1/ticksPerSecond s.
 *
 * Flow control runs through the objects the library's sessions use: one
 * `NodeFlow` per participant (its rates, AIMD and write gate) on the
 * simulation's clock, and one `FlowLink` per ordered pair, so an exchange
 * carries (ρ, τ) both ways exactly as a session's digests do (the trust
 * rule and throttles included), and each leg sent runs AIMD. Participants
 * write at exactly min(ρ, τ), as the paper's do (`FlowControl.allowance`,
 * fractions carried over), rather than through the write gate, whose
 * strict pacing (burst 1) loses a little to attempts made at coarse times.
 *
 * The driver owns the workload (phases, partners, keys written, from one
 * seeded stream) and the measurements; a `Model` does the protocol. Two
 * models given the same scenario see the same workload draws, so they
 * differ only in what their protocols do (and their own tie-breaks).
 */
export interface Model {
  /** held[q][key]: the version node q holds of key (0: none); key = owner * K + k. */
  readonly held: Float64Array[]
  /** Node `node` writes its key `key` at time `t`; returns the version stamped. */
  write(node: number, key: number, t: number): number
  /** A push-pull exchange started by `p` with `q` under `mtu`. */
  exchange(p: number, q: number, mtu: number): ExchangeResult
}

export interface ExchangeResult {
  /** Deltas that wanted to go from the responder to the initiator (leg 2). */
  readonly toInitiator: number
  /** Deltas that wanted to go from the initiator to the responder (leg 3). */
  readonly toResponder: number
  /** Deltas sent in both legs. */
  readonly sent: number
  /** Deltas the receiver already held. */
  readonly redundant: number
}

export interface Scenario {
  readonly n: number
  readonly keys: number
  readonly seed: number
  /** Seconds simulated; samples at t = 0, 1, ..., duration. */
  readonly duration: number
  readonly ticksPerSecond?: number
  /** MTU in force at time t (Infinity: none). */
  mtu(t: number): number
  /** Writes per second of every participant at time t (without flow control). */
  rate?(t: number): number
  /**
   * Flow control: every participant desires `desired` writes/s and starts
   * allowed `initial`; run by the library's objects (default) or by the
   * plain-arithmetic reference (reference-flow.ts).
   */
  readonly flow?: { readonly desired: number; readonly initial: number; readonly options?: FlowOptions; readonly impl?: 'library' | 'reference' }
}

/** Flow control as the driver sees it: writes due, the rates leg of an exchange, AIMD after it, τ. */
interface FlowDriver {
  allowance(p: number, dt: number): number
  exchange(p: number, q: number): void
  sent(p: number, q: number, r: ExchangeResult, mtu: number): void
  allowed(p: number): number
}

/** The library's objects: one `NodeFlow` per participant on the simulation's clock, one `FlowLink` per ordered pair. */
function libraryFlow(s: Scenario, credit: readonly number[], clock: () => number): FlowDriver {
  const f = s.flow!
  const nodes = Array.from({ length: s.n }, (_, i) => {
    const node = new NodeFlow(flowSettings({ ...f.options, desired: f.desired, initial: f.initial, timer: false }), clock)
    node.control.credit = credit[i]
    return node
  })
  const links = new Map<number, FlowLink>()
  /** p's connection to q. */
  const link = (p: number, q: number): FlowLink => {
    let l = links.get(p * s.n + q)
    if (l === undefined) links.set(p * s.n + q, (l = nodes[p].link()))
    return l
  }
  return {
    allowance: (p, dt) => nodes[p].control.allowance(dt),
    // Leg 1 carries p's rates, leg 2 q's (from before it redistributed): each side takes its share.
    exchange: (p, q) => link(p, q).replied(link(q, p).answer(link(p, q).request())),
    sent: (p, q, r, mtu) => {
      link(q, p).sent(r.toInitiator, mtu)
      link(p, q).sent(r.toResponder, mtu)
    },
    allowed: (p) => nodes[p].allowed,
  }
}

function referenceFlow(s: Scenario, credit: readonly number[]): FlowDriver {
  const f = s.flow!
  const o = f.options ?? {}
  const ref = new ReferenceFlow(s.n, f.desired, f.initial, credit, o.alpha ?? 0.75, o.beta ?? 0.05, o.phi1 ?? 3, o.phi2 ?? 3)
  return {
    allowance: (p, dt) => ref.allowance(p, dt),
    exchange: (p, q) => ref.exchange(p, q),
    sent: (p, q, r, mtu) => {
      ref.sent(q, r.toInitiator, mtu)
      ref.sent(p, r.toResponder, mtu)
    },
    allowed: (p) => ref.tau[p],
  }
}

export interface Trace {
  readonly t: number[]
  /** Stale mappings at each sample. */
  readonly stale: number[]
  /** Maximum staleness (s) at each sample: time since the key's latest write. */
  readonly maxStale: number[]
  /** Maximum time out of date (s): since the first write the node lacks. */
  readonly maxBehind: number[]
  /** Mean, least and greatest allowed rate τ over participants (flow control only). */
  readonly meanTau: number[]
  readonly minTau: number[]
  readonly maxTau: number[]
  redundant: number
  sent: number
  writes: number
  exchanges: number
}

export function simulate(model: Model, s: Scenario): Trace {
  const tps = s.ticksPerSecond ?? 20
  const dt = 1 / tps
  const wl = seededRandom(s.seed)
  const slot = Array.from({ length: s.n }, () => randomInt(wl, tps))
  const credit = Array.from({ length: s.n }, () => wl())
  // The simulation's clock in whole ms (ticks times the tick length), for the flow-control objects.
  let nowMs = 0
  const flow = s.flow === undefined ? null : s.flow.impl === 'reference' ? referenceFlow(s, credit) : libraryFlow(s, credit, () => nowMs)
  const log = new WriteLog(s.n * s.keys)
  const trace: Trace = { t: [], stale: [], maxStale: [], maxBehind: [], meanTau: [], minTau: [], maxTau: [], redundant: 0, sent: 0, writes: 0, exchanges: 0 }
  const ticks = Math.round(s.duration * tps)
  const tickMs = 1000 / tps
  const write = (node: number, t: number) => {
    const key = node * s.keys + randomInt(wl, s.keys)
    log.record(key, model.write(node, key, t), t)
    trace.writes++
  }
  for (let i = 0; i <= ticks; i++) {
    const t = i / tps
    nowMs = i * tickMs
    if (i % tps === 0) sample(trace, model, log, t, flow, s.n)
    if (i === ticks) break
    for (let node = 0; node < s.n; node++) {
      let due: number
      if (flow !== null) due = flow.allowance(node, dt)
      else {
        credit[node] += s.rate!(t) * dt
        due = Math.floor(credit[node])
        credit[node] -= due
      }
      for (let w = 0; w < due; w++) write(node, t)
    }
    const phase = i % tps
    const mtu = s.mtu(t)
    for (let p = 0; p < s.n; p++) {
      if (slot[p] !== phase) continue
      let q = randomInt(wl, s.n - 1)
      if (q >= p) q++
      flow?.exchange(p, q)
      const r = model.exchange(p, q, mtu)
      flow?.sent(p, q, r, mtu)
      trace.redundant += r.redundant
      trace.sent += r.sent
      trace.exchanges++
    }
  }
  return trace
}

function sample(trace: Trace, model: Model, log: WriteLog, t: number, flow: FlowDriver | null, n: number): void {
  const st = staleness(model.held, log, t)
  trace.t.push(t)
  trace.stale.push(st.stale)
  trace.maxStale.push(st.max)
  trace.maxBehind.push(st.maxBehind)
  if (flow !== null) {
    let sum = 0
    let lo = Infinity
    let hi = -Infinity
    for (let p = 0; p < n; p++) {
      const a = flow.allowed(p)
      sum += a
      if (a < lo) lo = a
      if (a > hi) hi = a
    }
    trace.meanTau.push(sum / n)
    trace.minTau.push(lo)
    trace.maxTau.push(hi)
  }
}
