/**
 * A deterministic fault-injecting cluster simulator over the pure core, the
 * real line codec and the real log format.
 *
 * Every message is encoded as an ndjson line and parsed back with the codec's
 * `parseLine`; every applied update, removal and clock snapshot is written to
 * an in-memory log with the store's line format and replayed with
 * `replayLine` when a node restarts. Faults, all drawn from one seeded
 * generator: per-link loss, duplication, delay and reordering (lossy links),
 * delay (reliable links), partitions that split and heal, crashes with a
 * restart from the log or with total data loss, nodes joining late.
 *
 * Half the schedules (by seed) collect tombstones (`maxCutMs`, `gcGrace`):
 * their grace period is short enough for tombstones to be forgotten within
 * the schedule, and twice as long as any cut, which they end when it lasts
 * `maxCutMs`, as README "Deletes" asks (the grace period far longer than
 * any partition); the others keep every tombstone.
 *
 * Checked: the paper's invariant at the receiving node after every delivered
 * message; after healing, every node holds the oracle's state: the winner,
 * under last-write-wins, of every acknowledged write (all writes are
 * acknowledged once applied: the log is written through), except writes
 * whose only copy was on a disk that was lost; no deleted key comes back.
 */
import { parseLine } from '../../lib/codec/ndjson.ts'
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import { randomInt, seededRandom } from '../../lib/core/random.ts'
import { Session, type SessionOptions } from '../../lib/core/session.ts'
import type { RandomFn, Rec } from '../../lib/core/types.ts'
import { DEFAULT_LIMITS } from '../../lib/protocol/validate.ts'
import { clockLine, dropLine, headerLine, recordJson } from '../../lib/store/log-format.ts'
import { emptyRecovery, replayLine, savedForgotten } from '../../lib/store/log-replay.ts'
import { TimedHeap } from './heap.ts'
import { HostilePeer, simSigner, simVerifier } from './hostile.ts'

/** Index of the hostile member in links and messages. */
const H = -2
/** Clock bound of the simulated replicas, µs (the library's default, 5 minutes). */
const OFFSET_US = 300_000_000
/** Virtual ms a schedule step lasts, at most (`play`). */
const STEP_MS = 5
/** The grace period of schedules without gc: longer than any schedule, settling included. */
const NO_GC_GRACE_MS = 100_000

export interface FaultOptions {
  seed: number
  nodes: number
  lateJoiners: number
  /** Random events before healing. */
  steps: number
  lossy: boolean
  /** Per message, on lossy links. */
  loss: number
  dup: number
  /** Largest extra delivery delay, virtual ms (reorders lossy links). */
  maxDelay: number
  mtu: number
  /**
   * Tombstone grace period, ms. In gc schedules (`maxCutMs` set) it is
   * `gcGrace(maxCutMs, maxDelay)`: tombstones are collected within the
   * schedule, and every cut is shorter than the grace period, as README
   * "Deletes" asks; elsewhere 100 s, longer than any schedule.
   */
  graceMs: number
  /**
   * gc schedules: the longest the cluster stays broken (a partition in
   * effect or a joined node down); the schedule heals the partition and
   * restarts every down node then. null: no bound.
   */
  maxCutMs: number | null
  /** A hostile member joins: in a plain or a signed cluster. */
  hostile: 'none' | 'plain' | 'signed'
}

interface Msg {
  at: number
  seq: number
  from: number
  to: number
  epoch: number
  line: string
}

class FNode {
  alive = false
  /** Has been started at least once (late joiners start later). */
  joined = false
  /** Its disk was lost and it has not restarted since. */
  wiped = false
  replica!: Replica
  log: string[] = []
  gen = ''
  sinceSnapshot = 0
  constructor(readonly index: number, readonly id: string) {}
}

export interface FaultReport {
  seed: number
  ok: boolean
  problems: string[]
  faults: Record<string, number>
  writes: number
  messages: number
  /** Tombstones forgotten past the grace period, over all nodes. */
  collected: number
}

