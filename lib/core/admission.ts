import { BAD_SIGNATURE, UNSIGNED } from './refusals.ts'
import type { AcceptFn, ClockFn, PeerLabel, Rec, VerifyFn } from './types.ts'
import { isOversize, overLimit, oversizeReason } from './value-size.ts'

/** An error's message, or the value as text. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The refusal that means this node will never take the record (its `accept` said no). */
export const NOT_ACCEPTED = 'not accepted'
/** The refusal of a record of a source `verify` holds no key for (see `VerifyFn.knows`). */
export const NO_KEY = 'no key for this source'

/** Whether a refusal is this node's for good: the record is passed over, not fetched again. */
export function refusedForGood(reason: string): boolean {
  return reason === NOT_ACCEPTED || reason === NO_KEY || isOversize(reason)
}

/**
 * Whether a remote update may be considered at all, before `resolve`: its
 * signature (`verify`), the size of its value (`maxValueBytes`, in its
 * larger encoding: a value one wire format could not carry on is refused
 * for good), its version against our physical clock, and the `accept`
 * hook. Each user function must answer true or false; anything else, or a
 * throw, refuses the update with the reason (and its chain breaks, so it
 * is fetched again once the function answers).
 */
export class Admission {
  constructor(
    private readonly now: ClockFn,
    private readonly maxOffset: number,
    private readonly verify: VerifyFn | undefined,
    private readonly accept: AcceptFn | undefined,
    private readonly maxValueBytes = Infinity,
  ) {}

  /** Whether records must be signed (`verify` is set). */
  get signed(): boolean {
    return this.verify !== undefined
  }

  /**
   * Why `rec` must be refused outright, or null to go on to `resolve`. The
   * signature comes first, so a forged record is refused as forged (which
   * counts against its link) whatever its version.
   */
  admit(rec: Rec, peer: PeerLabel): string | null {
    if (this.verify !== undefined) {
      if (this.verify.knows !== undefined && ask('verify.knows', (r) => this.verify!.knows!(r.source_id), rec, peer) === false) return NO_KEY
      const ok = ask('verify', this.verify, rec, peer)
      if (typeof ok === 'string') return ok
      if (!ok) return rec.sig === undefined ? UNSIGNED : BAD_SIGNATURE
    }
    if (rec.deleted !== true && overLimit(rec.value, this.maxValueBytes) !== null) return oversizeReason(this.maxValueBytes)
    if (!this.plausible(rec.version)) return 'version too far ahead of this node\'s clock (clock skew?)'
    if (this.accept !== undefined) {
      const ok = ask('accept', this.accept, rec, peer)
      if (typeof ok === 'string') return ok
      if (!ok) return NOT_ACCEPTED
    }
    return null
  }

  /**
   * Why a local write must be refused, or null: `accept` is asked of it as
   * of a peer's (with this node as the peer), since every peer would
   * refuse a write this node's own rule refuses, and the node would hold
   * a value no one else ever takes.
   */
  local(rec: Rec, selfId: string): string | null {
    if (this.accept === undefined) return null
    const ok = ask('accept', this.accept, rec, { id: selfId })
    return ok === true ? null : ok === false ? `${NOT_ACCEPTED}: config.accept refuses this write (peers would refuse it too)` : ok
  }

  /** Whether a version a peer claims is within `maxOffset` of our physical clock. */
  plausible(version: number): boolean {
    return version <= this.now() + this.maxOffset
  }
}

/** A user function's true or false, or why it gave neither. */
function ask(name: string, fn: (rec: Rec, peer: PeerLabel) => unknown, rec: Rec, peer: PeerLabel): boolean | string {
  let ok: unknown
  try {
    ok = fn(rec, peer)
  } catch (err) {
    return `config.${name} threw: ${describe(err)}`
  }
  if (ok === true || ok === false) return ok
  return `config.${name} returned ${describe(ok)}, not true or false`
}
