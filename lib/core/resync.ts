import type { Source } from './clock.ts'
import type { Replica } from './replica.ts'

/**
 * Repairs with one peer.
 *
 * - After a record from the peer was not taken: a resync, a digest whose
 *   entries are exact starting points (our clock), answered from exactly
 *   there whatever the peer thinks we hold, from which nothing is adopted.
 *   `floors` tracks how far it has come, per source, along the answer's
 *   `rprev` links, so a resync cut at `mtu` goes on from there.
 * - After a node lost its data (a known id came back with a new
 *   generation), our clocks may cover records we skipped because something
 *   since lost beat them. They show as a fingerprint of their source that
 *   differs from the peer's: `lossDue` says when to compare (verification
 *   sends such a source in full once the difference is confirmed), which
 *   costs a digest with fingerprints, not every record, so a peer inventing
 *   generations cannot make the cluster send its whole state.
 */
export class Resync {
  /** Generation changes already answered by fingerprint checks with this peer. */
  private covered: number
  private running = false
  /** Per source, how far the running resync has come. */
  private readonly floors = new Map<Source, number>()

  constructor(
    private readonly replica: Replica,
    repairWindow: number,
  ) {
    // A session that starts soon after a node showed up with a new generation checks once.
    this.covered = replica.recentGenerationChange(repairWindow) ? -1 : replica.clock.generationChanges
  }

  get active(): boolean {
    return this.running
  }

  /** At the start of an exchange: begin a resync from our clock if a record was not taken (`refetch`). */
  begin(refetch: boolean): boolean {
    if (this.running || !refetch) return false
    this.running = true
    this.floors.clear()
    for (const src of this.replica.clock.values()) if (src.clock > 0) this.floors.set(src, src.clock)
    return true
  }

  /** Whether a generation change since the last call calls for fingerprint checks with this peer. */
  lossDue(): boolean {
    const changes = this.replica.clock.generationChanges
    if (changes <= this.covered) return false
    this.covered = changes
    return true
  }

  /** The version our resync digest gives for `src`. */
  versionFor(src: Source): number {
    return this.floors.get(src) ?? 0
  }

  /** A record of an answer arrived, linked (`rprev`) to the one before it. */
  onRecord(src: Source, rprev: number, version: number): void {
    if (this.running && (this.floors.get(src) ?? 0) >= rprev) this.floors.set(src, version)
  }

  /** The peer ended its answer to our resync, whole. */
  done(): void {
    this.running = false
  }
}