export class FaultSim {
  readonly random: RandomFn
  readonly nodes: FNode[] = []
  now = 0
  private seq = 0
  private readonly queue = new TimedHeap<Msg>()
  private readonly linkAt = new Map<string, number>()
  /** Connection epoch per unordered pair; sessions live as long as their epoch. */
  private readonly epoch = new Map<string, number>()
  private readonly sessions = new Map<string, Session>()
  private readonly group = new Map<number, number>()
  private gens = 0
  faultsOn = true
  readonly faults: Record<string, number> = { lost: 0, duplicated: 0, delayed: 0, partitions: 0, crashes: 0, diskLosses: 0, joins: 0, invalid: 0, hostile: 0, hidden: 0, cutsEnded: 0 }
  readonly hostile: HostilePeer | null
  readonly writes: Rec[] = []
  private readonly excluded = new Set<Rec>()
  private readonly winners = new Map<string, Rec>()
  readonly violations: string[] = []
  messages = 0
  collected = 0
  private readonly sessionOpts: SessionOptions
  private readonly deferred = new Map<number, () => void>()
  private readonly continuing = new Set<Session>()

  constructor(readonly opts: FaultOptions) {
    this.random = seededRandom(opts.seed)
    this.sessionOpts = { mtu: opts.mtu, order: opts.seed % 2 ? 'depth' : 'breadth', random: this.random, limits: DEFAULT_LIMITS, maxDigestEntries: 65536, lossy: opts.lossy, verifyInterval: 100 }
    this.hostile = opts.hostile === 'none' ? null : new HostilePeer(this.random, opts.hostile === 'signed', 12)
    for (let i = 0; i < opts.nodes + opts.lateJoiners; i++) this.nodes.push(new FNode(i, `n${i}`))
    for (let i = 0; i < opts.nodes; i++) this.boot(i, false)
  }

  // ---- nodes ----

  /** Start node `i`: from its log, or empty (a new generation) when it has none. */
  private boot(i: number, fromLog: boolean): void {
    const n = this.nodes[i]
    const r = emptyRecovery()
    if (fromLog && n.log.length > 0) n.log.forEach((line, k) => replayLine(line.trimEnd(), k + 1, r))
    else {
      n.gen = `g${++this.gens}`
      // As a new store's log: its clock line carries the collected-tombstone floor from the start.
      n.log = [headerLine({ store: 1, id: n.id, gen: n.gen }), clockLine([], 0, 0)]
    }
    const signed = this.opts.hostile === 'signed'
    const replica = new Replica({
      id: n.id,
      gen: n.gen,
      resolve: resolution.lww_vs_current_vers,
      sort,
      maxHistory: 10,
      time: () => this.now,
      now: () => this.now * 1000,
      maxOffset: OFFSET_US,
      sign: signed ? simSigner() : undefined,
      verify: signed ? simVerifier() : undefined,
    })
    if (fromLog) replica.restore({ records: r.records.values(), sources: r.sources, version: r.version, forgotten: savedForgotten(r), appliedAt: r.appliedAt })
    replica.history.on('update', (u) => {
      // As the durable store does: a tombstone's line says when it was applied.
      n.log.push(recordJson(u, this.now) + '\n')
      if (++n.sinceSnapshot >= 8) {
        n.sinceSnapshot = 0
        n.log.push(clockLine(replica.sources(), replica.version, replica.forgotten().floor))
      }
    })
    replica.onDrop = (rec, reason) => {
      n.log.push(dropLine(rec))
      if (reason === 'collected') this.collected++
    }
    n.replica = replica
    n.alive = true
    n.joined = true
    n.wiped = false
    this.cutEnds()
    for (let j = 0; j < this.nodes.length; j++) if (j !== i) this.reconnect(i, j)
    if (this.hostile !== null) this.reconnect(i, H)
  }

