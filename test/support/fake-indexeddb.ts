/**
 * An in-memory IndexedDB for Node tests: the part `lib/store/indexeddb.ts`
 * uses (open with an upgrade, object stores with or without a keyPath,
 * get/getAll/put/delete, readwrite transactions that complete or abort).
 *
 * Invariants:
 * - A transaction's writes reach the committed state only when it
 *   completes, all at once; its reads see the committed state.
 * - Transactions commit in the order they were created (as overlapping
 *   readwrite transactions do), each once no request of it is pending for
 *   a full event-loop turn: a request made from a success callback, or
 *   from the promise code it resolves, still joins the transaction.
 * - While `hold` is set nothing commits: `crashCopy()` then gives the
 *   committed state as a tab closed at that moment leaves it.
 * - Nothing runs on a timer: callbacks come on `setImmediate` turns.
 */
import type { IDBDatabase, IDBFactory, IDBObjectStore, IDBOpenDBRequest, IDBRequest, IDBTransaction } from '../../lib/store/indexeddb.ts'

type Rows = Map<string, unknown>
interface Db {
  stores: Map<string, Rows>
  keyPaths: Map<string, string | undefined>
}

interface Pending {
  ops: Array<() => void>
  requests: number
  ready: boolean
  fail: Error | null
  tx: IDBTransaction & { error: Error | null }
}

const clone = <T>(v: T): T => structuredClone(v)

function copyDb(db: Db): Db {
  return {
    stores: new Map([...db.stores].map(([name, rows]) => [name, new Map([...rows].map(([k, v]) => [k, clone(v)]))])),
    keyPaths: new Map(db.keyPaths),
  }
}

export class FakeIndexedDB implements IDBFactory {
  private readonly dbs = new Map<string, Db>()
  /** Transactions not yet committed, oldest first. */
  private readonly queue: Pending[] = []
  /** While true, no transaction commits. */
  hold = false
  /** The next transaction to commit aborts with this error instead. */
  failNext: Error | null = null
  /** Transactions committed. */
  commits = 0

  /** The committed state, in a new factory: the disk as a tab closed now leaves it. */
  crashCopy(): FakeIndexedDB {
    const f = new FakeIndexedDB()
    for (const [name, db] of this.dbs) f.dbs.set(name, copyDb(db))
    return f
  }

  /** Let held transactions commit. */
  release(): void {
    this.hold = false
    this.pump()
  }

  /** A committed row (a copy), for tests that look at the disk. */
  row(db: string, store: string, key: string): unknown {
    const v = this.dbs.get(db)?.stores.get(store)?.get(key)
    return v === undefined ? undefined : clone(v)
  }

  open(name: string): IDBOpenDBRequest {
    const req: IDBOpenDBRequest & { result: IDBDatabase } = { result: null as unknown as IDBDatabase, error: null, onsuccess: null, onerror: null, onupgradeneeded: null }
    setImmediate(() => {
      let db = this.dbs.get(name)
      const fresh = db === undefined
      if (db === undefined) {
        db = { stores: new Map(), keyPaths: new Map() }
        this.dbs.set(name, db)
      }
      req.result = this.connection(name, db)
      if (fresh) req.onupgradeneeded?.({})
      req.onsuccess?.({})
    })
    return req
  }

  private connection(name: string, db: Db): IDBDatabase {
    return {
      name,
      createObjectStore: (store, opts) => {
        db.stores.set(store, new Map())
        db.keyPaths.set(store, opts?.keyPath)
        return {} as IDBObjectStore
      },
      transaction: (names) => this.transaction(db, names),
      close: () => {},
    }
  }

  private transaction(db: Db, names: string[]): IDBTransaction {
    const p: Pending = {
      ops: [],
      requests: 0,
      ready: false,
      fail: null,
      tx: { error: null, oncomplete: null, onerror: null, onabort: null, objectStore: (n) => store(n) },
    }
    const request = <T>(f: () => T): IDBRequest<T> => {
      const r: IDBRequest<T> & { result: T } = { result: undefined as T, error: null, onsuccess: null, onerror: null }
      p.requests++
      setImmediate(() => {
        r.result = f()
        r.onsuccess?.({})
        p.requests--
        this.settle(p)
      })
      return r
    }
    const store = (n: string): IDBObjectStore => {
      if (!names.includes(n)) throw new Error(`object store ${n} is not in this transaction's scope`)
      const rows = db.stores.get(n)
      if (rows === undefined) throw new Error(`no object store ${n}`)
      const keyPath = db.keyPaths.get(n)
      return {
        get: (k) => request(() => clone(rows.get(k))),
        getAll: () => request(() => [...rows.values()].map(clone)),
        put: (v, k) => {
          const key = keyPath === undefined ? k! : ((v as Record<string, unknown>)[keyPath] as string)
          const c = clone(v)
          p.ops.push(() => rows.set(key, c))
          return request(() => key)
        },
        delete: (k) => {
          p.ops.push(() => rows.delete(k))
          return request(() => undefined)
        },
      }
    }
    this.queue.push(p)
    this.settle(p)
    return p.tx
  }

  /** `p` is ready once a turn passed with no request of it pending. */
  private settle(p: Pending): void {
    setImmediate(() => {
      if (p.requests > 0 || p.ready) return
      p.ready = true
      this.pump()
    })
  }

  private pump(): void {
    while (!this.hold && this.queue.length > 0 && this.queue[0].ready) {
      const p = this.queue.shift()!
      const fail = this.failNext
      this.failNext = null
      if (fail !== null) {
        p.tx.error = fail
        p.tx.onabort?.({})
        continue
      }
      for (const op of p.ops) op()
      this.commits++
      p.tx.oncomplete?.({})
    }
  }
}
