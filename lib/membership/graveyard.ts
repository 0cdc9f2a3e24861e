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
 * longer than the grace period and kept running does. So does an earlier
 * generation than the one buried: the later life was not the member's
 * (a generation a peer forged, within the clock offset, for a member this
 * node did not hold alive then), and the earlier one, rising, is. It is
 * spared (the burial's floor goes below it) and the buried life itself
 * stays refused. The member's own record on its own link passes a burial
 * of a later life the member never confirmed on its link (see table.ts).
 *
 * Bounded: a burial is remembered for `ttl` ms, and at most `max` of them
 * (the oldest go first), each watching one earlier life. Generations are
 * wall-clock start times, so they grow across restarts of a node.
 */
export const REVIVE_RISES = 3

/** A life's counter watched for rises (the first seen is where it starts). */
export interface Watch {
  gen: number
  hb: number
  rises: number
}

/**
 * Counter `n` of life `gen` seen, against what `w` watched so far (null:
 * nothing): the latest generation seen is watched, earlier ones ignored.
 */
export function watch(w: Watch | null, gen: number, n: number): Watch {
  if (w === null || gen > w.gen) return { gen, hb: n, rises: 0 }
  if (gen === w.gen && n > w.hb) {
    w.hb = n
    w.rises++
  }
  return w
}

/** Whether `w` saw life `gen` rise `REVIVE_RISES` times. */
export function risen(w: Watch | null, gen: number): boolean {
  return w !== null && w.gen === gen && w.rises >= REVIVE_RISES
}

interface Burial {
  /** The life buried (the latest, when several were). */
  gen: number
  /** Lives up to this generation are refused too (earlier lives, over); below any life known alive since. */
  floor: number
  /** `gen` was heard from its member on the member's own link. */
  confirmed: boolean
  at: number
  /** The highest heartbeat counter of the life when buried, then the highest seen since. */
  hb: number
  /** Rises seen past the burial's counter. */
  rises: number
  /** An earlier life's counter, watched. */
  lower: Watch | null
}

export class Graveyard {
  private readonly buried = new Map<string, Burial>()

  constructor(
    private readonly ttl: number,
    private readonly max: number,
  ) {}

  /**
   * Remember that life `gen` of `id` was collected at `now`, its heartbeat
   * counter at `hb`; `confirmed`: the member itself said so on its link;
   * `alive`: a generation known alive (it replaced this one), not refused.
   */
  bury(id: string, gen: number, now: number, hb = 0, how: { confirmed?: boolean; alive?: number } = {}): void {
    const had = this.buried.get(id)
    this.buried.delete(id) // re-insert: the map's order is the order of burial
    let b: Burial
    if (had !== undefined && had.gen > gen) b = { ...had, at: now, floor: Math.max(had.floor, gen) }
    else {
      const same = had !== undefined && had.gen === gen
      b = { gen, floor: gen, confirmed: (same && had.confirmed) || how.confirmed === true, at: now, hb: same ? Math.max(had.hb, hb) : hb, rises: 0, lower: null }
    }
    if (how.alive !== undefined) b.floor = Math.min(b.floor, how.alive - 1)
    this.buried.set(id, b)
    while (this.buried.size > this.max) this.buried.delete(this.buried.keys().next().value as string)
  }

  /**
   * A heartbeat counter `n` of life `gen` of `id` was seen. Returns true
   * when it is the rise that brings a refused life back (the burial is then
   * forgotten, or, for an earlier life, lowered below it); false otherwise.
   */
  beat(id: string, gen: number, n: number): boolean {
    const b = this.buried.get(id)
    if (b === undefined || !(gen === b.gen || gen <= b.floor)) return false
    if (gen < b.gen) {
      b.lower = watch(b.lower, gen, n)
      if (!risen(b.lower, gen)) return false
      b.floor = gen - 1
      b.lower = null
      return true
    }
    if (n <= b.hb) return false
    b.hb = n
    if (++b.rises < REVIVE_RISES) return false
    this.buried.delete(id)
    return true
  }

  /**
   * Whether life `gen` of `id` is refused: buried, or older than one
   * buried. `owner`: the member's own record on its own link, which passes
   * the burial of a later life it never confirmed there.
   */
  holds(id: string, gen: number, owner = false): boolean {
    const b = this.buried.get(id)
    if (b === undefined || !(gen === b.gen || gen <= b.floor)) return false
    return !(owner && gen < b.gen && !b.confirmed)
  }

  /** Life `gen` of `id` is held alive again: no burial refuses it any more. */
  spare(id: string, gen: number): void {
    const b = this.buried.get(id)
    if (b === undefined) return
    if (gen === b.gen) this.buried.delete(id)
    else if (gen <= b.floor) b.floor = gen - 1
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