  private crash(i: number, diskLost: boolean): void {
    const n = this.nodes[i]
    if (!n.alive) return
    n.alive = false
    this.cutStarts()
    for (let j = 0; j < this.nodes.length; j++) if (j !== i) this.disconnect(i, j)
    if (this.hostile !== null) this.disconnect(i, H)
    this.faults.crashes++
    if (!diskLost) return
    this.faults.diskLosses++
    // Writes no other node holds are gone with this disk (a node that still
    // has its log counts: it will come back with what it held). A delete
    // another node applied and then forgot past the grace period is not
    // gone: that node remembers it by key and refuses what it beat
    // (README "Deletes"), so the deleted key stays deleted.
    const holds = (o: FNode, w: Rec) => {
      if (o === n || !o.joined || o.wiped) return false
      const h = o.replica.record(w.key)
      if (h === undefined && w.deleted === true) {
        const t = o.replica.collected.get(w.key)
        return t !== undefined && sort(t, w) === 0
      }
      return h !== undefined && sort(h, w) === 0
    }
    for (const w of this.writes) {
      if (!this.excluded.has(w) && !this.nodes.some((o) => holds(o, w)) && this.hostile?.holds(w) !== true) this.exclude(w)
    }
    n.log = []
    n.wiped = true
  }

  /**
   * Keys whose winner changed because a write was lost with a disk: peers'
   * clocks may cover the new winner without holding it until the resync
   * after the loss repairs them, so the invariant is not checked there; the
   * final state still is.
   */
  private readonly repairing = new Set<string>()

  private exclude(w: Rec): void {
    this.excluded.add(w)
    if (this.winners.get(w.key) === w) this.repairing.add(w.key)
    let best: Rec | undefined
    for (const x of this.writes) if (x.key === w.key && !this.excluded.has(x) && (best === undefined || sort(x, best) > 0)) best = x
    if (best === undefined) this.winners.delete(w.key)
    else this.winners.set(w.key, best)
  }

  // ---- links ----

  private pair(i: number, j: number): string {
    return i < j ? `${i}-${j}` : `${j}-${i}`
  }

  /** Whether i and j can talk; the hostile member reaches every live node. */
  private up(i: number, j: number): boolean {
    if (i === H) return this.nodes[j].alive
    if (j === H) return this.nodes[i].alive
    return this.nodes[i].alive && this.nodes[j].alive && (this.group.get(i) ?? 0) === (this.group.get(j) ?? 0)
  }

  private disconnect(i: number, j: number): void {
    const p = this.pair(i, j)
    this.epoch.set(p, (this.epoch.get(p) ?? 0) + 1)
    this.sessions.get(`${i}>${j}`)?.close()
    this.sessions.get(`${j}>${i}`)?.close()
    this.sessions.delete(`${i}>${j}`)
    this.sessions.delete(`${j}>${i}`)
  }

  private reconnect(i: number, j: number): void {
    this.disconnect(i, j)
    if (!this.up(i, j)) return
    const e = this.epoch.get(this.pair(i, j))!
    for (const [a, b] of [[i, j], [j, i]]) {
      if (a === H) continue // the hostile member has no session: it says what it likes
      const port = {
        send: (msg: object) => this.enqueue(a, b, e, JSON.stringify(msg)),
        room: () => true,
        invalid: () => {
          this.faults.invalid++
        },
        wantExchange: () => this.later(() => this.sessions.get(`${a}>${b}`)?.start()),
      }
      const peer = b === H ? 'evil' : this.nodes[b].id
      this.sessions.set(`${a}>${b}`, new Session(this.nodes[a].replica, port, { ...this.sessionOpts, peer: { id: peer } }))
    }
  }

  private enqueue(from: number, to: number, epoch: number, line: string): void {
    const r = this.random
    const lossy = this.opts.lossy && this.faultsOn
    if (lossy && r() < this.opts.loss) {
      this.faults.lost++
      return
    }
    const copies = lossy && r() < this.opts.dup ? 2 : 1
    if (copies === 2) this.faults.duplicated++
    for (let c = 0; c < copies; c++) {
      const delay = this.faultsOn ? r() * this.opts.maxDelay : 0
      if (delay > 0) this.faults.delayed++
      let at = this.now + 1 + delay
      if (!lossy) {
        // A reliable link delays but keeps the order.
        const key = `${from}>${to}`
        at = Math.max(at, this.linkAt.get(key) ?? 0)
        this.linkAt.set(key, at)
      }
      this.queue.push({ at, seq: this.seq++, from, to, epoch, line })
    }
  }

