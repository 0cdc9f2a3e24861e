interface Waiter {
  seq: number
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * Which accepted changes are on disk, and who waits for them.
 *
 * Changes are numbered as they are accepted (`seq`); `synced` is the
 * number of the last one an fdatasync (or a rewrite) is known to cover.
 * A waiter for change n resolves once `synced` reaches n, or is rejected
 * if the disk fails first: never resolved for a change not on disk.
 */
export class SyncWaiters {
  seq = 0
  synced = 0
  private waiters: Waiter[] = []

  get allSynced(): boolean {
    return this.synced >= this.seq
  }

  /**
   * A promise for every change accepted so far; `failure` (if not null)
   * rejects it at once when something is not on disk. The promise may be
   * ignored: it has a handler, so a rejection is never unhandled.
   */
  wait(failure: Error | null): Promise<void> {
    let p: Promise<void>
    if (this.allSynced) p = Promise.resolve()
    else if (failure !== null) p = Promise.reject(failure)
    else p = new Promise((resolve, reject) => this.waiters.push({ seq: this.seq, resolve, reject }))
    p.catch(() => {})
    return p
  }

  /** Changes up to `seq` are on disk. */
  markSynced(seq: number): void {
    if (seq > this.synced) this.synced = seq
    let i = 0
    while (i < this.waiters.length && this.waiters[i].seq <= this.synced) this.waiters[i++].resolve()
    if (i > 0) this.waiters = this.waiters.slice(i)
  }

  /** The disk failed: nobody waiting will see their changes synced by the write under way. */
  rejectAll(err: Error): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(err)
  }
}
