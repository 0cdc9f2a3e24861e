/**
 * Two links between this node and one peer id (with membership both
 * nodes dialled, or one dialled twice): which one this node closes.
 *
 * The rule both ends apply: keep the link dialled by the smaller id; when
 * one node dialled both, the one from its smaller port. But a peer's id is
 * only what its hello claims: nothing proves it (certificates and cluster
 * secrets prove membership of the cluster, not an id). So this node closes
 * a link only in favour of one it dialled itself, to an address it chose:
 * - an inbound link yields to an outbound one the rule prefers;
 * - an outbound link yields to another outbound one the rule prefers;
 * - an outbound link is never closed for an inbound one, nor an inbound
 *   one for another inbound one: both are kept. When the two are honest
 *   links to the same node, that node dialled the one the rule prefers,
 *   and closes the other from its side (the same rule, seen from there).
 *
 * Invariant: a link this node dialled is never closed because some
 * connection claims the same id, so a node that takes another's id (a
 * hostile one, or one started with that id) cannot cut this node off
 * from the node at the address it dials.
 */
import type { Duplex } from 'node:stream'
import type { Connection } from './connection.ts'

/** The port the dialler of `c` used, when the socket has one (TCP, TLS). */
function dialerPort(c: Connection): number | undefined {
  const s = c.socket as Duplex & { localPort?: number; remotePort?: number }
  return c.direction === 'out' ? s.localPort : s.remotePort
}

/**
 * Which of two links between this node (`self`) and one peer both ends
 * keep: the one dialled by the smaller id; when one node dialled both, the
 * one from its smaller port. Null when they cannot tell.
 */
function preferred(self: string, a: Connection, b: Connection): Connection | null {
  const da = a.direction === 'out' ? self : a.id
  const db = b.direction === 'out' ? self : b.id
  if (da !== db) return da < db ? a : b
  const pa = dialerPort(a)
  const pb = dialerPort(b)
  if (pa === undefined || pb === undefined || pa === pb) return null
  return pa < pb ? a : b
}

/** Of two links with one peer id, the one this node closes (see above), or null to keep both. */
export function redundantLink(self: string, a: Connection, b: Connection): Connection | null {
  const keep = preferred(self, a, b)
  if (keep === null || keep.direction === 'in') return null
  return keep === a ? b : a
}

/** Whether `a` is the better link to its peer for this node's rounds: one it dialled over one that only claims the id. */
export function betterLink(a: Connection, than: Connection): boolean {
  return a.direction === 'out' && than.direction === 'in'
}