  /** Run `fn` one tick from now (a session asked for another exchange). */
  private later(fn: () => void): void {
    this.deferred.set(this.seq, fn)
    this.queue.push({ at: this.now + 1, seq: this.seq++, from: -1, to: -1, epoch: 0, line: '' })
  }

  /** Deliver everything due up to `until` (virtual ms), in time order. */
  run(until: number): void {
    for (;;) {
      const m = this.queue.popUntil(until)
      if (m === undefined) break
      this.now = Math.max(this.now, m.at)
      if (m.from === -1) {
        this.deferred.get(m.seq)?.()
        this.deferred.delete(m.seq)
        continue
      }
      if (this.epoch.get(this.pair(m.from, m.to)) !== m.epoch || !this.up(m.from, m.to)) continue
      const parsed = parseLine(m.line)
      if (parsed === null || 'reason' in parsed) {
        this.faults.invalid++
        continue
      }
      this.messages++
      if (m.to === H) {
        this.hostile?.observe(parsed.value as Record<string, unknown>)
        continue
      }
      this.sessions.get(`${m.to}>${m.from}`)?.receive(parsed.value)
      // Links drain as messages are delivered: streamed responses go on.
      for (const sess of this.sessions.values()) {
        if (sess.streaming && !this.continuing.has(sess)) {
          this.continuing.add(sess)
          this.later(() => {
            this.continuing.delete(sess)
            sess.continueStream()
          })
        }
      }
      const v = this.invariantAt(m.to)
      if (v === null) continue
      // With a hostile member, a node can be lied to about completeness;
      // what must hold is that it is repaired: the final state is checked.
      if (this.hostile !== null) this.faults.hidden++
      else if (this.violations.length < 5) this.violations.push(`t=${this.now.toFixed(1)} ${m.from}->${m.to}: ${v}`)
    }
    this.now = Math.max(this.now, until)
  }

  private invariantAt(i: number): string | null {
    const r = this.nodes[i].replica
    for (const [key, g] of this.winners) {
      if (this.repairing.has(key)) continue
      const held = r.record(key)
      if (held !== undefined && sort(held, g) === 0) continue
      if (held === undefined && g.deleted === true) continue
      const c = r.clock.get(g.source_id, g.gen)
      if (c === -Infinity || g.version > c) continue
      return `n${i} key ${key}: lacks ${g.source_id}/${g.gen}@${g.version} (holds ${held ? `${held.source_id}/${held.gen}@${held.version}` : "nothing"}) but its clock says ${c}`
    }
    return null
  }

  // ---- the schedule ----

  private write(i: number, del: boolean): void {
    const key = 'k' + randomInt(this.random, 12)
    const { rec, applied } = this.nodes[i].replica.writeLocal(key, del ? null : randomInt(this.random, 1000), del)
    if (!applied) return
    this.writes.push(rec)
    const w = this.winners.get(key)
    if (w === undefined || sort(rec, w) > 0) this.winners.set(key, rec)
  }

  private alive(): number[] {
    return this.nodes.filter((n) => n.alive).map((n) => n.index)
  }

  // ---- cuts ----

  /** When the cluster last went from whole to broken (a partition in effect, or a joined node down); null while whole. */
  private brokenSince: number | null = null

  private whole(): boolean {
    const groups = new Set<number>()
    for (const n of this.nodes) {
      if (!n.joined) continue
      if (!n.alive) return false
      groups.add(this.group.get(n.index) ?? 0)
    }
    return groups.size <= 1
  }

  private cutStarts(): void {
    if (this.brokenSince === null) this.brokenSince = this.now
  }

