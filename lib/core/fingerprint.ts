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
  private hi = 0
  private lo = 0
  /**
   * The last records added, not yet hashed in (at most `PENDING`): one
   * replaced before the fingerprint is next read (a key written again and
   * again) is never hashed at all. The value read is the same either way.
   */
  private readonly pending: Rec[] = []

  /** A record is now counted in. */
  add(rec: Rec): void {
    if (this.pending.length === PENDING) this.settle()
    this.pending.push(rec)
  }

  /** A record counted in (by `add`) is now left out. */
  remove(rec: Rec): void {
    const p = this.pending
    for (let i = p.length - 1; i >= 0; i--) {
      if (p[i] !== rec) continue
      p[i] = p[p.length - 1]
      p.pop()
      return
    }
    this.toggle(recordHash(rec))
  }

  /** 16 hex digits. */
  toString(): string {
    this.settle()
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0')
  }

  /** XOR one item in (or out: the same call again). */
  private toggle(h: readonly [number, number]): void {
    this.hi = (this.hi ^ h[0]) >>> 0
    this.lo = (this.lo ^ h[1]) >>> 0
  }

  private settle(): void {
    const p = this.pending
    for (let i = 0; i < p.length; i++) this.toggle(recordHash(p[i]))
    p.length = 0
  }
}

/** The XOR of two fingerprints (16 hex digits each): what one holds and the other does not. */
export function xorHex(a: string, b: string): string {
  const hi = (parseInt(a.slice(0, 8), 16) ^ parseInt(b.slice(0, 8), 16)) >>> 0
  const lo = (parseInt(a.slice(8), 16) ^ parseInt(b.slice(8), 16)) >>> 0
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

/** Records a fingerprint holds unhashed at most (each removal looks through them). */
const PENDING = 8

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

/**
 * The fingerprint of one record: its identity (key, source, generation,
 * version) and its content (tombstone or value), so that two nodes holding
 * different content under one identity (a writer that reused a version)
 * differ. Equal JSON values hash alike whatever the order of object keys.
 */
export function recordHash(rec: Rec): readonly [number, number] {
  const v = valueHash(rec.value)
  mixString(rec.key, 0x811c9dc5 ^ v, 0x050c5d1f)
  mixString(rec.source_id, pair[0] ^ 0x2f, pair[1] ^ 0x7b)
  if (rec.gen !== undefined) mixString(rec.gen, pair[0] ^ 0x13, pair[1] ^ 0x61)
  mixNumber(rec.version)
  if (rec.deleted === true) pair[1] = (pair[1] ^ 0x9e3779b9) >>> 0
  return pair
}

/** A 32-bit hash of a JSON value; object members combine by addition (order-independent). */
function valueHash(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return strHash(v, 0x3b)
    case 'number':
      return numHash(v)
    case 'boolean':
      return v ? 0x5bd1e995 : 0x1b873593
    case 'object': {
      if (v === null) return 0x2545f491
      let h: number
      if (Array.isArray(v)) {
        h = 0x27d4eb2f
        for (let i = 0; i < v.length; i++) h = Math.imul(h ^ valueHash(v[i]), 0x01000193)
        return (h ^ v.length) >>> 0
      }
      h = 0x165667b1
      const keys = Object.keys(v)
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]
        h = (h + Math.imul(strHash(k, 0x71) ^ valueHash((v as Record<string, unknown>)[k]), 0x85ebca6b)) >>> 0
      }
      return h
    }
    default:
      return 0
  }
}

function strHash(s: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function numHash(n: number): number {
  const lo = n >>> 0
  const hi = Math.floor(n / 4294967296) | 0
  const f = Number.isInteger(n) ? 0 : Math.floor((n - Math.floor(n)) * 4294967296) >>> 0
  return (Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi ^ f, 0xc2b2ae35)) >>> 0
}
