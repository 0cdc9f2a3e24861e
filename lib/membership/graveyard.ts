/**
 * The resurrection guard: the lives (id, generation) this node has
 * collected. A record or heartbeat of a buried life, or of an older one, is
 * refused, so a laggard that still gossips a dead member cannot bring it
 * back; a later generation (the node really restarted) is welcome.
 *
 * Bounded: a burial is remembered for `ttl` ms, and at most `max` of them
 * (the oldest go first). Generations are wall-clock start times, so they
 * grow across restarts of a node.
 */
export class Graveyard {
  private readonly buried = new Map<string, { gen: number; at: number }>()

  constructor(
    private readonly ttl: number,
    private readonly max: number,
  ) {}

  /** Remember that life `gen` of `id` was collected at `now`. */
  bury(id: string, gen: number, now: number): void {
    const had = this.buried.get(id)
    this.buried.delete(id) // re-insert: the map's order is the order of burial
    this.buried.set(id, { gen: had === undefined ? gen : Math.max(had.gen, gen), at: now })
    while (this.buried.size > this.max) this.buried.delete(this.buried.keys().next().value as string)
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
