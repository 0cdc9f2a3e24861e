/**
 * A node's state in the browser's IndexedDB, in the part the log store
 * plays on Node: records, clocks and a version floor are loaded into the
 * `Gossip` on open, and every change is recorded through its journal, so a
 * reloaded tab resumes where it was and asks its peers only for what is new.
 *
 * Database `simple-scuttle:<id>` (or `name`), two object stores:
 *   records  one record per key (the winning one, tombstones included), keyPath "key"
 *   meta     "header" {id, gen}; "clock" {sources, version, wall}; "closed" {gen}
 *
 * When a change is durable: changes are queued as they are applied and
 * written every `batchMs` (default 20 ms; at once past 1000 queued) in one
 * readwrite transaction, together with the clocks as they stand then, so
 * the records and the clocks on disk always match. A change is durable
 * once its transaction completes (`await store.flush()`). A tab closed
 * before that loses at most the last batch, which its peers send again.
 * A failed transaction (quota, storage cleared) puts the store in a
 * read-only state: `store.error` says why, and every change after it is
 * refused (a local `set` throws), never acknowledged without being stored.
 *
 * Generations and versions: a reopened database always continues its
 * generation (a new generation per reload would add a source, kept for
 * good, to every peer's clock each time a tab goes away without closing,
 * which is most times in a browser: peers never retire sources, at most
 * `limits.maxSources` (65,536) of them, digests grow with each, and each
 * new one makes peers resync). What must not happen is that a continued
 * life gives out again a version of its source a peer holds: the peer
 * would take the new write as one it has. A life that closed (`close()`
 * refuses every later change, then writes, in its one last transaction,
 * every change not yet known to be stored, the clocks and the mark
 * "closed") stored the highest version it gave out: the next goes above
 * it. A life that did not (a tab reloaded or crashed, a failed write) may
 * have given out versions after its last committed batch, on disk nowhere
 * though peers hold them. Its versions follow its wall clock, or run ahead
 * of it when a peer's clock is ahead (within `maxClockOffset`: the hybrid
 * logical clock takes the highest version seen), so every batch also
 * stores `wall`, the version clock (µs) when its clocks were taken. The
 * next life then starts above now + max(0, version - wall): the run-ahead
 * at the last committed batch, added to a later wall clock.
 *
 * Invariant: a reopened life never gives out a version its source gave
 * out before, provided the wall clock did not go back across the reload
 * and the run-ahead did not grow between the last committed batch and the
 * crash (a peer persistently ahead keeps it about constant). Limit: a
 * run-ahead that grew in that window (a peer's clock jumping ahead within
 * the last batch before a crash) can make a new write reuse a version a
 * peer holds; that peer takes it as held until the fingerprint checks
 * (once a minute, on a link that lasts that long) exchange the
 * source's records in full. A clock stored without `wall` (none stored,
 * or written before `wall` existed) counts as no run-ahead. The mark is
 * removed by `open` before the node exists, so only this life's own
 * `close()` writes it again (a store closed without a node keeps what it
 * found: it gave out nothing).
 *
 * One store per database: `open` first takes the database's Web Lock
 * (`navigator.locks`, see web-lock.ts) and holds it until `close()`, so a
 * second tab or worker of the origin opening the same database fails with
 * `DatabaseLockedError` (or waits, with `waitForLock`) instead of running
 * as the same node. Where the Web Locks API is missing, nothing guards it.
 *
 * Browser only (no Node modules); any `IDBFactory` can be passed.
 */
import { shown, warnUnknownKeys, type GossipConfig } from '../config.ts'
import type { SourceState } from '../core/replica.ts'
import type { JsonValue, Rec } from '../core/types.ts'
import { isVersion, makeRec } from '../protocol/validate.ts'
import { Gossip } from '../stream/gossip.ts'
import { booleanOption, nameOption, numberOption, objectOption } from './option-checks.ts'
import { defaultLockManager, holdDatabaseLock, type LockManager } from './web-lock.ts'

/*
 * The part of the IndexedDB API used here, declared locally so that the
 * library compiles without the DOM library (the browser's own objects fit).
 */
