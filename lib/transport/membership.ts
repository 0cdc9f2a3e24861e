/**
 * Cluster membership on a `Network`: the node joins through seed addresses,
 * learns the other members by gossip, keeps a bounded view of outbound
 * links, runs the failure detector every round and reports members joining,
 * going down, coming back and leaving. The decisions are the pure code's
 * (lib/membership/); this file does the I/O: timers, dialling, DNS, and
 * the membership lines on each connection (see line-split.ts). Member
 * addresses come from peers: they are dialled by their normalised key
 * (member-address.ts), under the backoff, one-per-address and rate rules
 * of dial-backoff.ts.
 */
import { promises as dns } from 'node:dns'
import { isIP } from 'node:net'
import { processWarning, shown, warnUnknownKeys } from '../config.ts'
import { DEFAULT_MAX_LINE_LENGTH } from '../codec/line-reader.ts'
import type { JsonValue } from '../core/types.ts'
import { defaultPrior, detectorOptions, stallOf } from '../membership/detector.ts'
import { lineBudget, MemberLink, readMessage, RECS_FRAME, type MemberMessage } from '../membership/exchange.ts'
import { barred, DialGate, dialLimits, DIAL_LIMITS, type Addressed, type DialLimits } from '../membership/dial-backoff.ts'
import { maxRecordBytes, readRecord, signedForm } from '../membership/record.ts'
import { MemberTable } from '../membership/table.ts'
import { MEMBER_LIMITS, type DetectorOptions, type Member, type MemberLimits, type MemberRecord } from '../membership/types.ts'
import { planView, VIEW_DEFAULTS, type ViewOptions } from '../membership/view.ts'
import { shuffle } from '../core/random.ts'
import type { Connection, SideChannel, SideLink } from './connection.ts'
import { LineSplitter } from './line-split.ts'
import type { Opener } from './link.ts'
import type { Network, NetworkMembership } from './network.ts'
import { MemberChannel } from './member-channel.ts'
import { openTcp } from './dial.ts'
import { addressKey, joinHostPort, splitHostPort } from './member-address.ts'
import { MemberDialer } from './member-dial.ts'
import { tlsOpener, type TlsOptions } from './tls.ts'
import { parseHostPort } from './host-port.ts'
import { escapeUnsafe } from './safe-text.ts'

export interface MembershipOptions {
  /** Where other nodes dial this one, "host:port" (the listener's address as others reach it). */
  advertise: string
  /** Seed addresses, "host:port"; host names are resolved again every `resolveEvery`. */
  seeds?: string[]
  /** Application metadata published with this node's record (a small JSON object). */
  metadata?: { [key: string]: JsonValue }
  /** Outbound links kept (the view). Default 6. */
  view?: number
  /** Swap one outbound link for a random live member every this many rounds. Default 10. */
  refreshEvery?: number
  /** Members exchanged with per round. Default 2. */
  fanout?: number
  /** Phi accrual settings (threshold 8, suspect 5, window 1,000, prior 3 rounds and at least 1 s, weight 5, maxInterval 10 s). */
  detector?: Partial<DetectorOptions>
  /** Dead and left members are kept this long (ms), then collected and refused from then on. Default 1 hour. */
  grace?: number
  /** Dial members over TLS, as the listener is (the same options as `listen`). Default plain TCP. */
  tls?: TlsOptions
  /** How to open links (overrides `tls`; for tests and other transports). */
  opener?: Opener
  /** Resolve a seed host name to addresses. Default: the system resolver (every address). */
  resolve?: (host: string) => Promise<string[]>
  /** Seed host names are resolved again this often, ms. Default 60,000. */
  resolveEvery?: number
  /** This life's generation. Default: the wall clock (ms) at `join`. */
  generation?: number
  /** Bounds on what peers may send about members. */
  limits?: Partial<MemberLimits>
  /**
   * How member addresses are dialled: backoff per address after a failed
   * dial (`initial` 1 s doubling to `max` 5 min), at most `perRound` new
   * member dials a round (1) and `burst` at once (the view's size); see
   * dial-backoff.ts.
   */
  dial?: Partial<DialLimits>
}

