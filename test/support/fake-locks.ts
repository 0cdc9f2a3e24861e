/**
 * An in-memory Web Locks `LockManager` for Node tests: exclusive locks by
 * name, one origin per instance (the tabs of a test share one).
 *
 * Invariants: a name has at most one holder; a lock is held while the
 * callback's returned promise is pending; with `ifAvailable` a held name
 * gives the callback null at once, else requests wait in order.
 */
import type { LockManager } from '../../lib/store/web-lock.ts'

interface Waiter {
  grant: () => void
}

export class FakeLocks implements LockManager {
  private readonly held = new Set<string>()
  private readonly waiting = new Map<string, Waiter[]>()

  /** Names held now. */
  get names(): string[] {
    return [...this.held]
  }

  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const run = () => {
        this.held.add(name)
        Promise.resolve()
          .then(() => callback({ name, mode: 'exclusive' }))
          .then(resolve, reject)
          .finally(() => this.release(name))
      }
      if (!this.held.has(name)) run()
      else if (options.ifAvailable === true) Promise.resolve().then(() => callback(null)).then(resolve, reject)
      else {
        const q = this.waiting.get(name) ?? []
        q.push({ grant: run })
        this.waiting.set(name, q)
      }
    })
  }

  private release(name: string): void {
    this.held.delete(name)
    const next = this.waiting.get(name)?.shift()
    if (next !== undefined) next.grant()
  }
}