  /** After a node came up or a partition changed: the cluster may be whole (or broken) again. */
  private cutEnds(): void {
    if (this.whole()) this.brokenSince = null
    else this.cutStarts()
  }

  /**
   * gc schedules: a cluster broken for `maxCutMs` is made whole (every down
   * node restarts from its log, the partition heals), so no node is cut off
   * from another for longer than `maxCutMs` plus a step.
   */
  private boundCut(): void {
    const max = this.opts.maxCutMs
    if (max === null || this.brokenSince === null || this.now - this.brokenSince < max) return
    this.faults.cutsEnded++
    for (const n of this.nodes) if (n.joined && !n.alive) this.boot(n.index, true)
    this.heal()
  }

  /** Run the random schedule, heal everything, let it settle, and check. */
  play(): FaultReport {
    const r = this.random
    const joinAt = new Map<number, number>()
    for (let k = this.opts.nodes; k < this.nodes.length; k++) joinAt.set(randomInt(r, this.opts.steps), k)
    for (let step = 0; step < this.opts.steps; step++) {
      this.boundCut()
      const join = joinAt.get(step)
      if (join !== undefined) {
        this.faults.joins++
        this.boot(join, false)
      }
      const live = this.alive()
      const x = r()
      const i = live[randomInt(r, live.length)]
      if (this.hostile !== null && r() < 0.35) {
        const target = live[randomInt(r, live.length)]
        for (const line of this.hostile.burst(this.now * 1000, OFFSET_US)) this.enqueue(H, target, this.epoch.get(this.pair(H, target)) ?? 0, line)
        this.faults.hostile++
      }
      if (x < 0.3) this.write(i, r() < 0.2)
      else if (x < 0.85) {
        const j = this.hostile !== null && r() < 0.1 ? H : live[randomInt(r, live.length)]
        if (j !== i) this.sessions.get(`${i}>${j}`)?.start()
      } else if (x < 0.89 && live.length > 2) this.crash(i, r() < 0.3)
      else if (x < 0.93) {
        const dead = this.nodes.filter((n) => !n.alive && n.joined)
        if (dead.length) this.boot(dead[randomInt(r, dead.length)].index, true)
      } else if (x < 0.96) this.split()
      else if (x < 0.98) this.heal()
      for (const n of this.nodes) if (n.alive) n.replica.collect(this.now, this.opts.graceMs)
      this.run(this.now + 2 + r() * (STEP_MS - 2))
    }
    // Heal: every node up, one network, no more faults; then settle.
    this.faultsOn = false
    for (const n of this.nodes) if (!n.alive) this.boot(n.index, true)
    this.heal()
    // The hostile member hands every genuine record it kept to everyone, then says nothing more.
    if (this.hostile !== null) for (const n of this.nodes) for (const line of this.hostile.dump()) this.enqueue(H, n.index, this.epoch.get(this.pair(H, n.index)) ?? 0, line)
    let settled = false
    for (let round = 0; round < 200 && !settled; round++) {
      for (const n of this.nodes) n.replica.collect(this.now, this.opts.graceMs)
      for (const a of this.alive()) {
        const others = this.alive().filter((b) => b !== a)
        this.sessions.get(`${a}>${others[randomInt(r, others.length)]}`)?.start()
      }
      this.run(this.now + 50)
      settled = this.converged()
    }
    const problems = [...this.violations]
    if (!settled) problems.push(`did not converge to the oracle: ${this.diff()}`)
    return { seed: this.opts.seed, ok: problems.length === 0, problems, faults: this.faults, writes: this.writes.length, messages: this.messages, collected: this.collected }
  }

  private split(): void {
    this.faults.partitions++
    for (const n of this.nodes) this.group.set(n.index, randomInt(this.random, 2))
    this.relink()
    this.cutEnds()
  }

  private heal(): void {
    this.group.clear()
    this.relink()
    this.cutEnds()
  }

