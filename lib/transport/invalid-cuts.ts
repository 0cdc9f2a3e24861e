/**
 * Peers whose links were closed for too many invalid objects, remembered
 * for the rest of the minute the budget counts over: their hellos are
 * refused until it ends, so the invalid budget bounds what a peer costs a
 * minute, not a connection (a peer that redials at once would otherwise
 * start a new budget each time). Keyed by host and the id the peer gave,
 * at most `MAX_CUTS` of them (the oldest forgotten first).
 */

/** Peers remembered at most. */
export const MAX_CUTS = 1024
/** How long a close for invalid objects is remembered, ms: the budget's window. */
export const CUT_MS = 60_000

export class InvalidCuts {
  /** Per host and id, when its link was closed (in insertion order: the oldest first). */
  private readonly cuts = new Map<string, number>()

  /** The link of peer `id` from `host` was closed for its invalid objects at `now`. */
  note(host: string, id: string, now: number): void {
    const key = `${host}\u0000${id}`
    this.cuts.delete(key)
    this.cuts.set(key, now)
    if (this.cuts.size > MAX_CUTS) this.cuts.delete(this.cuts.keys().next().value!)
  }

  /** Whether peer `id` from `host` had a link closed for invalid objects less than `CUT_MS` before `now`. */
  recent(host: string, id: string, now: number): boolean {
    const key = `${host}\u0000${id}`
    const at = this.cuts.get(key)
    if (at === undefined) return false
    if (now - at >= 0 && now - at < CUT_MS) return true
    this.cuts.delete(key)
    return false
  }
}
