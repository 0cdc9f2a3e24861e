import type { Rec } from './types.ts'

/**
 * Tombstones in the order they were applied, with the time each was
 * applied, so that those past the grace period are found in O(1) each.
 * Entries whose tombstone was since superseded are skipped when met; the
 * queue's consumed head is compacted away as it grows.
 */
export class Tombstones {
  private tombs: Rec[] = []
  private times: number[] = []
  private head = 0

  /** A tombstone was applied at `time` (ms). */
  note(rec: Rec, time: number): void {
    this.tombs.push(rec)
    this.times.push(time)
  }

  /** The oldest tombstone applied at least `grace` ms before `now`, or undefined. It stays until `pop`. */
  peekDue(now: number, grace: number): Rec | undefined {
    return this.head < this.tombs.length && this.times[this.head] + grace <= now ? this.tombs[this.head] : undefined
  }

  /** Done with the oldest (from `peekDue`). */
  pop(): void {
    this.head++
    if (this.head > 1024 && this.head * 2 > this.tombs.length) {
      this.tombs = this.tombs.slice(this.head)
      this.times = this.times.slice(this.head)
      this.head = 0
    }
  }

  /** Entries not yet due or popped (some may have been superseded since). */
  *pending(): IterableIterator<Rec> {
    for (let i = this.head; i < this.tombs.length; i++) yield this.tombs[i]
  }
}
