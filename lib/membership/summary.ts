/**
 * The records summary of a member table: the XOR of 64-bit hashes of the
 * records in it, whole (16 hex digits) and per bucket of the id's hash.
 * Two nodes with equal summaries hold the same records, so in a steady
 * cluster the record digest is one 16-digit string, whatever its size;
 * where they differ, the buckets say which records to exchange.
 *
 * Invariant: the sums are the XOR over exactly the entries whose
 * `inSummary` is true, of the hashes (`h0`, `h1`) taken when each was
 * included; an entry's record changes only while it is excluded.
 */
import { hex8, recordHash } from './record.ts'
import type { MemberRecord } from './types.ts'

/** The most buckets a summary is split into (a power of two). */
export const MAX_BUCKETS = 256

/** What the summary needs of a table entry. */
export interface Summed {
  readonly record: MemberRecord
  inSummary: boolean
  h0: number
  h1: number
  /** Hash of the id that picks its bucket. */
  readonly slot: number
}

export class RecordSummary {
  private sum0 = 0
  private sum1 = 0
  private summed = 0
  /** Per bucket of the finest split (256), the XOR of its records' first hashes; coarser splits fold it. */
  private readonly fine = new Array<number>(MAX_BUCKETS).fill(0)

  /** The summary: 16 hex digits. */
  get hex(): string {
    return hex8(this.sum0) + hex8(this.sum1)
  }

  /** Records in the summary. */
  get count(): number {
    return this.summed
  }

  /** Per bucket (of `count`, a power of two up to 256), the XOR of its records' hashes, as hex. */
  buckets(count: number): string[] {
    const acc = new Array<number>(count).fill(0)
    const mask = count - 1
    for (let i = 0; i < MAX_BUCKETS; i++) acc[i & mask] ^= this.fine[i]
    return acc.map(hex8)
  }

  include(e: Summed): void {
    if (e.inSummary) return
    const [h0, h1] = recordHash(e.record)
    e.h0 = h0
    e.h1 = h1
    this.sum0 ^= h0
    this.sum1 ^= h1
    this.fine[e.slot & (MAX_BUCKETS - 1)] ^= h0
    this.summed++
    e.inSummary = true
  }

  exclude(e: Summed): void {
    if (!e.inSummary) return
    this.sum0 ^= e.h0
    this.sum1 ^= e.h1
    this.fine[e.slot & (MAX_BUCKETS - 1)] ^= e.h0
    this.summed--
    e.inSummary = false
  }
}