export interface IDBRequest<T = any> {
  readonly result: T
  readonly error: Error | null
  onsuccess: ((ev: any) => void) | null
  onerror: ((ev: any) => void) | null
}
export interface IDBOpenDBRequest extends IDBRequest<IDBDatabase> {
  onupgradeneeded: ((ev: any) => void) | null
}
export interface IDBFactory {
  open(name: string, version?: number): IDBOpenDBRequest
}
export interface IDBObjectStore {
  get(key: string): IDBRequest
  getAll(): IDBRequest<any[]>
  put(value: unknown, key?: string): IDBRequest
  delete(key: string): IDBRequest
}
export interface IDBTransaction {
  readonly error: Error | null
  objectStore(name: string): IDBObjectStore
  oncomplete: ((ev: any) => void) | null
  onerror: ((ev: any) => void) | null
  onabort: ((ev: any) => void) | null
}
export interface IDBDatabase {
  readonly name: string
  createObjectStore(name: string, options?: { keyPath?: string }): IDBObjectStore
  transaction(names: string[], mode: 'readonly' | 'readwrite'): IDBTransaction
  close(): void
}

export interface IndexedDbOptions {
  /** Database name. Default `simple-scuttle:<id>`. */
  name?: string
  /** Longest wait before queued changes are written, ms, at least 0. Default 20. */
  batchMs?: number
  /** Default `globalThis.indexedDB`. */
  indexedDB?: IDBFactory
  /**
   * Where the database's lock is taken (one store per database among the
   * tabs and workers of an origin). Default `navigator.locks`; where there
   * is none, or with `null`, no lock is taken.
   */
  locks?: LockManager | null
  /** Wait for a lock another tab or worker holds, rather than fail with `DatabaseLockedError`. Default false. */
  waitForLock?: boolean
}

export interface IndexedDbNode {
  gossip: Gossip
  store: IndexedDbStore
  /** Records loaded (0 for a new database). */
  loaded: number
}

interface Header {
  id: string
  gen: string
}

/** The mark of a life that closed with every change stored (see Generations and versions). */
interface Closed {
  gen: string
}

interface ClockSnapshot {
  sources: SourceState[]
  version: number
  /** The version clock (µs) when the clocks were taken; absent in clocks stored before it existed. */
  wall?: number
}

const RECORDS = 'records'
const META = 'meta'
const MAX_QUEUED = 1000

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
  })
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'))
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'))
  })
}

function newGeneration(): string {
  const b = new Uint8Array(6)
  crypto.getRandomValues(b)
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_')
}

/** A stored record, checked as the log store checks its lines; undefined if unusable. */
function loadRec(o: Partial<Rec> | undefined): Rec | undefined {
  if (o === undefined || typeof o.key !== 'string' || typeof o.source_id !== 'string' || !isVersion(o.version) || !('value' in o)) return undefined
  return makeRec(o.key, o.value as JsonValue, o.source_id, o.version, typeof o.gen === 'string' ? o.gen : undefined, o.deleted === true, typeof o.sig === 'string' ? o.sig : undefined)
}

/**
 * The version new local writes go above: the stored version, and for a
 * life that did not close also `now` (µs) plus the run-ahead of the
 * versions over the wall clock at the last committed batch (see
 * Generations and versions).
 */
function versionFloor(clock: ClockSnapshot | undefined, closed: boolean, now: number): number {
  const version = clock?.version ?? 0
  if (closed) return version
  const wall = clock?.wall
  const runAhead = typeof wall === 'number' && Number.isFinite(wall) ? Math.max(0, version - wall) : 0
  return Math.max(version, Math.floor(now) + runAhead)
}

/** Every option `IndexedDbOptions` names (the compiler keeps this list and the interface equal). */
const OPTIONS: Record<keyof IndexedDbOptions, true> = { name: true, batchMs: true, indexedDB: true, locks: true, waitForLock: true }

/** `opts` checked (errors name the option and the value given), with `batchMs` filled in; unknown keys are a warning. */
function checkOptions(opts: IndexedDbOptions): Required<Pick<IndexedDbOptions, 'batchMs' | 'waitForLock'>> & IndexedDbOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`openIndexedDB options must be an object, got ${shown(opts)}`)
  warnUnknownKeys(opts, Object.keys(OPTIONS), (key) => `IndexedDB store option ${key} is not an option of openIndexedDB`)
  return {
    name: nameOption('IndexedDB store option name', opts.name),
    batchMs: numberOption('IndexedDB store option batchMs', opts.batchMs, 20, { min: 0, what: 'a non-negative number of ms' }),
    indexedDB: objectOption<IDBFactory>('IndexedDB store option indexedDB', opts.indexedDB, ['open'], 'an IDBFactory (an object with open)'),
    locks: opts.locks === null ? null : objectOption<LockManager>('IndexedDB store option locks', opts.locks, ['request'], 'a LockManager (an object with request) or null'),
    waitForLock: booleanOption('IndexedDB store option waitForLock', opts.waitForLock, false),
  }
}

