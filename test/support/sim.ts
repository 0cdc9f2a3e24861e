/**
 * A deterministic multi-node simulator over the pure core.
 *
 * Nodes are `Replica`s; every ordered pair of nodes has a `Session` on each
 * side, joined by in-memory links that carry wire objects through a JSON
 * round trip (as the codec would). Everything random comes from one seeded
 * generator, so a seed replays a run exactly.
 *
 * It checks, as it goes:
 * - the paper's invariant (design rule 4) at the receiving node after every
 *   delivered message: for each key, the node holds the global winner, or the
 *   winner's version is above the node's clock for its source;
 * - redundancy: response updates the receiver already held (must stay 0 when
 *   exchanges run one at a time).
 */
import { Replica } from '../../lib/core/replica.ts'
import { compareValues, sort, resolution } from '../../lib/core/resolve.ts'
import { seededRandom, randomInt } from '../../lib/core/random.ts'
import { Session, type SessionPort } from '../../lib/core/session.ts'
import type { DeltaOrder, JsonValue, RandomFn, Rec, ResolveFn } from '../../lib/core/types.ts'
import { DEFAULT_LIMITS } from '../../lib/protocol/validate.ts'
import type { WireMessage } from '../../lib/protocol/messages.ts'

export interface SimOptions {
  nodes: number
  seed: number
  mtu?: number
  order?: DeltaOrder
  resolve?: 'lww' | 'values'
  /** Probability that a push finds the outgoing buffer full (and is skipped). */
  pushFullRate?: number
  maxHistory?: number
  /** Tombstones are collected this long (virtual ms) after they were applied; off when absent. */
  graceMs?: number
  /** Sessions speak the lossy-link protocol. */
  lossy?: boolean
  /** Sessions relay records at once (default false: exchanges only, so redundancy can be asserted 0). */
  relay?: boolean
  /**
   * Open a pair's sessions and links only when they first exchange (for
   * large clusters, where a full mesh would not fit in memory). Default:
   * every pair is connected from the start.
   */
  lazy?: boolean
}

interface Link {
  queue: unknown[]
}

class SimPort implements SessionPort {
  wanted = false
  invalids: string[] = []
  constructor(
    private readonly link: Link,
    private readonly full: () => boolean,
  ) {}
  send(msg: WireMessage): void {
    this.link.queue.push(JSON.parse(JSON.stringify(msg)))
  }
  room(): boolean {
    return !this.full()
  }
  invalid(reason: string): void {
    this.invalids.push(reason)
  }
  wantExchange(): void {
    this.wanted = true
  }
}

export interface SimNode {
  id: string
  replica: Replica
  /** sessions[j]: this node's session with node j (undefined for itself). */
  sessions: (Session | undefined)[]
  ports: (SimPort | undefined)[]
}

export class Sim {
  readonly random: RandomFn
  readonly nodes: SimNode[] = []
  /** Every applied local write, in order. */
  readonly writes: Rec[] = []
  readonly mtu: number
  /** links[i][j]: messages from i to j not yet delivered (holes: not connected yet). */
  private readonly links: Link[][] = []
  /** Every link made, in order: [from, to, link]. */
  private readonly active: [number, number, Link][] = []
  private readonly resolveKind: 'lww' | 'values'
  messages = 0
  updatesDelivered = 0
  redundant = 0
  exchanges = 0
  violations: string[] = []
  /** Winner per key over `writes` (kept incrementally). */
  private readonly winners = new Map<string, Rec>()
  /** Virtual time, ms; advanced by `tick`. */
  now = 0
  readonly graceMs: number | undefined
  /** Nodes cut off from the rest; messages across the cut are lost. */
  readonly isolated = new Set<number>()
  private readonly sessionOpts: ConstructorParameters<typeof Session>[2]

  constructor(opts: SimOptions) {
    this.random = seededRandom(opts.seed)
    this.mtu = opts.mtu ?? 10
    this.resolveKind = opts.resolve ?? 'lww'
    const resolve: ResolveFn = this.resolveKind === 'lww' ? resolution.lww_vs_current_vers : resolution.strictly_order_values
    const fullRate = opts.pushFullRate ?? 0
    const full = () => fullRate > 0 && this.random() < fullRate
    this.full = full
    this.graceMs = opts.graceMs
    this.sessionOpts = {
      mtu: this.mtu,
      order: opts.order ?? 'depth',
      random: this.random,
      limits: DEFAULT_LIMITS,
      maxDigestEntries: 65536,
      lossy: opts.lossy === true,
      relay: opts.relay === true,
    }
    const n = opts.nodes
    for (let i = 0; i < n; i++) {
      this.links.push(new Array<Link>(n))
      const id = `n${i}`
      const replica = new Replica({ id, resolve, sort, maxHistory: opts.maxHistory ?? 10, time: () => this.now })
      this.nodes.push({ id, replica, sessions: new Array<Session | undefined>(n), ports: new Array<SimPort | undefined>(n) })
    }
    if (opts.lazy === true) return
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (j !== i) this.open(i, j)
  }

