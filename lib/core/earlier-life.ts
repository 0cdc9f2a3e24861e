import type { Replica } from './replica.ts'
import { RefusedError } from './replica-types.ts'
import type { Rec } from './types.ts'

/**
 * A peer holds records of our own source above everything this life wrote:
 * an earlier life under the same id and generation wrote them with a clock
 * ahead of ours (the wall clock went back across a restart in memory).
 * Every peer holding those would take this life's records below them as
 * held already and never get them. So later writes go above `claim`, and
 * this life's records held at or below it are written again above it (same
 * keys, values and deletes; new versions): they reach every peer, and win
 * over the earlier life's, as the later writes they are. Returns how many.
 * A claim beyond the physical bound moves nothing.
 */
export function outliveEarlierLife(replica: Replica, claim: number): number {
  if (!replica.plausible(claim)) return 0
  if (claim > replica.version) replica.version = claim
  const first = replica.ownLife.firstWrite
  const again: Rec[] = []
  for (const rec of replica.self.log) if (rec.version >= first && rec.version <= claim) again.push(rec)
  let n = 0
  for (const rec of again) {
    try {
      replica.writeLocal(rec.key, rec.value, rec.deleted === true)
      n++
    } catch (err) {
      // Refused (the journal or `sign` threw): that record stays below, for fingerprint checks to find.
      if (!(err instanceof RefusedError)) throw err
    }
  }
  return n
}