/** A store just opened, with what it read: records and clocks for `attach`. */
interface Opened {
  store: IndexedDbStore
  records: Rec[]
  clock: ClockSnapshot | undefined
}

export class IndexedDbStore {
  /** Why the store stopped accepting changes, or null. */
  error: Error | null = null
  readonly stats = { batches: 0, written: 0, removed: 0 }
  /** Key -> the record to put, or null to delete it; the next batch. */
  private queue = new Map<string, Rec | null>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private writing: Promise<void> = Promise.resolve()
  private gossip: Gossip | null = null
  private closed = false
  private closing: Promise<void> | null = null
  /** Batches whose transaction has not completed yet, oldest first: `close` writes them again. */
  private unconfirmed: Array<Map<string, Rec | null>> = []

  private constructor(
    private readonly db: IDBDatabase,
    readonly id: string,
    readonly generation: string,
    private readonly batchMs: number,
    /** Releases the database's lock, resolving once it is free (at once when none was taken). */
    private readonly unlock: () => Promise<void>,
    /** The earlier life closed (or there was none): its stored version bounds every version it gave out. */
    private readonly earlierClosed: boolean,
  ) {}

  /** Open (or create) the database of node `id`; see `openIndexedDB`. */
  static async open(id: string, opts: IndexedDbOptions = {}): Promise<Opened> {
    const { name, batchMs, indexedDB, locks, waitForLock } = checkOptions(opts)
    const factory = indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB
    if (factory === undefined) throw new Error('IndexedDB is not available here')
    const dbName = name ?? `simple-scuttle:${id}`
    // Taken before the database is read: a second opener touches nothing (not even the closed mark).
    const manager = locks === undefined ? defaultLockManager() : locks
    const unlock = manager === undefined || manager === null ? async () => {} : await holdDatabaseLock(manager, dbName, waitForLock)
    try {
      return await IndexedDbStore.load(factory, dbName, id, batchMs, unlock)
    } catch (err) {
      await unlock()
      throw err
    }
  }

  /** Open database `dbName` (its lock held, released by the store's close) and read what it holds. */
  private static async load(factory: IDBFactory, dbName: string, id: string, batchMs: number, unlock: () => Promise<void>): Promise<Opened> {
    const req = factory.open(dbName, 1)
    req.onupgradeneeded = () => {
      req.result.createObjectStore(RECORDS, { keyPath: 'key' })
      req.result.createObjectStore(META)
    }
    const db = await request(req)
    const tx = db.transaction([RECORDS, META], 'readwrite')
    const meta = tx.objectStore(META)
    const [header, clock, closed, stored] = await Promise.all([
      request(meta.get('header')) as Promise<Header | undefined>,
      request(meta.get('clock')) as Promise<ClockSnapshot | undefined>,
      request(meta.get('closed')) as Promise<Closed | undefined>,
      request(tx.objectStore(RECORDS).getAll()) as Promise<Partial<Rec>[]>,
    ])
    if (header !== undefined && header.id !== id) {
      db.close()
      throw new Error(`IndexedDB database ${db.name} belongs to node ${JSON.stringify(header.id)}, not ${JSON.stringify(id)}`)
    }
    // The earlier life is always continued; only a new database (or an unreadable header) gets a new generation.
    const continued = header !== undefined && typeof header.gen === 'string'
    const gen = continued ? header.gen : newGeneration()
    if (!continued) meta.put({ id, gen } satisfies Header, 'header')
    const earlierClosed = !continued || closed?.gen === gen
    // Removed before this life's first write: only its own close() can mark it closed again.
    if (closed !== undefined) meta.delete('closed')
    await done(tx)
    const records = stored.map(loadRec).filter((r): r is Rec => r !== undefined)
    return { store: new IndexedDbStore(db, id, gen, batchMs, unlock, earlierClosed), records, clock }
  }

  /** Load what was stored into `gossip` (before it has streams) and record every change from now on. */
  attach(gossip: Gossip, records: Rec[], clock: ClockSnapshot | undefined): void {
    if (this.gossip !== null) throw new Error('store already attached')
    if (gossip.id !== this.id || gossip.config.generation !== this.generation) {
      throw new Error(`attach: the gossip must have id ${JSON.stringify(this.id)} and config.generation ${JSON.stringify(this.generation)}`)
    }
    // Above every version an earlier life may have given out (see Generations and versions).
    const version = versionFloor(clock, this.earlierClosed, gossip.config.versionClock())
    gossip.restore({ records, sources: clock?.sources ?? [], version })
    gossip.attachJournal({
      append: (rec) => this.change(rec.key, rec),
      remove: (rec) => this.change(rec.key, null),
    })
    // Set last: a store whose attach failed never writes this gossip's clocks (nor a closed mark the earlier life lacked).
    this.gossip = gossip
  }

