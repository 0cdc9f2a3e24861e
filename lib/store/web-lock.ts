/**
 * One holder per IndexedDB database among the tabs and workers of an
 * origin, with the Web Locks API (`navigator.locks`), as the folder lock
 * is for a log on Node: two tabs opening the same database would run as
 * one node (same id, same generation), giving out the same versions.
 *
 * Invariants:
 * - The lock is exclusive and held, once granted, until its release is
 *   called (the store's close) or the holder's tab or worker goes away
 *   (the browser releases it then).
 * - Without `wait`, a lock held elsewhere is never waited for: the request
 *   ends with `DatabaseLockedError` naming the database.
 *
 * Browser only (no Node modules).
 */

/** The part of the Web Locks API used here, declared locally (the browser's `navigator.locks` fits). */
export interface LockManager {
  request(name: string, options: { mode?: 'exclusive' | 'shared'; ifAvailable?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown>
}

/** The Web Lock that guards IndexedDB database `database`. */
export function databaseLockName(database: string): string {
  return `simple-scuttle:indexeddb:${database}`
}

/** An IndexedDB database whose lock another tab or worker of this origin holds. */
export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError'
  readonly code = 'ELOCKED'
  constructor(readonly database: string) {
    super(
      `IndexedDB database ${JSON.stringify(database)} is open in another tab or worker of this origin ` +
        `(it holds the Web Lock ${JSON.stringify(databaseLockName(database))}); one node per database: ` +
        'close its store there, open with waitForLock: true to wait for it, or use another id or name',
    )
  }
}

/** `navigator.locks` where it exists, else undefined. */
export function defaultLockManager(): LockManager | undefined {
  return (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
}

/**
 * Take the lock of `database`; resolves with the function that releases
 * it (its promise resolves once the lock manager has let it go, so an
 * opener after that finds it free). Rejects with `DatabaseLockedError` when another holder has it and
 * not `wait` (with `wait`, resolves once it is granted), and with the
 * lock manager's error when it refuses the request.
 */
export function holdDatabaseLock(locks: LockManager, database: string, wait: boolean): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    let letGo: () => void = () => {}
    const held = new Promise<void>((r) => {
      letGo = r
    })
    const options = wait ? { mode: 'exclusive' as const } : { mode: 'exclusive' as const, ifAvailable: true }
    // The lock is held for as long as the callback's promise is pending: until released.
    const request = locks.request(databaseLockName(database), options, (lock) => {
      if (lock === null) {
        reject(new DatabaseLockedError(database))
        return undefined
      }
      resolve(() => {
        letGo()
        return ended
      })
      return held
    })
    // `request` settles once the lock is let go; a refusal before it was granted rejects the take.
    const ended = request.then(
      () => {},
      (err: unknown) => reject(err),
    )
  })
}