  /** Node i's side of its connection to j: a link from i to j, a port on it and a session. */
  private open(i: number, j: number): void {
    const link: Link = { queue: [] }
    this.links[i][j] = link
    this.active.push([i, j, link])
    const port = new SimPort(link, this.full)
    this.nodes[i].ports[j] = port
    this.nodes[i].sessions[j] = new Session(this.nodes[i].replica, port, { ...this.sessionOpts, peer: { id: `n${j}` } })
  }

  /** Connect i and j, both ways, unless they already are. */
  private ensure(i: number, j: number): void {
    if (this.links[i][j] === undefined) this.open(i, j)
    if (this.links[j][i] === undefined) this.open(j, i)
  }

  private readonly full: () => boolean

  /** A local delete at node `i`. */
  del(i: number, key: string): boolean {
    return this.write(i, key, null, true)
  }

  /** Advance virtual time and let every node collect its old tombstones. */
  tick(ms = 1): void {
    this.now += ms
    if (this.graceMs === undefined) return
    for (const n of this.nodes) n.replica.collect(this.now, this.graceMs)
  }

  /** Cut `nodes` off from the others: exchanges across the cut do not happen, messages are lost. */
  partition(nodes: number[]): void {
    for (const i of nodes) this.isolated.add(i)
  }

