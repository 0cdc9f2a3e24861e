/** Networks with cluster membership on loopback, for the membership network tests. */
import test from 'tape'
import { Network, join, listen, type Membership, type MembershipOptions, type NetworkOptions } from '../../../lib/net.ts'
import type { Gossip, GossipConfig } from '../../../lib/index.ts'
import type { Member } from '../../../lib/membership/types.ts'
import { node, waitFor } from '../../support/streams.ts'

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
  opts: Partial<MembershipOptions> & { interval?: number; config?: Partial<GossipConfig>; invalidBudget?: number; network?: Partial<NetworkOptions> } = {},
): Promise<MemberNet> {
  // A real wall clock: generations are start times, and hellos compare clocks.
  const gossip = node(id, { now: () => Date.now(), ...opts.config })
  const net = new Network(gossip, { interval: opts.interval ?? 100, backoff: { initial: 10, max: 200 }, ...(opts.invalidBudget === undefined ? {} : { invalidBudget: opts.invalidBudget }), ...opts.network })
  const listener = await listen(net, { port: 0, host: '127.0.0.1' })
  const addr = `127.0.0.1:${listener.port}`
  const events: Seen[] = []
  for (const kind of ['join', 'up', 'down', 'leave'] as const) net.on(kind, (m, reason) => events.push({ kind, id: m.id, generation: m.generation, reason }))
  const { interval: _i, config: _c, invalidBudget: _b, network: _n, ...membershipOpts } = opts
  const membership = join(net, { advertise: addr, ...membershipOpts })
  opened.add(net)
  return { id, gossip, net, membership, port: listener.port, addr, events, member: (m) => net.members().find((x) => x.id === m) }
}

/**
 * Every network made here is closed when the file's tests end, so a test
 * that throws before its own close cannot keep the process alive.
 */
const opened = new Set<Network>()
test.onFinish(() => {
  for (const net of opened) void net.close()
})

/** What each node holds: members (state, generation, heartbeat) and linked peers. */
export function describe(nets: MemberNet[]): string {
  return nets
    .map((n) => {
      const ms = n.net.members().map((m) => `${m.id}:${m.state}/g${m.generation}/hb${m.heartbeat}`)
      const ps = n.net.peers.map((p) => `${p.id}(${p.direction})`)
      return `${n.id} members [${ms.join(' ')}] peers [${ps.join(' ')}] connections ${n.net.connectionCount}`
    })
    .join('; ')
}

/** Wait until every node of `nets` holds every other alive (`allAlive`); on a timeout, the error says what each held. */
export async function untilAllAlive(nets: MemberNet[], beating: boolean, timeoutMs: number, what: string): Promise<void> {
  try {
    await waitFor(() => allAlive(nets, beating), timeoutMs, what)
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${describe(nets)}`)
  }
}

/** Whether every node of `nets` holds every other alive (and itself); with `beating`, also heard each one's heartbeat rise. */
export function allAlive(nets: MemberNet[], beating = false): boolean {
  return nets.every((n) => {
    const ms = n.net.members()
    return ms.length === nets.length && ms.every((m) => m.state === 'alive' && (!beating || m.self || m.heartbeat > 1))
  })
}
