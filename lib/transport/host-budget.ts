/**
 * New sessions served per host. What a fresh connection costs the node,
 * its first digest and a first answer that may be its whole state, is taken
 * from a bucket per host, `burst` deep, refilled one per `every` ms: a host
 * that reconnects in a loop is served at that pace (its connections wait
 * for their first answer), while honest hosts (a restart, several nodes
 * behind one address) stay within the burst. At most `maxHosts` buckets
 * are kept; past that the oldest is dropped (that host starts full again).
 */
export class HostBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly burst: number,
    private readonly every: number,
    private readonly now: () => number,
    private readonly maxHosts = 4096,
  ) {}

  /** Whether `host` may be served one more new session now; if so, it is counted. */
  take(host: string): boolean {
    const t = this.now()
    let b = this.buckets.get(host)
    if (b === undefined) {
      b = { tokens: this.burst, at: t }
      this.buckets.set(host, b)
      if (this.buckets.size > this.maxHosts) this.buckets.delete(this.buckets.keys().next().value as string)
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (t - b.at) / this.every)
      b.at = t
    }
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }
}
