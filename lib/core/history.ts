import { EventEmitter } from 'eventemitter3'
import type { Rec, SortFn } from './types.ts'
import { firstAbove, sourceKey } from './types.ts'

export interface HistoryEvents {
  /** Every applied update, in the order it was applied. */
  update: [update: Rec]
  /** `memory` is over `max_history`; emitted before the oldest entries are dropped. */
  compaction: [memory: Rec[], history: History]
}

/**
 * The bounded, sorted record of recent updates.
 *
 * Invariants:
 * - `memory` is sorted by `sort` and holds at most `max` entries after each write.
 * - `bySource` holds exactly the entries of `memory`, per source, ascending by
 *   version, so `news` answers without scanning memory. A caller may change
 *   `memory` (a 'compaction' listener compacting it itself, or anyone at
 *   any time): a change of length is seen at the next write or `news`, and
 *   an entry replaced in place when it is dropped; either rebuilds the index.
 * - Listeners hear of updates in the order they were applied: an update
 *   applied by a listener's own write waits until every listener has
 *   heard of the one before.
 * - A `sort` that throws leaves memory unchanged (`place` runs it before any
 *   change); a listener that throws does not stop the other listeners or the
 *   write: its error goes to `onListenerError`.
 *
 * History is for observers (persistence, replay of recent changes); the
 * protocol answers peers from state, never from here, because history forgets.
 */
export class History extends EventEmitter<HistoryEvents> {
  readonly memory: Rec[] = []
  private readonly bySource = new Map<string, Rec[]>()
  /** The list of the source last looked up (writes come in runs from one source), or null. */
  private lastList: Rec[] | null = null
  private lastId = ''
  private lastGen: string | undefined = undefined
  /** Listeners of 'update' and of 'compaction', kept by the methods that add and remove them. */
  private updateListeners = 0
  private compactionListeners = 0
  /** `memory.length` as the last write left it: a different length shows a change made from outside. */
  private expected = 0
  /** Updates applied while listeners were hearing of another, waiting their turn (see `deliver`). */
  private readonly waiting: Rec[] = []
  private delivering = false
  /** Functions added with `once` and not yet called or removed, per event. */
  private readonly onceFns = new Map<keyof HistoryEvents, Set<unknown>>()
  /** Where an error thrown by an event listener goes (the write itself goes on). */
  onListenerError: ((err: unknown, event: keyof HistoryEvents) => void) | null = null

  constructor(
    readonly max: number,
    readonly sort: SortFn,
  ) {
    super()
    if (typeof sort !== 'function') throw new TypeError(`new History(max, sort): sort must be a function (a, b) => number, got ${typeof sort}`)
    if (!(max >= 0)) throw new RangeError(`new History(max, sort): max must be a number of entries, got ${String(max)}`)
  }

  /**
   * Record an update, emit `update`, then compact past `max`. Takes the
   * update object, or its fields in the seed's order
   * `(key, value, source_id, version)`. Only the history changes: state and
   * peers never learn of what is written here.
   */
  write(update: Rec): Rec
  write(key: string, value: Rec['value'], source_id: string, version: number): Rec
  write(update: Rec | string, value?: Rec['value'], source_id?: string, version?: number): Rec {
    const rec = typeof update === 'object' && update !== null ? update : ({ key: update, value: value ?? null, source_id, version } as Rec)
    if (typeof rec.key !== 'string' || typeof rec.source_id !== 'string' || typeof rec.version !== 'number') {
      throw new TypeError('history.write: an update {key, value, source_id, version} (key and source_id strings, version a number), or those four arguments')
    }
    return this.commit(rec, this.place(rec))
  }

  /**
   * Where `update` goes in `memory` (calls `sort`, which may throw; nothing
   * changes here). Pass the result to `commit` before any other write.
   */
  place(update: Rec): number {
    const memory = this.memory
    const n = memory.length
    // A comparison that is not a number above 0 (NaN included) counts as 0, as in Array.prototype.sort.
    if (n === 0 || !(this.sort(memory[n - 1], update) > 0)) return n
    return this.upperBound(update)
  }

  /** Insert `update` at `pos` (from `place`), emit `update`, compact. */
  commit(update: Rec, pos: number): Rec {
    const memory = this.memory
    if (memory.length !== this.expected) this.reindex()
    if (pos === memory.length) memory.push(update)
    else memory.splice(pos, 0, update)
    insertByVersion(this.perSource(update), update)
    this.expected = memory.length

    this.deliver(update)

    if (memory.length > this.max) {
      if (this.compactionListeners > 0) {
        const before = memory.length
        this.safeEmit('compaction', memory, this)
        // A listener may have compacted memory itself: resynchronise the index.
        if (memory.length !== before) this.reindex()
      }
      const excess = memory.length - this.max
      if (excess > 0) {
        const dropped = excess === 1 ? [memory.shift()!] : memory.splice(0, excess)
        let lost = false
        for (const d of dropped) if (!this.unindex(d)) lost = true
        // An entry not in the index was put in memory from outside: the index is stale.
        if (lost) this.reindex()
      }
      this.expected = memory.length
    }
    return update
  }

  /**
   * Updates from `source_id` with version above `version`, ascending: of
   * generation `gen` when given; without it, of the source without a
   * generation when memory holds any, else of the node id under any of its
   * generations (as `Clock.get`).
   */
  news(source_id: string, version: number, gen?: string): Rec[] {
    if (this.memory.length !== this.expected) this.reindex()
    if (gen === undefined && !this.bySource.has(source_id)) {
      const out: Rec[] = []
      for (const u of this.memory) if (u.source_id === source_id && u.version > version) out.push(u)
      return out.sort((x, y) => x.version - y.version)
    }
    const list = this.bySource.get(sourceKey(source_id, gen))
    return list === undefined ? [] : list.slice(firstAbove(list, version))
  }

