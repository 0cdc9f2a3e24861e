/**
 * A seeded, deterministic simulator of cluster membership. Each node runs
 * the library's own pure membership code: `MemberTable` (records,
 * heartbeats, the phi accrual detector, collection, the graveyard),
 * `MemberLink` (the push-pull exchange, message by message) and `planView`
 * (the bounded view). What is abstract is the transport: links are opened
 * and closed instantly when both ends are up and can reach each other,
 * every message is delivered after a random latency or lost, and bytes are
 * counted as the JSON text the real connection would send.
 *
 * Crashes are silent (a crashed node's links stay open at its peers; what
 * they send it is lost), the worst case for detection. Partitions cut
 * messages and dials between groups.
 */
import { seededRandom, shuffle } from '../../../lib/core/random.ts'
import type { RandomFn } from '../../../lib/core/types.ts'
import { defaultPrior, detectorOptions } from '../../../lib/membership/detector.ts'
import { lineBudget, MemberLink, type MemberMessage } from '../../../lib/membership/exchange.ts'
import { MemberTable } from '../../../lib/membership/table.ts'
import { MEMBER_LIMITS, type DetectorOptions, type MemberEventKind } from '../../../lib/membership/types.ts'
import { planView, VIEW_DEFAULTS, type ViewOptions } from '../../../lib/membership/view.ts'
import { Heap } from './heap.ts'

export interface SimOptions {
  seed: number
  /** Round interval, ms. */
  interval: number
  /** Beat exchanges a node opens per round. */
  fanout: number
  view: ViewOptions
  detector: Partial<DetectorOptions>
  /** Probability that a message is lost. */
  loss: number
  /** One-way latency range, ms. */
  latency: [number, number]
  /** Dead members kept this long before collection, ms. */
  grace: number
}

export const SIM_DEFAULTS: SimOptions = {
  seed: 1,
  interval: 300,
  fanout: 2,
  view: VIEW_DEFAULTS,
  detector: {},
  loss: 0,
  latency: [1, 10],
  grace: 3_600_000,
}

export interface SimEvent {
  at: number
  observer: number
  kind: MemberEventKind
  id: string
  gen: number
  reason: string
}

interface SimLink {
  link: MemberLink
  out: boolean
}

export interface SimNode {
  readonly index: number
  readonly id: string
  readonly addr: string
  table: MemberTable
  links: Map<number, SimLink>
  dialing: Set<string>
  up: boolean
  /** Left gracefully: no more rounds; up until what it sent is delivered. */
  leaving: boolean
  group: number
  round: number
  gen: number
}

/** Sent by all nodes, since the last `resetCounters`. */
export interface Counters {
  messages: number
  bytes: number
  beats: number
  beatEntries: number
  maxBeatEntries: number
  sums: number
  sumsBytes: number
  recs: number
  records: number
  dials: number
}

const emptyCounters = (): Counters => ({ messages: 0, bytes: 0, beats: 0, beatEntries: 0, maxBeatEntries: 0, sums: 0, sumsBytes: 0, recs: 0, records: 0, dials: 0 })

/** The JSON length of a message as the connection sends it (newline included), without building the text for beats. */
export function messageBytes(m: MemberMessage): number {
  if (m.mb === 'beat') {
    const hb = m.hb
    let n = 44 + (m.re === 1 ? 7 : 0) + Math.max(0, hb.length - 1)
    for (let i = 0; i < hb.length; i += 3) n += (hb[i] as string).length + 2 + digits(hb[i + 1] as number) + digits(hb[i + 2] as number)
    return n + 1
  }
  if (m.mb === 'recs') {
    let n = 24 + Math.max(0, m.recs.length - 1)
    for (const r of m.recs) n += recordBytes(r)
    return n
  }
  return JSON.stringify(m).length + 1
}

const recordLengths = new WeakMap<object, number>()
function recordBytes(r: object): number {
  let n = recordLengths.get(r)
  if (n === undefined) {
    n = JSON.stringify(r).length
    recordLengths.set(r, n)
  }
  return n
}

