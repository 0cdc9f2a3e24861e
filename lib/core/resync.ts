import type { Source } from './clock.ts'
import type { Replica } from './replica.ts'

/**
 * Resyncs with one peer: digests whose entries are exact starting points,
 * answered from exactly there (whatever the peer thinks we hold), from
 * which nothing is adopted.
 *
 * - After a node lost its data (a known id came back with a new generation),
 *   our clocks may claim records we skipped because something since lost
 *   beat them: ask the peer once for everything, from version 0.
 * - After a record from the peer was not taken: ask from exactly our clock,
 *   so the peer sends it again.
 *
 * `floors` tracks how far a resync has come, per source, along the answer's
 * `rprev` links, so a resync cut at `mtu` goes on from there.
 */
export class Resync {
  /** Generation changes already covered by a full resync. */
  private covered: number
  /** The generation count being covered now, -1 when no resync runs. */
  private running = -1
  /** Per source, how far the running resync has come. */
  private readonly floors = new Map<Source, number>()

  constructor(
    private readonly replica: Replica,
    repairWindow: number,
  ) {
    // A session that starts soon after a node showed up with a new generation resyncs once.
    this.covered = replica.recentGenerationChange(repairWindow) ? -1 : replica.clock.generationChanges
  }

  get active(): boolean {
    return this.running !== -1
  }

  /** At the start of an exchange: begin a resync if one is due (`refetch`: a record was not taken). */
  begin(refetch: boolean): boolean {
    const changes = this.replica.clock.generationChanges
    if (this.running !== -1 || !(changes > this.covered || refetch)) return false
    const full = changes > this.covered
    this.running = Math.max(changes, this.covered)
    this.floors.clear()
    if (!full) for (const src of this.replica.clock.values()) if (src.clock > 0) this.floors.set(src, src.clock)
    return true
  }

  /** The version our resync digest gives for `src`. */
  versionFor(src: Source): number {
    return this.floors.get(src) ?? 0
  }

  /** A record of an answer arrived, linked (`rprev`) to the one before it. */
  onRecord(src: Source, rprev: number, version: number): void {
    if (this.running !== -1 && (this.floors.get(src) ?? 0) >= rprev) this.floors.set(src, version)
  }

  /** The peer ended its answer to our resync, whole. */
  done(): void {
    if (this.running === -1) return
    this.covered = this.running
    this.running = -1
  }
}
