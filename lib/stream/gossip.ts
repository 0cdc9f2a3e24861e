import type { Duplex, DuplexOptions } from 'readable-stream'
import { MAX_TIMER_MS, normalizeConfig, processWarning, type GossipConfig, type NormalizedConfig } from '../config.ts'
import type { Clock } from '../core/clock.ts'
import { NodeFlow, type QueuedWrite } from '../core/flow-node.ts'
import type { History } from '../core/history.ts'
import { Replica, type Forgotten, type Journal, type RestoreSnapshot, type SourceState } from '../core/replica.ts'
import type { SessionOptions } from '../core/session.ts'
import type { JsonInput, JsonValue, PeerLabel, Rec, ResolveHost, SortFn, Versioned } from '../core/types.ts'
import { checkNodeId, reservedKey, reservedKeyError } from '../protocol/validate.ts'
import { frozenJson } from '../core/values.ts'
import { Binding, type BindingOwner } from './binding.ts'
import { PeerDuplex, checkObjectDestination, destroyedError } from './peer-duplex.ts'
import { PeerStream } from './peer-stream.ts'
import { PeerPipes } from './peer-pipes.ts'
import { WireStream, type WireStreamOptions } from './wire-stream.ts'
import { stateView } from './state-view.ts'
import { InvalidCounts } from './invalid-counts.ts'
import type { GossipEvents, GossipStats } from './gossip-events.ts'

export type { GossipEvents, GossipStats } from './gossip-events.ts'

/**
 * A node of the cluster, and an object-mode Duplex stream to one peer.
 *
 * Pipe it to a peer (`a.pipe(b).pipe(a)`), or call `createStream()` once per
 * peer: every stream shares this node's state and history and keeps its own
 * exchange progress. Objects written to it are digests or updates from the
 * peer; objects read from it are digests and updates for the peer.
 */
export class Gossip extends PeerDuplex implements ResolveHost {
  readonly id: string
  readonly config: NormalizedConfig
  /** `state[key] -> {value, version}`; the caller's object when one was given. */
  readonly state: Record<string, any>
  readonly sort: SortFn

  private readonly replica: Replica
  private readonly sessionOpts: SessionOptions
  /** A listener error was warned about (no 'listenerError' listener): once per node. */
  private warnedListener = false
  private readonly owner: BindingOwner
  private readonly bindings = new Set<Binding>()
  private own: Binding | null = null
  private readonly pipes: PeerPipes
  private needDrain = false
  private readonly invalids = new InvalidCounts()
  /** Flow control (`config.flow`), shared by every stream of the node; null when off. */
  private readonly flow: NodeFlow | null
  private flowTimer: ReturnType<typeof setTimeout> | null = null
  /** A change of rate waits to be reported (and the queue to be woken) once the current call returns. */
  private rateDirty = false
  private lastRate: [number, number] = [NaN, NaN]

  constructor(id: string, config: GossipConfig, state?: Record<string, unknown>) {
    const cfg = normalizeConfig(config)
    // Not destroyed when its own stream ends: the node lives on, with its other streams.
    super({ objectMode: true, highWaterMark: Math.min(cfg.mtu, 65_536), autoDestroy: false } as DuplexOptions) // mtu may be Infinity; a buffer needs a bound
    checkNodeId(id, cfg.limits.maxIdLength)
    if (state !== undefined && (typeof state !== 'object' || state === null)) throw new TypeError('state, when given, must be an object')
    this.id = id
    this.config = cfg
    this.sort = cfg.sort
    this.replica = new Replica({
      id,
      gen: cfg.generation,
      resolve: cfg.resolve,
      sort: cfg.sort,
      maxHistory: cfg.max_history,
      now: cfg.versionClock,
      maxOffset: cfg.maxClockOffset * 1000,
      maxSources: cfg.limits.maxSources,
      maxValueBytes: cfg.limits.maxValueBytes,
      time: cfg.now,
      sign: cfg.sign,
      verify: cfg.verify,
      accept: cfg.accept,
      state,
    })
    this.replica.host = this
    replicas.set(this, this.replica)
    this.replica.onDrop = (rec, reason) => this.report('drop', rec, reason)
    this.replica.onListenerError = (err, event) => this.listenerFailed(err, `history.${event}`)
    this.state = state ?? stateView(this.replica)
    this.flow = cfg.flow === null ? null : new NodeFlow(cfg.flow, cfg.now)
    if (this.flow !== null) this.flow.onChange = () => this.rateChanged()
    this.sessionOpts = {
      mtu: cfg.mtu,
      order: cfg.order,
      random: cfg.random,
      limits: cfg.limits,
      maxDigestEntries: cfg.maxDigestEntries,
      lossy: cfg.lossy,
      ...(this.flow === null ? {} : { flow: this.flow }),
    }
    this.owner = {
      onInvalid: (reason, obj, stream, fault) => {
        this.invalids.count(reason)
        if (stream !== this) this.reportOn(stream, 'invalid', reason, obj, fault)
        this.report('invalid', reason, obj, stream)
      },
      onRoom: (reading) => this.maybeDrain(reading),
      onOpen: (b) => void this.bindings.add(b),
      onClose: (b) => {
        this.bindings.delete(b)
        if (!this.destroyed) this.maybeDrain(null)
      },
    }
    // A peer gone or replaced: forget the own stream's session; the next read or write starts a new one.
    this.pipes = new PeerPipes(
      this,
      () => {
        this.own?.close()
        this.own = null
      },
      (src) => src instanceof PeerDuplex && src.readableObjectMode && !(src instanceof WireStream),
      () => this.createStream(),
    )
  }

