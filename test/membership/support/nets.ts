/** Networks with cluster membership on loopback, for the membership network tests. */
import { Network, join, listen, type Membership, type MembershipOptions } from '../../../lib/net.ts'
import type { Gossip, GossipConfig } from '../../../lib/index.ts'
import type { Member } from '../../../lib/membership/types.ts'
import { node } from '../../support/streams.ts'

export interface Seen {
  kind: 'join' | 'up' | 'down' | 'leave'
  id: string
  generation: number
  reason: string
}

export interface MemberNet {
  id: string
  gossip: Gossip
  net: Network
  membership: Membership
  port: number
  addr: string
  events: Seen[]
  /** The member `id` as this node sees it. */
  member(id: string): Member | undefined
}

/** A node listening on 127.0.0.1 (a free port) that joins through `seeds`; its wall clock is the real one. */
export async function memberNet(
  id: string,
  opts: Partial<MembershipOptions> & { interval?: number; config?: Partial<GossipConfig>; invalidBudget?: number } = {},
): Promise<MemberNet> {
  // A real wall clock: generations are start times, and hellos compare clocks.
  const gossip = node(id, { now: () => Date.now(), ...opts.config })
  const net = new Network(gossip, { interval: opts.interval ?? 100, backoff: { initial: 10, max: 200 }, ...(opts.invalidBudget === undefined ? {} : { invalidBudget: opts.invalidBudget }) })
  const listener = await listen(net, { port: 0, host: '127.0.0.1' })
  const addr = `127.0.0.1:${listener.port}`
  const events: Seen[] = []
  for (const kind of ['join', 'up', 'down', 'leave'] as const) net.on(kind, (m, reason) => events.push({ kind, id: m.id, generation: m.generation, reason }))
  const { interval: _i, config: _c, invalidBudget: _b, ...membershipOpts } = opts
  const membership = join(net, { advertise: addr, ...membershipOpts })
  return { id, gossip, net, membership, port: listener.port, addr, events, member: (m) => net.members().find((x) => x.id === m) }
}

/** Whether every node of `nets` holds every other alive (and itself); with `beating`, also heard each one's heartbeat rise. */
export function allAlive(nets: MemberNet[], beating = false): boolean {
  return nets.every((n) => {
    const ms = n.net.members()
    return ms.length === nets.length && ms.every((m) => m.state === 'alive' && (!beating || m.self || m.heartbeat > 1))
  })
}
