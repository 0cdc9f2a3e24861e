/** Refusals of a peer's record that show the record itself forged, as against this node's own reasons. */

export const UNSIGNED = 'unsigned update'
export const BAD_SIGNATURE = 'bad signature'

/**
 * Whether a refusal shows the record itself forged: `verify` said no. The
 * other refusals (a version ahead of this node's clock, `accept`, a
 * function that threw, storage) are this node's own, and an honest peer
 * may send or relay such a record.
 */
export function isForged(reason: string): boolean {
  return reason === UNSIGNED || reason === BAD_SIGNATURE
}
