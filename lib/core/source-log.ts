import { firstAbove, type Rec } from './types.ts'

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
 * - Records inserted far below the end (more than `nearEnd` slots) wait in
 *   `pend`, ascending, at most `pendMax` of them, and are merged in (holes
 *   compacted) when it overflows or before anything reads slots; `size`,
 *   `maxVersion`, `versionBefore` and `remove` look at both.
 *
 * Records arrive mostly in ascending version, so insertion is an append in the
 * common case and a short splice otherwise; a peer sending a source's records
 * in descending order costs O(pendMax + n / pendMax) per record, not O(n).
 */
export class SourceLog {
  private recs: (Rec | null)[] = []
  private vers = new Float64Array(8)
  private tree = new Int32Array(9)
  private treeValid = true
  private n = 0
  private holes = 0
  /** Records inserted far below the end, ascending by version, not merged yet. */
  private pend: Rec[] = []

  constructor(
    private readonly nearEnd = 64,
    private readonly pendMax = 512,
  ) {}

  /** Number of live records. */
  get size(): number {
    return this.n - this.holes + this.pend.length
  }

  /** Highest version among live records, or 0 when there are none. */
  get maxVersion(): number {
    const p = this.pend.length > 0 ? this.pend[this.pend.length - 1].version : 0
    for (let i = this.n - 1; i >= 0; i--) if (this.recs[i] !== null) return Math.max(this.vers[i], p)
    return p
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
    if (this.n - i > this.nearEnd) {
      const pend = this.pend
      pend.splice(firstAbove(pend, v), 0, rec)
      if (pend.length > this.pendMax) this.merge()
      return
    }
    this.recs.splice(i, 0, rec)
    this.vers.copyWithin(i + 1, i, this.n)
    this.vers[i] = v
    this.n++
    this.treeValid = false
  }

  /** Remove `rec` (by identity). Returns false when it is not held here. */
  remove(rec: Rec): boolean {
    const pend = this.pend
    if (pend.length > 0) {
      for (let j = firstAbove(pend, rec.version - 1); j < pend.length && pend[j].version === rec.version; j++) {
        if (pend[j] === rec) {
          pend.splice(j, 1)
          return true
        }
      }
    }
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
    const j = firstAbove(this.pend, v - 1) - 1
    const p = j >= 0 ? this.pend[j].version : 0
    for (let i = this.lowerBound(v) - 1; i >= 0; i--) if (this.recs[i] !== null) return Math.max(this.vers[i], p)
    return p
  }

  // Slots: what reads them sees every record merged in.

  /** Slot of the first record with version `v` or above. */
  firstAt(v: number): number {
    this.merge()
    return this.lowerBound(v)
  }

  /** Slot of the first record with version strictly above `v`. */
  firstAfter(v: number): number {
    this.merge()
    return this.upperBound(v)
  }

  /** Number of live records in slots `[from, n)`. */
  liveFrom(from: number): number {
    this.merge()
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
    this.merge()
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
    this.merge()
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

  /** Merge `pend` into the slots, compacting holes away (nothing to do when it is empty). */
  private merge(): void {
    const pend = this.pend
    if (pend.length === 0) return
    const total = this.n - this.holes + pend.length
    const recs: Rec[] = new Array(total)
    let cap = this.vers.length
    while (cap < total + 1) cap *= 2
    const vers = new Float64Array(cap)
    let w = 0
    let j = 0
    for (let i = 0; i < this.n; i++) {
      const r = this.recs[i]
      if (r === null) continue
      // Equal versions: the record already in the slots first, as a splice at upperBound put it.
      while (j < pend.length && pend[j].version < this.vers[i]) {
        recs[w] = pend[j]
        vers[w++] = pend[j++].version
      }
      recs[w] = r
      vers[w++] = this.vers[i]
    }
    for (; j < pend.length; j++) {
      recs[w] = pend[j]
      vers[w++] = pend[j].version
    }
    this.recs = recs
    this.vers = vers
    this.n = w
    this.holes = 0
    this.pend = []
    this.treeValid = false
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