/** Traffic of the membership layer, over all connections. */
export interface MembershipStats {
  rounds: number
  messagesIn: number
  messagesOut: number
  /** Lines not written because the peer was not reading (they would leave more than 1 MiB waiting unread; see `MemberChannel.send`). */
  messagesDropped: number
  bytesIn: number
  bytesOut: number
  dials: number
  dialFailures: number
  /** Member addresses passed over in a round because a failed dial holds them back (one per address a round). */
  dialsBackedOff: number
  /** Member dials a round wanted beyond the dial rate (not made). */
  dialsRateLimited: number
  /** Member ids passed over in a round because their address is another's (linked, dialled, picked, or this node's). */
  dialsSameAddress: number
  /** Dials whose hello showed another node than the member record's (counted as failures for the backoff). */
  dialsWrongNode: number
  /**
   * Heartbeat entries and records beyond this node's clock: a counter over
   * one a millisecond since its generation began (taken as that bound), a
   * generation ahead by more than maxClockOffset (dropped). A peer whose
   * clock runs ahead relays them in good faith: never counted against its
   * link, and the rest of the line is read (see `readBeats`).
   */
  beatsAhead: number
  recordsAhead: number
  /** Records applied and refused (stale, buried, bad signature...). */
  recordsApplied: number
  recordsRefused: number
}

const HELLO_FIELD = 'members'

async function systemResolve(host: string): Promise<string[]> {
  const found = await dns.lookup(host, { all: true })
  return found.map((a) => a.address)
}

const JOIN_KEYS = ['advertise', 'seeds', 'metadata', 'view', 'refreshEvery', 'fanout', 'detector', 'grace', 'tls', 'opener', 'resolve', 'resolveEvery', 'generation', 'limits', 'dial']

/**
 * Join the cluster: publish this node's membership record, dial the seeds,
 * learn the members by gossip, keep a bounded view of outbound links and
 * run the failure detector; the network then emits `join`, `up`, `down`
 * and `leave` `(member, reason)`, lists members with `network.members()`,
 * and leaves gracefully on `close()`. Call it once, right after `listen`
 * (links opened before it carry no membership).
 */
export function join(network: Network, opts: MembershipOptions): Membership {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`join: options must be { advertise, seeds }, got ${shown(opts)}`)
  warnUnknownKeys(opts, JOIN_KEYS, (key) => `join option ${key} is not an option of join`)
  if (typeof opts.advertise !== 'string') throw new TypeError(`join: advertise must be "host:port", where other nodes dial this one, got ${shown(opts.advertise)}`)
  if (opts.seeds !== undefined && !(Array.isArray(opts.seeds) && opts.seeds.every((s) => typeof s === 'string'))) throw new TypeError(`join: seeds must be an array of "host:port" strings, got ${shown(opts.seeds)}`)
  // Checked before anything changes: a malformed seed leaves the network able to join.
  for (const seed of opts.seeds ?? []) {
    const hp = parseHostPort(seed)
    if (typeof hp === 'string') throw new RangeError(`join: seed ${JSON.stringify(seed)} ${hp}`)
  }
  const m = new Membership(network, opts)
  network.attachMembership(m)
  if (network.wire === 2) warnWireOnce()
  m.start()
  return m
}

let warnedWire = false

/**
 * Membership lines share each link's byte stream with the replica's lines
 * (line-split.ts), so a network that joined offers wire 1 in every hello:
 * its `wire: 2` is not used. Said once per process, where it is asked for.
 */
function warnWireOnce(): void {
  if (warnedWire) return
  warnedWire = true
  processWarning(
    'simple-scuttle: join() on a Network of wire: 2: links that carry cluster membership speak ndjson (wire 1), since membership lines share the byte stream with the replica\'s; every link this network opens from now on offers wire 1 in its hello, and its wire: 2 has no effect (this warning is shown once).',
    'MembershipWireWarning',
  )
}

/**
 * The membership service of one network (built by `join`). Emits through
 * the network: `join`, `up`, `down`, `leave` `(member, reason)`.
 */
export class Membership implements SideChannel, NetworkMembership {
  readonly table: MemberTable
  readonly view: ViewOptions
  readonly fanout: number
  readonly limits: MemberLimits
  readonly stats: MembershipStats = {
    rounds: 0, messagesIn: 0, messagesOut: 0, messagesDropped: 0, bytesIn: 0, bytesOut: 0, dials: 0, dialFailures: 0,
    dialsBackedOff: 0, dialsRateLimited: 0, dialsSameAddress: 0, dialsWrongNode: 0, beatsAhead: 0, recordsAhead: 0, recordsApplied: 0, recordsRefused: 0,
  }
  /** The dial backoff per address and the dial rate (driven here; read it to see what is held back). */
  readonly gate: DialGate
  private readonly dialer: MemberDialer
  private readonly channels = new Set<MemberChannel>()
  private readonly seedSpecs: { host: string; port: number }[]
  private seedAddresses: string[] = []
  private readonly resolveHost: (host: string) => Promise<string[]>
  private timer: unknown = null
  private resolver: unknown = null
  private stopped = false
  private left = false
  private readonly interval: number
  /** When the last round ran (timers' clock), NaN before the first. */
  private lastRound = Number.NaN
  /** The longest membership line read, bytes; lines sent are cut to `lineBudget` of it (peers read with the same). */
  private readonly maxLine: number