/** Decimal digits of a non-negative integer below 10^16. */
function digits(x: number): number {
  if (x < 1e4) return x < 10 ? 1 : x < 100 ? 2 : x < 1000 ? 3 : 4
  if (x < 1e8) return x < 1e5 ? 5 : x < 1e6 ? 6 : x < 1e7 ? 7 : 8
  if (x < 1e12) return x < 1e9 ? 9 : x < 1e10 ? 10 : x < 1e11 ? 11 : 12
  return x < 1e13 ? 13 : x < 1e14 ? 14 : x < 1e15 ? 15 : 16
}

export class MemberSim {
  readonly opts: SimOptions
  readonly nodes: SimNode[] = []
  readonly events: SimEvent[] = []
  counters: Counters = emptyCounters()
  /** Called with every message sent (counted), before loss. */
  onSend: ((m: MemberMessage) => void) | null = null
  now = 0
  /** Wall clock of the simulated nodes (ms since the epoch at time 0). */
  readonly wall0 = 1_800_000_000_000
  private readonly heap = new Heap<() => void>()
  private readonly random: RandomFn
  private readonly detector: DetectorOptions
  private readonly byAddr = new Map<string, number>()
  readonly seeds: string[] = []

  constructor(opts: Partial<SimOptions> = {}) {
    this.opts = { ...SIM_DEFAULTS, ...opts }
    this.random = seededRandom(this.opts.seed)
    this.detector = detectorOptions(defaultPrior(this.opts.interval), this.opts.detector)
  }

