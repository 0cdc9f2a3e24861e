import type { Rec } from './types.ts'

/**
 * The current records of one source, ordered by version.
 *
 * Invariants:
 * - `recs[0..n)` holds records or holes (`null`, a superseded record), and
 *   `vers[i]` is the version of the record once stored at `i`; `vers` is
 *   non-decreasing over `[0, n)`.
 * - `live` counts the non-hole slots; a Fenwick tree over slot liveness
 *   answers "how many live records above version v" in O(log n).
 * - Holes are compacted away once they outnumber the live records, so a scan
 *   skips at most as many holes as it yields records (amortised).
 *
 * Records arrive mostly in ascending version, so insertion is an append in the
 * common case and a splice otherwise.
 */
export class SourceLog {
  private recs: (Rec | null)[] = []
  private vers = new Float64Array(8)
  private tree = new Int32Array(9)
  private treeValid = true
  private n = 0
  private holes = 0

  /** Number of live records. */
  get size(): number {
    return this.n - this.holes
  }

  /** Highest version among live records, or 0 when there are none. */
  get maxVersion(): number {
    for (let i = this.n - 1; i >= 0; i--) if (this.recs[i] !== null) return this.vers[i]
    return 0
  }

  insert(rec: Rec): void {
    const v = rec.version
    if (this.n === this.vers.length) this.grow()
    if (this.n === 0 || v >= this.vers[this.n - 1]) {
      const i = this.n++
      this.recs[i] = rec
      this.vers[i] = v
      if (this.treeValid) this.treeAdd(i, 1)
      return
    }
    const i = this.upperBound(v)
    this.recs.splice(i, 0, rec)
    this.vers.copyWithin(i + 1, i, this.n)
    this.vers[i] = v
    this.n++
    this.treeValid = false
  }

  /** Remove `rec` (by identity). Returns false when it is not held here. */
  remove(rec: Rec): boolean {
    let i = this.lowerBound(rec.version)
    while (i < this.n && this.vers[i] === rec.version) {
      if (this.recs[i] === rec) {
        this.recs[i] = null
        this.holes++
        if (this.treeValid) this.treeAdd(i, -1)
        if (this.holes > 32 && this.holes * 2 > this.n) this.compact()
        else if (i === this.n - 1) this.trimTail()
        return true
      }
      i++
    }
    return false
  }

  /** Version of the last live record below version `v`, or 0 when there is none. */
  versionBefore(v: number): number {
    for (let i = this.lowerBound(v) - 1; i >= 0; i--) if (this.recs[i] !== null) return this.vers[i]
    return 0
  }

  /** Slot of the first record with version `v` or above. */
  firstAt(v: number): number {
    return this.lowerBound(v)
  }

  /** Slot of the first record with version strictly above `v`. */
  firstAfter(v: number): number {
    return this.upperBound(v)
  }

  /** Number of live records in slots `[from, n)`. */
  liveFrom(from: number): number {
    if (from >= this.n) return 0
    if (from <= 0) return this.size
    if (!this.treeValid) this.rebuildTree()
    return this.size - this.treePrefix(from)
  }

  /**
   * Append up to `limit` live records from slot `from` onwards to `out`,
   * ascending by version. Returns the slot after the last one examined.
   */
  take(from: number, limit: number, out: Rec[]): number {
    let i = from
    const recs = this.recs
    while (limit > 0 && i < this.n) {
      const r = recs[i++]
      if (r !== null) {
        out.push(r)
        limit--
      }
    }
    return i
  }

  /** Every live record, ascending by version. */
  *[Symbol.iterator](): IterableIterator<Rec> {
    for (let i = 0; i < this.n; i++) {
      const r = this.recs[i]
      if (r !== null) yield r
    }
  }

  private upperBound(v: number): number {
    let lo = 0
    let hi = this.n
    const vers = this.vers
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (vers[mid] <= v) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private lowerBound(v: number): number {
    let lo = 0
    let hi = this.n
    const vers = this.vers
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (vers[mid] < v) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private grow(): void {
    const vers = new Float64Array(this.vers.length * 2)
    vers.set(this.vers)
    this.vers = vers
    this.treeValid = false
  }

  private trimTail(): void {
    while (this.n > 0 && this.recs[this.n - 1] === null) {
      this.n--
      this.holes--
      this.recs.length = this.n
    }
    // Trimming only removes trailing zero-weight slots: prefix sums below n stay valid.
  }

  private compact(): void {
    let w = 0
    const recs = this.recs
    for (let i = 0; i < this.n; i++) {
      const r = recs[i]
      if (r !== null) {
        recs[w] = r
        this.vers[w] = this.vers[i]
        w++
      }
    }
    recs.length = w
    this.n = w
    this.holes = 0
    this.treeValid = false
  }

  private rebuildTree(): void {
    const size = this.vers.length
    if (this.tree.length !== size + 1) this.tree = new Int32Array(size + 1)
    else this.tree.fill(0)
    const t = this.tree
    for (let i = 0; i < this.n; i++) if (this.recs[i] !== null) t[i + 1] = 1
    for (let i = 1; i <= size; i++) {
      const j = i + (i & -i)
      if (j <= size) t[j] += t[i]
    }
    this.treeValid = true
  }

  private treeAdd(slot: number, delta: number): void {
    const t = this.tree
    const size = t.length - 1
    if (size !== this.vers.length) {
      this.treeValid = false
      return
    }
    for (let i = slot + 1; i <= size; i += i & -i) t[i] += delta
  }

  /** Live records in slots [0, end). */
  private treePrefix(end: number): number {
    let s = 0
    const t = this.tree
    for (let i = end; i > 0; i -= i & -i) s += t[i]
    return s
  }
}