  constructor(
    readonly network: Network,
    readonly opts: MembershipOptions,
  ) {
    const gossip = network.gossip
    this.interval = network.scheduler.interval
    this.limits = Object.freeze({ ...MEMBER_LIMITS, maxIdLength: gossip.config.limits.maxIdLength, maxClockOffset: gossip.config.maxClockOffset, ...opts.limits })
    this.view = { size: opts.view ?? VIEW_DEFAULTS.size, refreshEvery: opts.refreshEvery ?? VIEW_DEFAULTS.refreshEvery }
    this.fanout = opts.fanout ?? 2
    for (const [k, v] of Object.entries({ view: this.view.size, refreshEvery: this.view.refreshEvery, fanout: this.fanout })) {
      if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`membership ${k} must be a positive integer, got ${shown(v)}`)
    }
    const grace = opts.grace ?? 3_600_000
    if (!(grace > 0)) throw new RangeError(`membership grace must be a positive number of ms, got ${shown(grace)}`)
    this.maxLine = network.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH
    // The largest record the limits admit fits one line: no record, ours or a peer's, is ever cut off.
    const most = RECS_FRAME + maxRecordBytes(this.limits)
    if (most > lineBudget(this.maxLine)) throw new RangeError(`membership limits admit a record of ${most} bytes as a line, over ${lineBudget(this.maxLine)} (the line budget of maxLineLength ${this.maxLine}): lower limits.maxMetaLength or raise maxLineLength`)
    const gen = opts.generation ?? Math.floor(gossip.config.now())
    const own = readRecord({ id: gossip.id, gen, v: 1, addr: opts.advertise, st: 'up', ...(opts.metadata === undefined ? {} : { meta: opts.metadata }) }, this.limits, gen)
    if (typeof own === 'string') throw new RangeError(`this node's membership record would be refused by its peers: ${own}`)
    const sign = gossip.config.sign
    const verify = gossip.config.verify
    this.table = new MemberTable(
      { id: own.id, gen, addr: own.addr, ...(own.meta === undefined ? {} : { meta: own.meta }) },
      {
        detector: detectorOptions(defaultPrior(this.interval), opts.detector),
        limits: this.limits,
        grace,
        buryFor: grace,
        ...(sign === undefined ? {} : { sign: (r: MemberRecord) => sign(signedForm(r)) }),
        ...(verify === undefined ? {} : { verify: (r: MemberRecord) => verify(signedForm(r)) }),
      },
      network.timers.now(),
    )
    // A new generation (a forged record of this life it cannot answer within it): every peer linked gets it at once.
    this.table.onRenew = (rec) => {
      for (const ch of this.channels) void ch.push(rec)
    }
    this.table.onEvent = (kind, member, reason) => {
      try {
        network.emit(kind, member, reason)
      } catch (err) {
        network.emit('log', escapeUnsafe(`a ${kind} listener threw: ${err instanceof Error ? err.message : String(err)}`))
      }
    }
    this.gate = new DialGate(dialLimits(opts.dial, { ...DIAL_LIMITS, burst: this.view.size }), this.interval, network.timers.now())
    this.seedSpecs = (opts.seeds ?? []).map(splitHostPort)
    this.seedAddresses = this.seedSpecs.map((s) => addressKey(joinHostPort(s.host, s.port)))
    const opener = opts.opener ?? (opts.tls === undefined ? openTcp : tlsOpener(network, opts.tls))
    this.dialer = new MemberDialer(network, this.table, this.gate, this.stats, opener, Math.max(1000, Math.min(5000, 10 * this.interval)), 2 * this.limits.maxMembers)
    this.resolveHost = opts.resolve ?? systemResolve
    this.dialer.selfAddresses.add(addressKey(opts.advertise), true)
  }

  /** Start the rounds (the first one at once: the seeds are dialled now). */
  start(): void {
    this.resolveSeeds()
    this.round()
  }

  /** Stop rounds and timers (connections are the network's). */
  stop(): void {
    this.stopped = true
    if (this.timer !== null) this.network.timers.clearTimeout(this.timer)
    if (this.resolver !== null) this.network.timers.clearTimeout(this.resolver)
    this.timer = null
    this.resolver = null
  }

  /**
   * Leave gracefully: this node's record says it left and goes to every
   * peer at once; resolves when every peer has read it (a peer closes the
   * link once it has: closing first could reset the connection and lose
   * the record in the peer's receive buffer), at most `waitMs`.
   */
  async leave(waitMs = 1000): Promise<void> {
    if (this.left) return
    this.left = true
    const rec = this.table.leave()
    const sent = [...this.channels].map((ch) => (ch.conn.isClosed ? Promise.resolve() : new Promise<void>((read) => {
      ch.conn.whenClosed(() => read())
      void ch.push(rec)
    })))
    let timer: unknown = null
    await Promise.race([Promise.all(sent), new Promise<void>((r) => (timer = this.network.timers.setTimeout(r, waitMs)))])
    if (timer !== null) this.network.timers.clearTimeout(timer)
  }

  members(): Member[] {
    return this.table.members(this.network.timers.now())
  }

  // ---- SideChannel: one MemberChannel per connection whose peer speaks membership ----

  helloFields(): Record<string, unknown> {
    return { [HELLO_FIELD]: 1 }
  }

  open(conn: Connection, peerHello: Record<string, unknown>): SideLink | null {
    if (peerHello[HELLO_FIELD] !== 1 || this.stopped) return null
    const link = new MemberLink(this.table, conn.id, { maxBeatEntries: this.limits.maxBeatEntries, maxRecords: this.limits.maxRecords, maxLineBytes: lineBudget(this.maxLine), minReplyGap: this.interval / 2, firstRecords: () => conn.serve() })
    const ch = new MemberChannel(this, conn, link)
    // Bytes from the peer are a sign of its life (table.ts, heardFrom) where its hello's id is taken as its own: not in a signed cluster, where nothing proves it.
    const net = this.network
    const heard = net.gossip.config.verify === undefined ? () => this.table.heardFrom(conn.id, net.timers.now()) : undefined
    const splitter = new LineSplitter(
      (line) => ch.receiveLine(line),
      (reason) => conn.reportInvalid(reason),
      this.maxLine,
      heard,
    )
    ch.splitter = splitter
    this.channels.add(ch)
    conn.whenClosed(() => this.channels.delete(ch))
    if (this.left) void ch.push(this.table.selfRecord)
    else ch.send(link.start())
    return ch
  }

  /** Called by channels: a message that was read and validated. */
  read(msg: unknown): MemberMessage | string {
    return readMessage(msg, this.limits, this.network.gossip.config.now(), this.countAhead)
  }

  private readonly countAhead = (what: 'beat' | 'record') => void (what === 'beat' ? this.stats.beatsAhead++ : this.stats.recordsAhead++)

  /** Ids of the members reached by an open membership link. */
  get linked(): Set<string> {
    const ids = new Set<string>()
    for (const ch of this.channels) if (!ch.conn.isClosed) ids.add(ch.conn.id)
    return ids
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = this.network.timers.setTimeout(() => {
      this.timer = null
      this.round()
    }, this.interval)
  }

  /**
   * One round: heartbeat, detector, view, beats. A round that comes long
   * after the last (this process was paused, or its event loop held) runs
   * before the input that waited meanwhile is read: the detector
   * overlooks that stall (`stallOf`), so the heartbeats peers sent during
   * it are read before any peer is judged silent over it.
   */
  round(): void {
    if (this.stopped || this.network.isClosing) return
    const now = this.network.timers.now()
    const t = this.table
    this.stats.rounds++
    const gap = now - this.lastRound
    const stalled = stallOf(gap, this.interval)
    this.lastRound = now
    if (stalled > 0) this.network.rateLog.line('member stall', `membership: a round ${(gap / 1000).toFixed(1)} s after the last (this node stalled): ${(stalled / 1000).toFixed(1)} s of it not counted as its members' silence`)
    if (!this.left) t.beat()
    t.tick(now, stalled)
    const open = [...this.channels].filter((ch) => !ch.conn.isClosed && ch.conn.stream !== null)
    if (!this.left) this.reshape(open)
    for (const ch of shuffle(open, this.network.random).slice(0, this.fanout)) ch.send(ch.link.start())
    this.schedule()
  }

  /** Plan the view and carry it out: dial and drop. */
  private reshape(open: MemberChannel[]): void {
    const now = this.network.timers.now()
    const live: Addressed[] = []
    const dead: Addressed[] = []
    const gone = new Set<string>()
    const seedSet = new Set(this.seedAddresses)
    const seedMembers = new Set<string>()
    for (const e of this.table.all()) {
      const r = e.record
      if (r.id === this.table.selfId) continue
      const m = { id: r.id, addr: this.dialer.keyOf(r.addr) }
      if (seedSet.has(m.addr)) seedMembers.add(r.id)
      if (e.state === 'alive' || e.state === 'suspect') live.push(m)
      else {
        gone.add(r.id)
        if (e.state === 'dead') dead.push(m)
      }
    }
    // Addresses taken: this node's, those dialled now, and those of the nodes linked.
    const { dialing, selfAddresses } = this.dialer
    const taken = new Map<string, string | null>(dialing)
    for (const k of selfAddresses) taken.set(k, null)
    const connected = new Set<string>()
    for (const c of this.network.peers) {
      connected.add(c.id)
      const rec = this.table.get(c.id)?.record
      if (rec !== undefined) taken.set(this.dialer.keyOf(rec.addr), c.id)
      if (c.direction === 'out') taken.set(this.dialer.keyOf(c.address), c.id)
    }
    const outbound: string[] = []
    const seedIds = new Set<string>()
    for (const ch of open) {
      const c = ch.conn
      if (c.direction === 'out') outbound.push(c.id)
      if (seedMembers.has(c.id) || (c.direction === 'out' && seedSet.has(this.dialer.keyOf(c.address)))) seedIds.add(c.id)
    }
    const bar = barred([...live, ...dead], connected, taken, this.gate, now)
    this.stats.dialsBackedOff += bar.held
    this.stats.dialsSameAddress += bar.shared
    const plan = planView(
      {
        live,
        dead,
        seeds: this.seedAddresses.filter((a) => !selfAddresses.has(a)),
        connected,
        outbound,
        gone,
        seedLinked: seedIds.size > 0,
        seedIds,
        dialing: new Set(dialing.keys()),
        round: this.stats.rounds,
        barred: bar.ids,
        budget: this.gate.budget(now),
      },
      this.view,
      this.network.random,
    )
    for (const d of plan.drop) {
      for (const ch of open) if (ch.conn.id === d.id && ch.conn.direction === 'out') ch.conn.close(`view: ${d.why}`)
    }
    let members = 0
    for (const d of plan.dial) if (this.dialer.dial(d.addr, d.id ?? null) && d.id !== undefined) members++
    this.gate.spend(members, now)
    if (plan.deferred > 0) {
      this.stats.dialsRateLimited += plan.deferred
      const { perRound, burst } = this.gate.limits
      this.network.rateLog.line('member dial rate', `member dials held back by the dial rate (${perRound} a round, ${burst} at once): ${plan.deferred} this round; ${bar.held} addresses in backoff; ${bar.shared} member ids at an address taken`)
    }
  }

  /** Resolve seed host names now, and again every `resolveEvery`. */
  private resolveSeeds(): void {
    if (this.stopped) return
    const named = this.seedSpecs.filter((s) => isIP(s.host) === 0)
    if (named.length > 0) {
      Promise.all(
        this.seedSpecs.map(async (s) => {
          if (isIP(s.host) !== 0) return [joinHostPort(s.host, s.port)]
          try {
            const found = await this.resolveHost(s.host)
            return found.length > 0 ? found.map((a) => joinHostPort(a, s.port)) : [joinHostPort(s.host, s.port)]
          } catch (err) {
            this.network.rateLog.line(`seed ${s.host}`, `seed ${s.host}: cannot resolve (${err instanceof Error ? err.message : String(err)})`)
            return [joinHostPort(s.host, s.port)]
          }
        }),
      ).then((lists) => {
        if (!this.stopped) this.seedAddresses = [...new Set(lists.flat().map(addressKey))]
      })
      this.resolver = this.network.timers.setTimeout(() => {
        this.resolver = null
        this.resolveSeeds()
      }, this.opts.resolveEvery ?? 60_000)
    }
  }

  /** Seed addresses as last resolved. */
  get seeds(): readonly string[] {
    return this.seedAddresses
  }
}
