/** Refusals of a peer's record that hold against the peer, as against this node's own reasons. */

export const UNSIGNED = 'unsigned update'
export const BAD_SIGNATURE = 'bad signature'

/**
 * Whether a refusal holds against the peer: `verify` said no (the record
 * is forged). The other refusals (a version ahead of this node's clock,
 * one source more than `maxSources`, `accept`, a function that threw,
 * storage) are this node's own, and an honest peer may send or relay such
 * a record.
 */
export function isForged(reason: string): boolean {
  return reason === UNSIGNED || reason === BAD_SIGNATURE
}
