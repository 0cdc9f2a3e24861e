import { Engine, type Delta } from '../lib/core/engine.ts'
import { encodePush } from '../lib/protocol/messages.ts'
import type { RandomFn } from '../lib/core/types.ts'
import { PreciseSelector, type PreciseOrder } from './precise.ts'
import type { ExchangeResult, Model } from './sim.ts'

export type Ordering = 'depth' | 'breadth' | PreciseOrder

/**
 * The library itself as the protocol of the simulation: one `Engine` (the
 * public sans-I/O core) per participant, over a `Replica` whose physical
 * clock is the simulation's virtual time in µs, so versions are hybrid
 * logical clock stamps that follow virtual time.
 *
 * - `depth`, `breadth`: Scuttlebutt exchanges through `digest`, `deltasFor`
 *   and `apply`, exactly as an embedding transport would run them.
 * - `oldest`, `newest`: the precise-reconciliation baselines (precise.ts),
 *   chosen by the harness from the versions each engine reports; the chosen
 *   records go to `apply` with explicit chain links (prev = version - 1),
 *   the protocol's way to send a record outside its chain, so they never
 *   move the receiver's clock past a gap.
 *
 * `held` mirrors what the engines hold: after every `apply`, the harness
 * reads back `versionOf` for each key in the response (`verify` compares the
 * whole mirror with the engines).
 */
export class LibraryModel implements Model {
  readonly engines: Engine[]
  readonly held: Float64Array[]
  private readonly names: string[]
  private readonly index = new Map<string, number>()
  private nowUs = 0
  private readonly precise = new PreciseSelector()

  constructor(
    readonly n: number,
    readonly keys: number,
    readonly order: Ordering,
    private readonly random: RandomFn,
  ) {
    const now = () => this.nowUs
    this.engines = Array.from({ length: n }, (_, i) => new Engine({ id: `p${i}`, now }))
    this.held = Array.from({ length: n }, () => new Float64Array(n * keys))
    this.names = []
    for (let p = 0; p < n; p++) {
      for (let k = 0; k < keys; k++) {
        const name = `p${p}:${k}`
        this.index.set(name, this.names.length)
        this.names.push(name)
      }
    }
  }

  write(node: number, key: number, t: number): number {
    this.nowUs = Math.round(t * 1e6)
    const rec = this.engines[node].set(this.names[key], t)
    this.held[node][key] = rec.version
    return rec.version
  }

  exchange(p: number, q: number, mtu: number): ExchangeResult {
    // Leg 1: p's digest; leg 2: q's deltas for it (and q's digest); leg 3: p's deltas for q.
    const a = this.leg(q, p, mtu)
    const b = this.leg(p, q, mtu)
    return { toInitiator: a.candidates, toResponder: b.candidates, sent: a.sent + b.sent, redundant: a.redundant + b.redundant }
  }

  /** One response from `from` to `to`, applied at `to`. */
  private leg(from: number, to: number, mtu: number): { candidates: number; sent: number; redundant: number } {
    const sender = this.engines[from]
    const receiver = this.engines[to]
    let deltas: Delta[]
    let candidates: number
    if (this.order === 'depth' || this.order === 'breadth') {
      const r = sender.deltasFor(receiver.digest(), { mtu, order: this.order, random: this.random })
      deltas = r.deltas
      candidates = r.candidates
    } else {
      const r = this.precise.select(this.held[from], this.held[to], mtu, this.order, this.random)
      candidates = r.candidates
      deltas = r.keys.map((k) => {
        const rec = sender.record(this.names[k])!
        return encodePush(rec, rec.version - 1)
      })
    }
    const res = receiver.apply(deltas)
    if (res.refused > 0) throw new Error(`p${to} refused ${res.refused} deltas: ${res.reasons[0]}`)
    const mirror = this.held[to]
    for (const d of deltas) mirror[this.index.get(d.key)!] = receiver.versionOf(d.key)
    return { candidates, sent: deltas.length, redundant: res.redundant }
  }

  /** Whether the mirror matches every engine, key by key; returns the first mismatch. */
  verify(): string | null {
    for (let q = 0; q < this.n; q++) {
      const e = this.engines[q]
      const h = this.held[q]
      for (let k = 0; k < this.names.length; k++) {
        if (e.versionOf(this.names[k]) !== h[k]) return `p${q} holds ${this.names[k]}@${e.versionOf(this.names[k])}, mirror says ${h[k]}`
      }
    }
    return null
  }
}
