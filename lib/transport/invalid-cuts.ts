/**
 * Peers whose links were closed for too many invalid objects, remembered
 * for the rest of the minute the budget counts over: their hellos are
 * refused until it ends, so the invalid budget bounds what a peer costs a
 * minute, not a connection (a peer that redials at once would otherwise
 * start a new budget each time). Keyed by host and the id the peer gave,
 * at most `MAX_CUTS` of them (the oldest forgotten first). A host with such
 * a cut is known too (`hostRecent`): a listener holds its hello back from
 * that host until it has read the dialler's, so that it can send the
 * refusal in its place (connection.ts).
 *
 * The id is the peer's own word, so one host could start a new budget per
 * connection under a new id. A host with links of `HOST_CUTS` different
 * ids closed this way within a minute has every hello refused until the
 * oldest of those closes is a minute old: one host costs at most
 * `HOST_CUTS` budgets a minute, whatever ids it gives. (Honest nodes
 * sharing the host with such peers wait out that minute too.)
 */

/** Peers remembered at most. */
export const MAX_CUTS = 1024
/** How long a close for invalid objects is remembered, ms: the budget's window. */
export const CUT_MS = 60_000
/** Closes of different ids from one host within `CUT_MS` past which the whole host is refused. */
export const HOST_CUTS = 8

/** What a refusal for invalid objects is for: the peer's own link, or its host's links of other ids. */
export type CutScope = 'peer' | 'host'

export class InvalidCuts {
  /** Per host and id, when its link was closed (in insertion order: the oldest first). */
  private readonly cuts = new Map<string, number>()
  /** Per host, when its latest closes of different ids were (at most `HOST_CUTS`, oldest first; hosts in insertion order). */
  private readonly hosts = new Map<string, number[]>()
  /** Per host, when a link of one of its peers was last closed (hosts in insertion order). */
  private readonly hostLast = new Map<string, number>()

  /** The link of peer `id` from `host` was closed for its invalid objects at `now`. */
  note(host: string, id: string, now: number): void {
    const key = `${host}\u0000${id}`
    const again = this.cuts.has(key)
    this.cuts.delete(key)
    this.cuts.set(key, now)
    if (this.cuts.size > MAX_CUTS) this.cuts.delete(this.cuts.keys().next().value!)
    bounded(this.hostLast, host, now)
    if (again) return // the same id again: its own refusal covers it
    const times = this.hosts.get(host) ?? []
    times.push(now)
    if (times.length > HOST_CUTS) times.shift()
    bounded(this.hosts, host, times)
  }

  /** Whether a peer from `host` had a link closed for invalid objects less than `CUT_MS` before `now`. */
  hostRecent(host: string, now: number): boolean {
    const at = this.hostLast.get(host)
    if (at === undefined) return false
    if (within(at, now)) return true
    this.hostLast.delete(host)
    return false
  }

  /**
   * Whether a hello of peer `id` from `host` is refused at `now`, and why:
   * 'peer' when that peer's link was closed within `CUT_MS`, else 'host'
   * when `HOST_CUTS` of that host's were; null when it is not refused.
   */
  recent(host: string, id: string, now: number): CutScope | null {
    const key = `${host}\u0000${id}`
    const at = this.cuts.get(key)
    if (at !== undefined) {
      if (within(at, now)) return 'peer'
      this.cuts.delete(key)
    }
    const times = this.hosts.get(host)
    if (times === undefined) return null
    if (times.length === HOST_CUTS && within(times[0]!, now)) return 'host'
    if (!within(times[times.length - 1]!, now)) this.hosts.delete(host)
    return null
  }
}

const within = (at: number, now: number) => now - at >= 0 && now - at < CUT_MS

/** Set `key` as the newest entry of `map`, the oldest forgotten past `MAX_CUTS`. */
function bounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > MAX_CUTS) map.delete(map.keys().next().value!)
}