  /** Heal the cut: connections across it start over with fresh sessions, as after a reconnect. */
  heal(): void {
    const n = this.nodes.length
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j || this.isolated.has(i) === this.isolated.has(j) || this.links[i][j] === undefined) continue
        this.nodes[i].sessions[j]!.close()
        this.links[i][j].queue.length = 0
        const port = new SimPort(this.links[i][j], this.full)
        this.nodes[i].ports[j] = port
        this.nodes[i].sessions[j] = new Session(this.nodes[i].replica, port, { ...this.sessionOpts, peer: { id: `n${j}` } })
      }
    }
    this.isolated.clear()
  }

  private cut(i: number, j: number): boolean {
    return this.isolated.size > 0 && this.isolated.has(i) !== this.isolated.has(j)
  }

  /** A local write at node `i`; pushes are delivered at once. */
  write(i: number, key: string, value: JsonValue, deleted = false): boolean {
    const { rec, applied } = this.nodes[i].replica.writeLocal(key, value, deleted)
    if (applied) {
      this.writes.push(rec)
      const w = this.winners.get(key)
      if (w === undefined || this.beats(rec, w)) this.winners.set(key, rec)
    }
    this.drain()
    return applied
  }

  /** One exchange initiated by `i` with `j`, delivered to quiescence (with continuations). */
  exchange(i: number, j: number): void {
    if (this.cut(i, j)) return
    this.ensure(i, j)
    const s = this.nodes[i].sessions[j]!
    let rounds = 0
    s.start()
    this.exchanges++
    this.drain()
    // A truncated exchange asks for a follow-up, as the stream adapter would start.
    while (rounds++ < 10_000) {
      const pi = this.nodes[i].ports[j]!
      const pj = this.nodes[j].ports[i]!
      const si = this.nodes[i].sessions[j]!
      const sj = this.nodes[j].sessions[i]!
      // Owed answers and cut responses go on by themselves once the link has drained.
      if (si.owes) si.payDebts(true)
      else if (sj.owes) sj.payDebts(true)
      else if (si.streaming) si.continueStream()
      else if (sj.streaming) sj.continueStream()
      else if (pi.wanted) {
        pi.wanted = false
        s.start()
        this.exchanges++
      } else if (pj.wanted) {
        pj.wanted = false
        this.nodes[j].sessions[i]!.start()
        this.exchanges++
      } else break
      this.drain()
    }
  }

  /** Deliver every queued message, in random link order, until no link holds any. */
  drain(): void {
    const busy: [number, number][] = []
    for (;;) {
      busy.length = 0
      for (const [i, j, link] of this.active) if (link.queue.length) busy.push([i, j])
      if (busy.length === 0) return
      const [i, j] = busy[randomInt(this.random, busy.length)]
      this.deliver(i, j)
    }
  }

  private deliver(from: number, to: number): void {
    const msg = this.links[from][to].queue.shift() as Record<string, unknown>
    if (this.cut(from, to)) return
    const node = this.nodes[to]
    this.messages++
    if (msg.digest !== true) {
      this.updatesDelivered++
      if (this.holds(node.replica, msg as unknown as Rec)) this.redundant++
    }
    node.sessions[from]!.receive(msg)
    const v = this.invariantAt(to)
    if (v !== null) this.violations.push(`after message ${this.messages} (${from}->${to}): ${v}`)
  }

  private holds(replica: Replica, u: Rec): boolean {
    const cur = replica.record(u.key)
    if (cur !== undefined && sort(cur, u) === 0) return true
    const c = replica.clock.get(u.source_id, u.gen)
    return c !== -Infinity && u.version <= c
  }

  /**
   * Design rule 4 at node `i`, or null when it holds. A collected tombstone
   * counts as held when the node holds nothing for its key.
   */
  invariantAt(i: number): string | null {
    const r = this.nodes[i].replica
    for (const [key, g] of this.winners) {
      const held = r.record(key)
      if (held !== undefined && sort(held, g) === 0) continue
      if (held === undefined && g.deleted === true) continue
      const c = r.clock.get(g.source_id, g.gen)
      if (c === -Infinity || g.version > c) continue
      return `node ${this.nodes[i].id} key ${key}: lacks winner ${g.source_id}@${g.version} but clock says ${c}`
    }
    return null
  }

  beats(a: Rec, b: Rec): boolean {
    if (this.resolveKind === 'values') {
      const c = compareValues(a.value, b.value)
      if (c !== 0) return c > 0
    }
    return sort(a, b) > 0
  }

  /** The global winner per key. */
  oracle(): Map<string, Rec> {
    return this.winners
  }

  /** Keys with a value (not deleted) in the oracle. */
  liveOracle(): Map<string, Rec> {
    const m = new Map<string, Rec>()
    for (const [k, g] of this.winners) if (g.deleted !== true) m.set(k, g)
    return m
  }

  /**
   * Every node holds exactly the oracle's live records, and no tombstone the
   * oracle does not have (tombstones themselves may have been collected).
   */
  convergedLive(): boolean {
    const live = this.liveOracle()
    for (const n of this.nodes) {
      let count = 0
      for (const rec of n.replica.records()) {
        if (rec.deleted === true) {
          const g = this.winners.get(rec.key)
          if (g === undefined || sort(g, rec) !== 0) return false
          continue
        }
        count++
        const g = live.get(rec.key)
        if (g === undefined || sort(g, rec) !== 0) return false
      }
      if (count !== live.size) return false
    }
    return true
  }

  /** Keys some node shows a value for although the oracle says they were deleted. */
  resurrected(): string[] {
    const out: string[] = []
    for (const n of this.nodes) {
      for (const rec of n.replica.records()) {
        const g = this.winners.get(rec.key)
        if (rec.deleted !== true && g !== undefined && g.deleted === true) out.push(`${n.id}:${rec.key}`)
      }
    }
    return out
  }

  /** Every node holds exactly the oracle's records. */
  converged(): boolean {
    for (const n of this.nodes) {
      if (n.replica.size !== this.winners.size) return false
      for (const [k, g] of this.winners) {
        const h = n.replica.record(k)
        if (h === undefined || sort(h, g) !== 0 || JSON.stringify(h.value) !== JSON.stringify(g.value)) return false
      }
    }
    return true
  }

  /**
   * One synchronous gossip round: every node starts an exchange with a random
   * peer at the same moment, and messages are delivered in ticks (everything
   * queued at the start of a tick, then what that produced), so what a node
   * learns in this round travels no further until the next one. This is the
   * round of the epidemic analysis.
   */
  syncRound(): void {
    const n = this.nodes.length
    for (let i = 0; i < n; i++) {
      let j = randomInt(this.random, n - 1)
      if (j >= i) j++
      this.ensure(i, j)
      this.nodes[i].sessions[j]!.start()
      this.exchanges++
    }
    for (let tick = 0; tick < 100; tick++) {
      const pending: [number, number, number][] = []
      for (const [i, j, link] of this.active) if (link.queue.length) pending.push([i, j, link.queue.length])
      if (pending.length === 0) break
      for (const [i, j, q] of pending) for (let k = 0; k < q; k++) this.deliver(i, j)
    }
    for (const node of this.nodes) for (const p of node.ports) if (p) p.wanted = false
    // Streamed responses finish on their own; let them, tick by tick.
    for (let guard = 0; guard < 10_000; guard++) {
      let any = false
      for (const node of this.nodes) for (const sess of node.sessions) {
        if (sess?.owes) {
          sess.payDebts(true)
          any = true
        } else if (sess?.streaming) {
          sess.continueStream()
          any = true
        }
      }
      if (!any) break
      this.drain()
    }
  }

  /** Synchronous rounds until converged; returns the rounds used, or -1. */
  settleSync(maxRounds = 200): number {
    for (let round = 1; round <= maxRounds; round++) {
      this.syncRound()
      if (this.converged()) return round
    }
    return -1
  }

  /** Random push-pull rounds (each node with one random peer) until converged; returns rounds used. */
  settle(maxRounds = 500, done: () => boolean = () => this.converged()): number {
    const n = this.nodes.length
    for (let round = 1; round <= maxRounds; round++) {
      for (let i = 0; i < n; i++) {
        let j = randomInt(this.random, n - 1)
        if (j >= i) j++
        this.exchange(i, j)
      }
      if (done()) return round
    }
    return -1
  }
}
