/**
 * What this node knows of its own earlier lives under its id and
 * generation. A node that restarts without its data (in memory, no fresh
 * generation) holds none of the records its earlier life wrote, though
 * its peers do. A peer's digest claiming our own source at a version this
 * life never wrote shows it: below this life's first write and above what
 * we are sure to hold, or above everything this life wrote (the earlier
 * life's clock was ahead: the wall clock went back across the restart).
 *
 * Invariant: every record of our own source at or below `sure` that any
 * node holds, this node holds too (or held and replaced); every version
 * this life wrote is in [`first`, `last`].
 */
export class OwnLife {
  /** Our own records up to here are all held: restored from storage, or recovered from a peer. */
  private sure = 0
  /** The first version this life wrote; Infinity before its first write. */
  private first = Infinity
  /** The last version this life wrote; -Infinity before its first write. */
  private last = -Infinity

  /** A local write at `version`. */
  wrote(version: number): void {
    if (version < this.first) this.first = version
    if (version > this.last) this.last = version
  }

  /** This life began from saved data that holds every own record up to `clock`. */
  restored(clock: number): void {
    if (clock > this.sure) this.sure = clock
  }

  /** Whether a peer's claim of `version` for our own source shows records of an earlier life we lack. */
  lacks(version: number): boolean {
    return version > this.sure && (version < this.first || version > this.last)
  }

  /** A peer that claimed `version` sent us every own record it held: we hold them now. */
  recovered(version: number): void {
    if (version > this.sure) this.sure = version
  }
}
