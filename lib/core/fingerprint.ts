import type { Rec } from './types.ts'

/**
 * Order-independent 64-bit fingerprints (two 32-bit lanes, XOR-combined):
 * adding or removing an item is one XOR, so each source keeps the
 * fingerprint of its live records up to date at O(1) per change.
 *
 * Two honest nodes at the same clock for a source hold the same live
 * records of it once writes have settled. A difference that persists at an
 * unchanged clock means one of them lacks what its clock claims (a peer
 * lied about completeness, a writer told nodes different stories, or a
 * defect): the records of that source are exchanged in full. Tombstones
 * count until their grace period is over, when every node leaves them out
 * (forgets them, or for its own, keeps them unfingerprinted).
 */
export class Fingerprint {
  hi = 0
  lo = 0

  /** XOR one item in (or out: the same call again). */
  toggle(h: readonly [number, number]): void {
    this.hi = (this.hi ^ h[0]) >>> 0
    this.lo = (this.lo ^ h[1]) >>> 0
  }

  clear(): void {
    this.hi = 0
    this.lo = 0
  }

  /** 16 hex digits. */
  toString(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0')
  }
}

const pair: [number, number] = [0, 0]

/** Mix a string into the two lanes (FNV-1a style, with distinct offsets). */
function mixString(s: string, a: number, b: number): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15)
  }
  pair[0] = a
  pair[1] = b
}

/** Mix a safe integer into the lanes. */
function mixNumber(n: number): void {
  const lo = n >>> 0
  const hi = Math.floor(n / 4294967296) >>> 0
  let a = Math.imul(pair[0] ^ lo, 0x85ebca6b)
  let b = Math.imul(pair[1] ^ hi, 0xc2b2ae35)
  a ^= Math.imul(hi ^ (a >>> 13), 0x27d4eb2f)
  b ^= Math.imul(lo ^ (b >>> 16), 0x165667b1)
  pair[0] = (a ^ (a >>> 16)) >>> 0
  pair[1] = (b ^ (b >>> 13)) >>> 0
}

/** The fingerprint of one record's identity: key, source, generation, version. */
export function recordHash(rec: Rec): readonly [number, number] {
  mixString(rec.key, 0x811c9dc5, 0x050c5d1f)
  mixString(rec.source_id, pair[0] ^ 0x2f, pair[1] ^ 0x7b)
  if (rec.gen !== undefined) mixString(rec.gen, pair[0] ^ 0x13, pair[1] ^ 0x61)
  mixNumber(rec.version)
  return pair
}
