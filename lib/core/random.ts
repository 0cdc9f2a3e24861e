import type { RandomFn } from './types.ts'

/**
 * A small, fast, seedable PRNG (mulberry32). Deterministic for a given seed,
 * so simulations, property tests and jitter can be replayed.
 */
export function seededRandom(seed: number): RandomFn {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Fisher-Yates shuffle in place, driven by `random`. A draw outside [0, 1)
 * (a user's `random` may return 1, a negative number or NaN) is clamped
 * into range, so the result is always a permutation of `items`.
 */
export function shuffle<T>(items: T[], random: RandomFn): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1)
    const t = items[i]
    items[i] = items[j]
    items[j] = t
  }
  return items
}

/** Integer in [0, n) (0 when n ≤ 0); a draw outside [0, 1), or NaN, is clamped into range. */
export function randomInt(random: RandomFn, n: number): number {
  const j = Math.floor(random() * n)
  return j > 0 && n > 0 ? (j < n ? j : Math.ceil(n) - 1) : 0
}