  /** Add a node that will join through the seeds at `at` (ms). The first node added is the seed. */
  addNode(at = this.now): SimNode {
    const index = this.nodes.length
    const id = `n${index}`
    const addr = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}:7000`
    const node: SimNode = { index, id, addr, table: null as unknown as MemberTable, links: new Map(), dialing: new Set(), up: false, leaving: false, group: 0, round: 0, gen: 0 }
    this.nodes.push(node)
    this.byAddr.set(addr, index)
    if (index === 0) this.seeds.push(addr)
    this.at(at, () => this.start(node))
    return node
  }

  /** Run until `until` (ms). */
  run(until: number): void {
    for (;;) {
      const next = this.heap.peekKey()
      if (next === undefined || next > until) break
      const [t, fn] = this.heap.pop()!
      this.now = t
      fn()
    }
    this.now = until
  }

  at(t: number, fn: () => void): void {
    this.heap.push(t, fn)
  }

  /** Stop a node silently (its peers are not told). */
  crash(node: SimNode): void {
    node.up = false
  }

  /** A graceful leave: the node sends its left record to every linked peer, then stops once they are delivered. */
  leave(node: SimNode): void {
    if (!node.up || node.leaving) return
    const rec = node.table.leave()
    node.leaving = true
    for (const [j, l] of node.links) this.send(node, j, l.link.push(rec))
    this.at(this.now + this.opts.latency[1] + 1, () => (node.up = false))
  }

  /**
   * Start a stopped node again: a new generation, links and table from
   * nothing, joining through the seeds. Its old links are gone at its peers
   * too (a new process: the old connections are reset).
   */
  restart(node: SimNode): void {
    for (const j of node.links.keys()) this.nodes[j].links.delete(node.index)
    for (const other of this.nodes) other.links.delete(node.index)
    node.links = new Map()
    node.dialing = new Set()
    node.leaving = false
    this.start(node)
  }

  /**
   * `n` nodes that have run together for a while: each knows every other's
   * record and holds a full view of random outbound links. Their detectors
   * start afresh (no samples), as after a restart of the whole cluster.
   */
  warmStart(n: number): void {
    const fresh = Array.from({ length: n }, () => this.addNode(this.now))
    this.run(this.now) // start them all
    const kept = this.events.length
    for (const a of fresh) for (const b of fresh) if (a !== b) a.table.applyRecord(b.table.selfRecord, this.now, true)
    this.events.length = kept // their joins are not news
    for (const a of fresh) {
      for (const j of shuffle(fresh.map((x) => x.index), this.random)) {
        if ([...a.links.values()].filter((l) => l.out).length >= this.opts.view.size) break
        const b = this.nodes[j]
        if (b === a || a.links.has(j)) continue
        a.links.set(j, { link: this.makeLink(a, b), out: true })
        b.links.set(a.index, { link: this.makeLink(b, a), out: false })
      }
    }
  }

  /** Put nodes in groups; messages and dials cross no group boundary. All 0 heals. */
  partition(groupOf: (n: SimNode) => number): void {
    for (const n of this.nodes) n.group = groupOf(n)
  }

  resetCounters(): void {
    this.counters = emptyCounters()
  }

  /** Whether every up node holds every other up node alive and nobody else alive. */
  converged(): boolean {
    const up = this.nodes.filter((n) => n.up)
    if (up.length === 0) return false
    for (const n of up) {
      let alive = 0
      for (const e of n.table.all()) {
        if (e.state === 'alive' || e.state === 'suspect') {
          const other = this.nodes[Number(e.record.id.slice(1))]
          if (!other.up || other.gen !== e.record.gen) return false
          alive++
        }
      }
      if (alive !== up.length) return false
    }
    return true
  }

  private start(node: SimNode): void {
    node.gen = this.wall0 + this.now
    node.up = true
    node.round = 0
    node.table = new MemberTable({ id: node.id, gen: node.gen, addr: node.addr }, { detector: this.detector, limits: MEMBER_LIMITS, grace: this.opts.grace, buryFor: this.opts.grace }, this.now)
    const table = node.table
    table.onEvent = (kind, m, reason) => {
      if (node.table === table) this.events.push({ at: this.now, observer: node.index, kind, id: m.id, gen: m.generation, reason })
    }
    const phase = this.random() * this.opts.interval
    const gen = node.gen
    const tick = () => {
      if (!node.up || node.leaving || node.gen !== gen) return
      this.round(node)
      this.at(this.now + this.opts.interval, tick)
    }
    this.at(this.now + phase, tick)
  }

  private round(node: SimNode): void {
    const t = node.table
    node.round++
    t.beat()
    t.tick(this.now)
    const live: { id: string; addr: string }[] = []
    const dead: { id: string; addr: string }[] = []
    const gone = new Set<string>()
    for (const e of t.all()) {
      if (e.record.id === node.id) continue
      if (e.state === 'alive' || e.state === 'suspect') live.push(e.record)
      else {
        gone.add(e.record.id)
        if (e.state === 'dead') dead.push(e.record)
      }
    }
    const connected = new Set<string>()
    const outbound: string[] = []
    const seedIds = new Set<string>()
    for (const [j, l] of node.links) {
      const id = this.nodes[j].id
      connected.add(id)
      if (l.out) outbound.push(id)
      if (this.seeds.includes(this.nodes[j].addr)) seedIds.add(id)
    }
    const plan = planView(
      { live, dead, seeds: this.seeds.filter((a) => a !== node.addr), connected, outbound, gone, seedLinked: seedIds.size > 0, seedIds, dialing: node.dialing, round: node.round },
      this.opts.view,
      this.random,
    )
    for (const d of plan.drop) this.unlink(node, Number(d.id.slice(1)))
    for (const d of plan.dial) this.dial(node, d.addr)
    const peers = shuffle([...node.links.keys()], this.random).slice(0, this.opts.fanout)
    for (const j of peers) this.send(node, j, node.links.get(j)!.link.start())
  }

  private reachable(a: SimNode, b: SimNode): boolean {
    return a.up && b.up && a.group === b.group
  }

  private dial(node: SimNode, addr: string): void {
    const j = this.byAddr.get(addr)
    if (j === undefined || j === node.index) return
    node.dialing.add(addr)
    this.counters.dials++
    const other = this.nodes[j]
    const rtt = 2 * this.latency()
    this.at(this.now + rtt, () => {
      node.dialing.delete(addr)
      if (!this.reachable(node, other) || node.links.has(j)) return
      // Both ends link; a link already open the other way is the one kept (duplicates collapse).
      const a: SimLink = { link: this.makeLink(node, other), out: true }
      const b: SimLink = { link: this.makeLink(other, node), out: false }
      node.links.set(j, a)
      other.links.set(node.index, b)
      this.send(node, j, a.link.start())
      this.send(other, node.index, b.link.start())
    })
  }

  private makeLink(self: SimNode, peer: SimNode): MemberLink {
    return new MemberLink(self.table, peer.id, { maxBeatEntries: MEMBER_LIMITS.maxBeatEntries, maxRecords: MEMBER_LIMITS.maxRecords, maxLineBytes: lineBudget(1024 * 1024), minReplyGap: this.opts.interval / 4 })
  }

  private unlink(node: SimNode, j: number): void {
    node.links.delete(j)
    this.nodes[j].links.delete(node.index)
  }

  private latency(): number {
    const [lo, hi] = this.opts.latency
    return lo + this.random() * (hi - lo)
  }

  private send(from: SimNode, to: number, msgs: MemberMessage[]): void {
    const c = this.counters
    for (const m of msgs) {
      this.onSend?.(m)
      c.messages++
      const bytes = messageBytes(m)
      c.bytes += bytes
      if (m.mb === 'beat') {
        c.beats++
        c.beatEntries += m.hb.length / 3
        if (m.hb.length / 3 > c.maxBeatEntries) c.maxBeatEntries = m.hb.length / 3
      } else if (m.mb === 'sums') {
        c.sums++
        c.sumsBytes += bytes
      } else if (m.mb === 'recs') {
        c.recs++
        c.records += m.recs.length
      }
      if (this.random() < this.opts.loss) continue
      const target = this.nodes[to]
      const gen = target.gen
      this.at(this.now + this.latency(), () => {
        if (!this.reachable(from, target) || target.gen !== gen) return
        const l = target.links.get(from.index)
        if (l === undefined) return
        const replies = l.link.receive(m, this.now)
        if (replies.length > 0) this.send(target, from.index, replies)
      })
    }
  }
}

/** Mean, 99th percentile and maximum of a list of numbers (NaN when empty). */
export function summarize(xs: number[]): { n: number; mean: number; p99: number; max: number } {
  if (xs.length === 0) return { n: 0, mean: NaN, p99: NaN, max: NaN }
  const s = xs.slice().sort((a, b) => a - b)
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p99: s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)], max: s[s.length - 1] }
}

/** For every up node but `victim`, ms from `since` to its `down` of the victim's life (Infinity when it never came). */
export function detectionTimes(sim: MemberSim, victim: SimNode, since: number, gen = victim.gen): number[] {
  const first = new Map<number, number>()
  for (const e of sim.events) {
    if (e.kind === 'down' && e.id === victim.id && e.gen === gen && e.at >= since && !first.has(e.observer)) first.set(e.observer, e.at - since)
  }
  return sim.nodes.filter((n) => n !== victim && n.up).map((n) => first.get(n.index) ?? Infinity)
}

/** `down` events since `since` about nodes that were up at the time (false deaths), but for `except`. */
export function falseDowns(sim: MemberSim, since: number, except: ReadonlySet<string> = new Set()): SimEvent[] {
  return sim.events.filter((e) => e.kind === 'down' && e.at >= since && !except.has(e.id) && sim.nodes[Number(e.id.slice(1))].gen === e.gen && sim.nodes[Number(e.id.slice(1))].up)
}

/** Per node per second, over `ms` of simulated time: messages, bytes, beat entries. */
export function rates(c: Counters, nodes: number, ms: number): { msgs: number; bytes: number; beatEntries: number } {
  const per = nodes * (ms / 1000)
  return { msgs: c.messages / per, bytes: c.bytes / per, beatEntries: c.beatEntries / per }
}
