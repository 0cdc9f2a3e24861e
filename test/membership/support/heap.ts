/** A binary min-heap of values by numeric key; ties pop in insertion order (the simulator stays deterministic). */
export class Heap<T> {
  private keys: number[] = []
  private seqs: number[] = []
  private vals: T[] = []
  private seq = 0

  get size(): number {
    return this.keys.length
  }

  peekKey(): number | undefined {
    return this.keys[0]
  }

  push(key: number, val: T): void {
    this.keys.push(key)
    this.seqs.push(this.seq++)
    this.vals.push(val)
    let i = this.keys.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(i, p)) break
      this.swap(i, p)
      i = p
    }
  }

  pop(): [number, T] | undefined {
    if (this.keys.length === 0) return undefined
    const out: [number, T] = [this.keys[0], this.vals[0]]
    const last = this.keys.length - 1
    this.swap(0, last)
    this.keys.pop()
    this.seqs.pop()
    this.vals.pop()
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < this.keys.length && this.less(l, m)) m = l
      if (r < this.keys.length && this.less(r, m)) m = r
      if (m === i) break
      this.swap(i, m)
      i = m
    }
    return out
  }

  private less(a: number, b: number): boolean {
    return this.keys[a] < this.keys[b] || (this.keys[a] === this.keys[b] && this.seqs[a] < this.seqs[b])
  }

  private swap(a: number, b: number): void {
    ;[this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]]
    ;[this.seqs[a], this.seqs[b]] = [this.seqs[b], this.seqs[a]]
    ;[this.vals[a], this.vals[b]] = [this.vals[b], this.vals[a]]
  }
}
