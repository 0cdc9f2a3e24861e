/**
 * The resurrection guard: the lives (id, generation) this node has
 * collected. A record of a buried life, or of an older one, is refused, so
 * a laggard that still gossips a dead member cannot bring it back; a later
 * generation (the node really restarted) is welcome.
 *
 * A buried life comes back only by showing that it is alive: its heartbeat
 * counter seen rising `REVIVE_RISES` times past the highest counter known
 * at its burial. A laggard holds a frozen counter (nobody raises a dead
 * member's), so what it re-gossips never rises; a member that was cut off
 * longer than the grace period and kept running does.
 *
 * Bounded: a burial is remembered for `ttl` ms, and at most `max` of them
 * (the oldest go first). Generations are wall-clock start times, so they
 * grow across restarts of a node.
 */
export const REVIVE_RISES = 3

interface Burial {
  gen: number
  at: number
  /** The highest heartbeat counter of the life when buried, then the highest seen since. */
  hb: number
  /** Rises seen past the burial's counter. */
  rises: number
}

export class Graveyard {
  private readonly buried = new Map<string, Burial>()

  constructor(
    private readonly ttl: number,
    private readonly max: number,
  ) {}

  /** Remember that life `gen` of `id` was collected at `now`, its heartbeat counter at `hb`. */
  bury(id: string, gen: number, now: number, hb = 0): void {
    const had = this.buried.get(id)
    this.buried.delete(id) // re-insert: the map's order is the order of burial
    const later = had !== undefined && had.gen > gen
    this.buried.set(id, later ? { ...had, at: now } : { gen, at: now, hb: had !== undefined && had.gen === gen ? Math.max(had.hb, hb) : hb, rises: 0 })
    while (this.buried.size > this.max) this.buried.delete(this.buried.keys().next().value as string)
  }

  /**
   * A heartbeat counter `n` of life `gen` of `id` was seen. Returns true
   * when it is the rise that brings a buried life back (the burial is then
   * forgotten); false otherwise.
   */
  beat(id: string, gen: number, n: number): boolean {
    const b = this.buried.get(id)
    if (b === undefined || b.gen !== gen || n <= b.hb) return false
    b.hb = n
    if (++b.rises < REVIVE_RISES) return false
    this.buried.delete(id)
    return true
  }

  /** Whether life `gen` of `id` is buried (that one or a later one was collected). */
  holds(id: string, gen: number): boolean {
    const b = this.buried.get(id)
    return b !== undefined && gen <= b.gen
  }

  /** Forget burials older than the ttl. */
  expire(now: number): void {
    for (const [id, b] of this.buried) {
      if (now - b.at < this.ttl) break
      this.buried.delete(id)
    }
  }

  get size(): number {
    return this.buried.size
  }
}