  private relink(): void {
    for (let i = 0; i < this.nodes.length; i++) {
      for (let j = i + 1; j < this.nodes.length; j++) {
        const connected = this.sessions.has(`${i}>${j}`)
        if (connected && !this.up(i, j)) this.disconnect(i, j)
        else if (!connected && this.up(i, j)) this.reconnect(i, j)
      }
    }
  }

  /**
   * Every node's live records of honest keys are the oracle's live winners,
   * it holds no other tombstone, and all nodes hold the same records of the
   * hostile member's keys.
   */
  converged(): boolean {
    return this.diff() === ''
  }

  private diff(): string {
    let hostileKeys: string | null = null
    for (const n of this.nodes) {
      if (!n.alive) return `${n.id} is down`
      let live = 0
      const theirs: string[] = []
      for (const rec of n.replica.records()) {
        if (rec.key.startsWith('x')) {
          theirs.push(`${rec.key}=${rec.source_id}@${rec.version}`)
          continue
        }
        const g = this.winners.get(rec.key)
        if (g === undefined || sort(g, rec) !== 0) return `${n.id} holds ${rec.key}=${JSON.stringify(rec.value)} (${rec.source_id}/${rec.gen}@${rec.version}), oracle ${g ? `${g.source_id}/${g.gen}@${g.version}` : 'none'}`
        if (rec.deleted !== true) live++
      }
      let want = 0
      for (const g of this.winners.values()) if (g.deleted !== true) want++
      if (live !== want) return `${n.id} holds ${live} live keys, oracle ${want}`
      const mine = theirs.sort().join(',')
      if (hostileKeys === null) hostileKeys = mine
      else if (hostileKeys !== mine) return `${n.id} holds the hostile member's keys as ${mine}, ${this.nodes[0].id} as ${hostileKeys}`
    }
    return ''
  }
}


/**
 * The longest cut of a gc schedule, ms: no two live nodes go without a
 * message for longer than `maxCutMs` (the cluster is then made whole), plus
 * a step (it is made whole at the next step), plus a delivery (1 ms and
 * `maxDelay`). Crashed nodes, partitions and the combinations of the two
 * all end there; a late joiner holds nothing until it joins.
 */
export function longestCutMs(maxCutMs: number, maxDelay: number): number {
  return maxCutMs + STEP_MS + 1 + maxDelay
}

/** The grace period of a gc schedule: twice its longest cut (README "Deletes": keep it far longer than any partition). */
export function gcGrace(maxCutMs: number, maxDelay: number): number {
  return Math.ceil(2 * longestCutMs(maxCutMs, maxDelay))
}

export function defaultFaultOptions(seed: number): FaultOptions {
  const r = seededRandom(seed ^ 0x5eed)
  const lossy = r() < 0.5
  const o: FaultOptions = {
    seed,
    nodes: 3 + randomInt(r, 4),
    lateJoiners: randomInt(r, 3),
    steps: 60 + randomInt(r, 80),
    lossy,
    loss: lossy ? 0.05 + r() * 0.15 : 0,
    dup: lossy ? r() * 0.1 : 0,
    maxDelay: r() * 6,
    mtu: 1 + randomInt(r, 12),
    graceMs: NO_GC_GRACE_MS,
    maxCutMs: null,
    hostile: (['none', 'none', 'plain', 'signed'] as const)[randomInt(r, 4)],
  }
  // Drawn last, so the schedules without gc are those of before.
  if (r() < 0.5) {
    o.maxCutMs = 10 + randomInt(r, 90)
    o.graceMs = gcGrace(o.maxCutMs, o.maxDelay)
  }
  return o
}

/** The schedule of `seed` without gc, as every seed's ran before gc schedules (regressions named then replay it). */
export function withoutGc(seed: number): FaultOptions {
  return { ...defaultFaultOptions(seed), graceMs: NO_GC_GRACE_MS, maxCutMs: null }
}

export function runSchedule(seed: number, opts: FaultOptions = defaultFaultOptions(seed)): FaultReport {
  return new FaultSim(opts).play()
}
