import type { Rec } from './types.ts'

/**
 * A node's own writes between their commit and their announcement (the
 * clock moving over them, listeners hearing of them).
 *
 * Invariants:
 * - Writes are announced once each, in the order they were committed,
 *   which is the order of their versions (a version is taken before any
 *   user function runs).
 * - A write made while another is committing or being announced (from a
 *   history listener, `sign`, the state object, a stream's reader) waits
 *   for the outermost to finish: no listener hears of a version before the
 *   committed ones below it, so each announcement's `prev` is exact.
 * - A write whose commit throws, or that a write its own user functions
 *   made to the same key superseded before it was stored, is never
 *   announced; the ones its user functions made still are.
 */
export class LocalWrites {
  private readonly outbox: Array<Rec | null> = []
  private depth = 0
  private announcing = false

  constructor(
    /** Store `rec` over `cur`, the record held for its key; false when a write it made to the same key superseded it. May throw, and may write again. */
    private readonly commit: (rec: Rec, cur: Rec | undefined) => boolean,
    /** Move the clock over one write and offer it to listeners; false when one had no room. */
    private readonly announce: (rec: Rec) => boolean,
  ) {}

  /**
   * Commit `rec` over `cur`, then announce it unless an outer write will.
   * Returns whether every listener had room (true for a write that waits
   * for an outer one).
   */
  write(rec: Rec, cur: Rec | undefined): boolean {
    const slot = this.outbox.length
    this.outbox.push(null)
    let sent = true
    this.depth++
    try {
      if (this.commit(rec, cur)) this.outbox[slot] = rec
    } finally {
      this.depth--
      if (this.depth === 0 && !this.announcing) sent = this.flush()
    }
    return sent
  }

  private flush(): boolean {
    this.announcing = true
    let sent = true
    try {
      // Writes made by listeners during this loop join the outbox and are announced in turn.
      for (let i = 0; i < this.outbox.length; i++) {
        const rec = this.outbox[i]
        if (rec !== null && !this.announce(rec)) sent = false
      }
    } finally {
      this.outbox.length = 0
      this.announcing = false
    }
    return sent
  }
}