  private change(key: string, rec: Rec | null): void {
    if (this.error !== null) throw new Error(`not stored: ${this.error.message}`)
    if (this.closed) throw new Error('not stored: the store is closed')
    this.queue.delete(key) // re-inserted last, so the map keeps the order of changes
    this.queue.set(key, rec)
    if (this.queue.size >= MAX_QUEUED) this.flushQuietly()
    else if (this.timer === null) this.timer = setTimeout(() => this.flushQuietly(), this.batchMs)
  }

  /** A failure is kept in `error` (and refuses later changes); nothing to report here. */
  private flushQuietly(): void {
    this.flush().catch(() => {})
  }

  /** Write what is queued now; resolves once every change made so far is durable (rejects if the store failed). */
  flush(): Promise<void> {
    this.stopTimer()
    if (this.queue.size > 0 && this.gossip !== null && this.error === null) {
      const batch = this.queue
      this.queue = new Map()
      this.write(batch, false)
    }
    return this.settled()
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  /** Resolves once every transaction started so far has ended; rejects if the store failed. */
  private settled(): Promise<void> {
    return this.writing.then(() => {
      if (this.error !== null) throw this.error
    })
  }

  /**
   * One transaction: the changes of `batch`, the clocks as they stand now
   * (they cover every change made so far) with the wall clock of that
   * moment, and with `closing` the mark that this life ended with all of
   * them stored (not for a store closed without a node after a life that
   * did not close: the mark would hide that life's run-ahead).
   */
  private write(batch: Map<string, Rec | null>, closing: boolean): void {
    const g = this.gossip
    const tx = this.db.transaction([RECORDS, META], 'readwrite')
    const records = tx.objectStore(RECORDS)
    for (const [key, rec] of batch) {
      if (rec === null) {
        records.delete(key)
        this.stats.removed++
      } else {
        records.put(rec)
        this.stats.written++
      }
    }
    const meta = tx.objectStore(META)
    if (g !== null) meta.put({ sources: g.sources(), version: g.version, wall: Math.floor(g.config.versionClock()) } satisfies ClockSnapshot, 'clock')
    if (closing && (g !== null || this.earlierClosed)) meta.put({ gen: this.generation } satisfies Closed, 'closed')
    this.unconfirmed.push(batch)
    const written = done(tx).then(
      () => {
        this.stats.batches++
        this.unconfirmed.splice(this.unconfirmed.indexOf(batch), 1)
      },
      (err: unknown) => {
        this.error ??= err instanceof Error ? err : new Error(String(err))
      },
    )
    this.writing = this.writing.then(() => written)
  }

  /**
   * Refuse every change from now on, write what is queued, then close the
   * database. A store that has not failed writes its last transaction at
   * once (it holds every change whose transaction has not completed, so it
   * stands alone) with the mark that lets the next open continue above
   * its stored version; rejects if a transaction failed (the next open
   * then starts above the run-ahead floor).
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    this.closed = true // no change can follow the last transaction: its clocks bound every version this life gave out
    this.stopTimer()
    try {
      if (this.error === null) {
        const last = new Map<string, Rec | null>()
        for (const batch of [...this.unconfirmed, this.queue]) {
          for (const [key, rec] of batch) {
            last.delete(key)
            last.set(key, rec)
          }
        }
        this.queue = new Map()
        this.write(last, true)
      }
      await this.settled()
    } finally {
      this.db.close()
      await this.unlock()
    }
  }
}

/**
 * A `Gossip` whose state lives in IndexedDB: open, restore, journal. Create
 * the network (and its WebSocket link) after this resolves.
 *
 *   const { gossip, store } = await openIndexedDB('tab-1', config)
 *   const network = new Network(gossip)
 *   connectWebSocket(network, { url: 'wss://example.org/gossip' })
 */
export async function openIndexedDB(id: string, config: GossipConfig, opts: IndexedDbOptions = {}): Promise<IndexedDbNode> {
  const { store, records, clock } = await IndexedDbStore.open(id, opts)
  try {
    const gossip = new Gossip(id, { ...config, generation: store.generation })
    store.attach(gossip, records, clock)
    return { gossip, store, loaded: records.length }
  } catch (err) {
    await store.close().catch(() => {}) // releases the database's lock: opening again can work
    throw err
  }
}