  /** Pipe the node to its peer's input (see `PeerPipes` for how reconnects and several neighbour nodes are handled). */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    checkObjectDestination(destination, 'gossip')
    if (this.pipes.routeTo(destination, options)) return destination
    this.pipes.destination(destination)
    return super.pipe(destination, options)
  }

  /** Unpipe as a Duplex does; a neighbour node on a stream of its own (either way round) has that pair taken down. */
  override unpipe(destination?: NodeJS.WritableStream): this {
    if (destination === undefined) this.pipes.dropAll()
    else if (!this.pipes.drop(destination) && destination instanceof Gossip) destination.pipes.drop(this)
    super.unpipe(destination as never)
    return this
  }

  /** Highest version seen, local or remote. */
  get version(): number {
    return this.replica.version
  }

  /** Per source, the highest version held: `clock.get(source_id) -> version` (-Infinity if none). */
  get clock(): Clock {
    return this.replica.clock
  }

  get history(): History {
    return this.replica.history
  }

  /**
   * Write `key` locally with a new version. Returns false when some peer
   * stream is full: the update will reach it by the next exchange; wait for
   * `'drain'` before writing much more. Throws on a value JSON cannot carry,
   * and once the node is destroyed (`code` 'ERR_STREAM_DESTROYED').
   * With flow control, a write beyond the allowed rate is queued (false is
   * returned; it is applied when the rate allows) or refused with a
   * `FlowError`, as `config.flow.overflow` says.
   */
  set<T>(key: string | number, value: T & JsonInput<T>): boolean {
    const k = this.checkKey(key)
    let own: JsonValue
    try {
      own = frozenJson(value as JsonValue, this.config.limits.maxValueDepth, this.config.limits.maxValueBytes)
    } catch (err) {
      const Kind = err instanceof RangeError ? RangeError : err instanceof TypeError ? TypeError : null
      throw Kind === null ? err : new Kind(`gossip.set(${JSON.stringify(k)}): ${(err as Error).message}`)
    }
    return this.local(k, own, false)
  }

  /** Delete `key`: a tombstone that replicates like any update. */
  del(key: string | number): boolean {
    return this.local(this.checkKey(key), null, true)
  }

  /** `{version, value}` for `key`, or `{version: -Infinity, value: null}` when absent. */
  get(key: string | number): Versioned {
    return this.replica.get(String(key))
  }

  /** The full record held for `key` (tombstones included), or undefined. Read-only. */
  record(key: string | number): Rec | undefined {
    return this.replica.record(String(key))
  }

  /** Keys that hold a value (not deleted), as a new array. */
  keys(): string[] {
    return Array.from(this.replica.keys())
  }

  /** Every record held, tombstones included, as a new array of read-only records. */
  records(): Rec[] {
    return Array.from(this.replica.records())
  }

  /**
   * Forget other sources' tombstones older than `config.tombstoneGrace`
   * (this node keeps its own, so that a peer which missed one of its deletes
   * can still get it). A `Network` calls this every round; call it yourself
   * when you drive exchanges by hand. Returns how many were collected.
   */
  collect(now: number = this.config.now()): number {
    return this.replica.collect(now, this.config.tombstoneGrace)
  }

  /**
   * Record every change in `journal` before it happens (stores use this:
   * see `openDurable`). A journal that throws refuses the change: a local
   * `set` throws, a remote update is refused and comes again later.
   */
  attachJournal(journal: Journal | null): void {
    this.replica.journal = journal
  }

  /** Load saved state (records, clocks, a version floor) before any stream exists. Stores call this; see `openDurable`. */
  restore(snapshot: RestoreSnapshot): void {
    if (this.bindings.size > 0) throw new Error('gossip.restore() must run before any stream is used')
    this.replica.restore(snapshot)
  }

  /** Clocks and gc floors of every known source, for saving. */
  sources(): SourceState[] {
    return this.replica.sources()
  }

  /** When each held tombstone was applied (ms of `config.now`), by key, for saving with `records()` and giving back to `restore()` as `appliedAt`. */
  tombstoneTimes(): Map<string, number> {
    return this.replica.tombstoneTimes()
  }

  /** Collected tombstones, for saving with `sources()` and giving back to `restore()` (read before state changes again). */
  forgotten(): Forgotten {
    return this.replica.forgotten()
  }

  /** Records held, tombstones included. */
  get size(): number {
    return this.replica.size
  }

  /** Start an exchange on this stream and on every stream from `createStream`. */
  gossip(): void {
    this.applyQueued()
    this.binding().exchange()
    for (const b of this.bindings) if (b !== this.own) b.exchange()
  }

  /** A new Duplex for one more peer; `peer.id` (when known) is passed to `config.accept`. Throws once the node is destroyed. */
  createStream(opts: { peer?: PeerLabel } = {}): PeerStream {
    return new PeerStream(this.replica, this.streamOpts('createStream', opts.peer), this.owner)
  }

  /**
   * A byte Duplex for one more peer that speaks ndjson itself: pipe it to a
   * socket both ways (`socket.pipe(s).pipe(socket)`), no codec needed. The
   * fastest way to connect a peer over any byte stream.
   */
  createWireStream(opts: { peer?: PeerLabel } & WireStreamOptions = {}): WireStream {
    return new WireStream(this.replica, this.streamOpts('createWireStream', opts.peer), this.owner, opts)
  }

  /** The session options of one more peer stream; a destroyed node makes none. */
  private streamOpts(call: string, peer: PeerLabel | undefined): SessionOptions {
    if (this.destroyed) throw destroyedError(call)
    return peer === undefined ? this.sessionOpts : { ...this.sessionOpts, peer }
  }

  get stats(): GossipStats {
    return {
      ...this.replica.stats,
      invalid: this.invalids.total,
      invalidByReason: this.invalids.snapshot(),
      streams: this.bindings.size,
    }
  }

  protected binding(): Binding {
    if (this.own === null) this.own = new Binding(this, this.replica, this.sessionOpts, this.owner)
    return this.own
  }

  protected override existingBinding(): Binding | null {
    return this.own
  }

  protected override closing(): void {
    if (this.flowTimer !== null) clearTimeout(this.flowTimer)
    this.flowTimer = null
    // Every stream of the node goes with it; their sessions close as they do.
    for (const b of Array.from(this.bindings)) {
      if (b === this.own) b.close()
      else b.stream.destroy()
    }
  }

  // ---- flow control ----

  /** τ: updates per second this node may write (flow control); Infinity when it is off. */
  get allowedRate(): number {
    return this.flow?.allowed ?? Infinity
  }

  /** ρ: updates per second this node would like to write; Infinity when flow control is off. */
  get desiredRate(): number {
    return this.flow?.desired ?? Infinity
  }

  set desiredRate(v: number) {
    if (this.flow === null) throw new Error('flow control is off: give config.flow ({ desired }) to set a desired rate')
    this.flow.desired = v
  }

  /** Writes waiting for the allowed rate (flow control). */
  get queued(): number {
    return this.flow?.queued ?? 0
  }

  /**
   * Apply the queued writes the allowed rate lets through now (`config.now`);
   * returns how many. Called by itself at each write, each change of rate
   * and, unless `config.flow.timer` is false, by a timer when the next one
   * is due.
   */
  applyQueued(): number {
    return this.pump(true)
  }

  /** Apply what is due; `drain`: report `'drain'` if that emptied the queue (not in the middle of a `set`). */
  private pump(drain: boolean): number {
    const flow = this.flow
    if (flow === null || flow.queued === 0 || this.destroyed) return 0 // a destroyed node applies nothing more: its queue is dropped
    const n = flow.drain(
      (w) => this.apply(w),
      (err, w) => this.report('writeError', err, w.key),
    )
    if (flow.queued > 0) this.wake()
    else if (drain) this.maybeDrain(null)
    return n
  }

  /** `'drain'` once a write returned false and every stream has room (but `reading`, which is being read) and nothing is queued. */
  private maybeDrain(reading: Binding | null): void {
    if (!this.needDrain || this.queued > 0) return
    for (const b of this.bindings) if (b !== reading && !b.room()) return
    this.needDrain = false
    this.report('drain')
  }

  /** A timer for the next queued write, unless one is set or timers are off. */
  private wake(): void {
    const flow = this.flow
    if (flow === null || !flow.settings.timer || this.flowTimer !== null || flow.queued === 0 || this.destroyed) return
    const wait = flow.wait()
    if (!Number.isFinite(wait)) return // the rate is 0: a change of rate wakes the queue
    // Not unref'd: queued writes keep the process alive until applied (or the node is destroyed), as a socket's pending writes do.
    // A wait past the longest timer (about 24.8 days; a tiny rate) wakes at that and waits again: Node would fire it at once.
    this.flowTimer = setTimeout(() => {
      this.flowTimer = null
      this.applyQueued()
    }, Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(wait))))
  }

  /**
   * τ or ρ moved (inside a session's processing): report it and wake the
   * queue once the current call has returned, so no write lands in the
   * middle of a response.
   */
  private rateChanged(): void {
    if (this.rateDirty) return
    this.rateDirty = true
    queueMicrotask(() => {
      this.rateDirty = false
      const flow = this.flow!
      const now: [number, number] = [flow.allowed, flow.desired]
      if (now[0] !== this.lastRate[0] || now[1] !== this.lastRate[1]) {
        this.lastRate = now
        this.report('rate', now[0], now[1])
      }
      if (this.flowTimer !== null) {
        clearTimeout(this.flowTimer)
        this.flowTimer = null
      }
      this.applyQueued()
    })
  }

  private checkKey(key: string | number): string {
    if (typeof key === 'number' && Number.isFinite(key)) key = String(key)
    if (typeof key !== 'string') throw new TypeError(`key must be a string, got ${typeof key}`)
    if (key.length > this.config.limits.maxKeyLength) {
      throw new RangeError(`key longer than limits.maxKeyLength (${this.config.limits.maxKeyLength})`)
    }
    if (reservedKey(key)) throw reservedKeyError()
    return key
  }

  private local(key: string, value: JsonValue, deleted: boolean): boolean {
    if (this.destroyed) throw destroyedError(deleted ? 'del' : 'set')
    const flow = this.flow
    if (flow === null) return this.apply({ key, value, deleted })
    let sent = true
    // The writes queued before this one go first (they may throw: reported, not thrown here).
    if (flow.queued > 0) this.pump(false)
    if (flow.write({ key, value, deleted }, (w) => (sent = this.apply(w)))) return sent
    this.needDrain = true
    this.wake()
    return false
  }

  private apply(w: QueuedWrite): boolean {
    const { rec, applied, sent } = this.replica.writeLocal(w.key, w.value, w.deleted)
    if (!applied) this.report('rejected', rec)
    if (!sent) this.needDrain = true
    return sent
  }

  /**
   * Emit an event of this node (or of one of its peer streams) without
   * letting a listener that throws unwind into the protocol: its error is
   * counted and reported as `listenerError`.
   */
  private report(event: string, ...args: unknown[]): void {
    this.reportOn(this, event, ...args)
  }

  private reportOn(target: Duplex, event: string, ...args: unknown[]): void {
    try {
      target.emit(event, ...args)
    } catch (err) {
      this.replica.stats.listenerErrors++
      if (event !== 'listenerError') this.listenerFailed(err, event)
    }
  }

  /** A listener of `event` threw: `listenerError` if anyone listens, else one warning per node. */
  private listenerFailed(err: unknown, event: string): void {
    if (this.listenerCount('listenerError') > 0) {
      try {
        this.emit('listenerError', err, event)
      } catch {
        // A listenerError listener that throws is not reported again.
      }
      return
    }
    if (this.warnedListener) return
    this.warnedListener = true
    processWarning(
      `simple-scuttle: a '${event}' listener of node ${JSON.stringify(this.id)} threw (${err instanceof Error ? err.message : String(err)}); the node went on. Listen to 'listenerError' to handle these (gossip.stats.listenerErrors counts them; this warning is shown once per node).`,
      'ListenerErrorWarning',
    )
  }
}

/** The pure core behind each node, for `replicaOf` (simple-scuttle/core). */
const replicas = new WeakMap<Gossip, Replica>()

/** The pure core (`Replica`) of a node: for harnesses and simulators that drive it directly. */
export function replicaOf(gossip: Gossip): Replica {
  const r = replicas.get(gossip)
  if (r === undefined) throw new TypeError('replicaOf: not a Gossip')
  return r
}

export interface Gossip {
  on<K extends keyof GossipEvents>(event: K, listener: (...args: GossipEvents[K]) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<K extends keyof GossipEvents>(event: K, listener: (...args: GossipEvents[K]) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
