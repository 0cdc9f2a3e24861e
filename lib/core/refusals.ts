/** Refusals of a peer's record by its signature, and which of them hold against the peer. */

export const UNSIGNED = 'unsigned update'
export const BAD_SIGNATURE = 'bad signature'

/**
 * Whether a refusal holds against the peer (counts against its link's
 * invalid budget): only an unsigned record in a signed cluster, which no
 * honest signed node holds. A bad signature does not: an honest peer
 * relays a record signed with a key this node does not hold (its writer's
 * key rotated, one of the two verifiers not updated yet), and a relay of
 * that kind cannot be told from a forgery. The forged record is refused
 * either way. The other refusals (a version ahead of this node's clock, one
 * source more than `maxSources`, `accept`, a function that threw, storage)
 * are this node's own, and an honest peer may send or relay such a record.
 */
export function holdsAgainstPeer(reason: string): boolean {
  return reason === UNSIGNED
}