  /** Rebuild the per-source index from `memory` (after outside changes to it). */
  reindex(): void {
    this.bySource.clear()
    this.lastList = null
    for (const u of this.memory) insertByVersion(this.perSource(u), u)
    this.expected = this.memory.length
  }

  /** Emit `update`, or, while listeners are hearing of another, queue it behind that one. */
  private deliver(update: Rec): void {
    if (this.updateListeners === 0) return
    if (this.delivering) {
      this.waiting.push(update)
      return
    }
    this.delivering = true
    try {
      this.safeEmit('update', update)
      for (let i = 0; i < this.waiting.length; i++) this.safeEmit('update', this.waiting[i])
    } finally {
      this.waiting.length = 0
      this.delivering = false
    }
  }

  get length(): number {
    return this.memory.length
  }

  /** Call each listener of `event`; one that throws is reported and the others still run. */
  private safeEmit<K extends keyof HistoryEvents>(event: K, ...args: HistoryEvents[K]): void {
    if ((event === 'update' ? this.updateListeners : this.compactionListeners) === 0) return
    const report = this.onListenerError
    if (report === null) {
      ;(this.emit as (e: K, ...a: HistoryEvents[K]) => boolean)(event, ...args)
      return
    }
    const once = this.onceFns.get(event)
    for (const { fn, context } of registered(this, event)) {
      // A once listener is removed before it runs, as `emit` does.
      if (once !== undefined && once.delete(fn)) super.removeListener(event, fn as never, context, true)
      try {
        fn.apply(context ?? this, args)
      } catch (err) {
        report(err, event)
      }
    }
  }

  private perSource(u: Rec): Rec[] {
    let list = this.perSourceIfAny(u)
    if (list === undefined) this.bySource.set(sourceKey(u.source_id, u.gen), (list = []))
    this.lastList = list
    this.lastId = u.source_id
    this.lastGen = u.gen
    return list
  }

  /** Take `u` out of the index; false when it was not there. */
  private unindex(u: Rec): boolean {
    const list = this.perSourceIfAny(u)
    if (list === undefined) return false
    const i = list[0] === u ? 0 : list.indexOf(u)
    if (i < 0) return false
    if (i === 0) list.shift()
    else list.splice(i, 1)
    if (list.length === 0) {
      this.bySource.delete(sourceKey(u.source_id, u.gen))
      if (this.lastList === list) this.lastList = null
    }
    return true
  }

  private perSourceIfAny(u: Rec): Rec[] | undefined {
    if (this.lastList !== null && u.source_id === this.lastId && u.gen === this.lastGen) return this.lastList
    return this.bySource.get(sourceKey(u.source_id, u.gen))
  }

  // Listener bookkeeping: the counts above follow every way a listener is added or removed.
  override on<T extends keyof HistoryEvents>(event: T, fn: (...args: HistoryEvents[T]) => void, context?: unknown): this {
    super.on(event, fn, context)
    return this.recount()
  }

  override addListener<T extends keyof HistoryEvents>(event: T, fn: (...args: HistoryEvents[T]) => void, context?: unknown): this {
    super.addListener(event, fn, context)
    return this.recount()
  }

  override once<T extends keyof HistoryEvents>(event: T, fn: (...args: HistoryEvents[T]) => void, context?: unknown): this {
    // Fired by `emit`, a once listener removes itself through removeListener, which recounts.
    super.once(event, fn, context)
    let set = this.onceFns.get(event)
    if (set === undefined) this.onceFns.set(event, (set = new Set()))
    set.add(fn)
    return this.recount()
  }

  override removeListener<T extends keyof HistoryEvents>(event: T, fn?: (...args: HistoryEvents[T]) => void, context?: unknown, once?: boolean): this {
    super.removeListener(event, fn, context, once)
    return this.recount()
  }

  override off<T extends keyof HistoryEvents>(event: T, fn?: (...args: HistoryEvents[T]) => void, context?: unknown, once?: boolean): this {
    super.off(event, fn, context, once)
    return this.recount()
  }

  override removeAllListeners(event?: keyof HistoryEvents): this {
    super.removeAllListeners(event)
    return this.recount()
  }

  private recount(): this {
    this.updateListeners = this.listenerCount('update')
    this.compactionListeners = this.listenerCount('compaction')
    for (const [event, set] of this.onceFns) {
      if (set.size === 0) continue
      const live = this.listeners(event) as unknown[]
      for (const fn of set) if (!live.includes(fn)) set.delete(fn)
    }
    return this
  }

  private upperBound(u: Rec): number {
    const memory = this.memory
    let lo = 0
    let hi = memory.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (!(this.sort(memory[mid], u) > 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function insertByVersion(list: Rec[], u: Rec): void {
  const n = list.length
  if (n === 0 || list[n - 1].version <= u.version) {
    list.push(u)
    return
  }
  list.splice(firstAbove(list, u.version), 0, u)
}

/** A listener as eventemitter3 keeps it: the function and the `context` it was added with. */
interface Registered {
  fn: (...a: unknown[]) => void
  context: unknown
}

/** The listeners of `event` with their contexts, in the order they were added (a copy: calling them may change the list). */
function registered(ee: object, event: string): Registered[] {
  const events = (ee as unknown as { _events: Record<string, Registered | Registered[] | undefined> })._events
  const prefix = (EventEmitter as unknown as { prefixed: string | false }).prefixed
  const at = events[prefix ? prefix + event : event]
  return at === undefined ? [] : Array.isArray(at) ? at.slice() : [at]
}
