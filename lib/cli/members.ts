/**
 * The command-line node's cluster membership: joining with the flags
 * (`--seed`, `--members`, `--advertise`, `--view`, `--phi`), member events
 * as output lines, and the `members` command's rows.
 */
import { hostname } from 'node:os'
import type { Member } from '../membership/types.ts'
import { join } from '../transport/membership.ts'
import type { Network } from '../transport/network.ts'
import { BurstLog, withRepeats } from '../transport/rate-log.ts'
import type { TlsOptions } from '../transport/tls.ts'
import { hostPortText as hostPort, type HostPort, type MembershipFlags } from './args.ts'
import { escapeUnsafe, shown } from '../transport/safe-text.ts'

/** Member event lines printed in full per 10 s; past that, one line per kind with a count. */
const MEMBER_LINES = 100

/** An event line: name, fields for `--json`, text for people. */
export type EventOut = (name: string, fields: Record<string, unknown>, text: string) => void

/**
 * Join the cluster: advertise `--advertise`, else the listening address
 * (the machine's host name when listening on every interface); dial
 * members as the listener is secured; report member events.
 */
export function joinCluster(network: Network, flags: MembershipFlags, listening: HostPort, tls: TlsOptions | undefined, event: EventOut): string {
  const wildcard = listening.host === '0.0.0.0' || listening.host === '::'
  const advertise = hostPort(flags.advertise ?? (wildcard ? { host: hostname(), port: listening.port } : listening))
  // A peer that gossips made-up members must not make the log grow with them.
  const lines = new BurstLog<{ kind: string; fields: Record<string, unknown> }>(
    (line, d) => event(d.kind, d.fields, line),
    (line, repeats, d) => event(d.kind, repeats > 0 ? { ...d.fields, repeats } : d.fields, withRepeats(line, repeats)),
    () => network.timers.now(), // monotonic: a step of the wall clock does not hold lines back
    MEMBER_LINES,
  )
  for (const kind of ['join', 'up', 'down', 'leave'] as const) {
    network.on(kind, (m, reason) =>
      lines.line(kind, `member ${kind}: ${shown(m.id)} (${shown(m.address)}, generation ${m.generation}): ${escapeUnsafe(reason)}`, { kind, fields: { id: m.id, generation: m.generation, address: m.address, state: m.state, reason } }),
    )
  }
  join(network, { advertise, seeds: flags.seeds.map(hostPort), view: flags.view, detector: { threshold: flags.phi }, ...(tls === undefined ? {} : { tls }) })
  return advertise
}

/** A member as a `members` row. */
export function memberRow(m: Member): Record<string, unknown> {
  return { id: m.id, state: m.state, address: m.address, generation: m.generation, heartbeat: m.heartbeat, phi: Math.round(m.phi * 10) / 10, self: m.self }
}

/** Member counts by state, for `stats` (undefined without membership). */
export function memberCounts(network: Network): Record<string, number> | undefined {
  if (network.membership === null) return undefined
  const c: Record<string, number> = { total: 0, alive: 0, suspect: 0, dead: 0, left: 0 }
  for (const m of network.members()) {
    c.total++
    c[m.state]++
  }
  return c
}

/** The `members` result as text: one member per line, ids and addresses shown safe for a terminal. */
export function membersText(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no membership: start the node with --seed or --members)'
  return rows
    .map((r) => `${shown(String(r.id))} ${r.state} ${shown(String(r.address))} generation ${r.generation} heartbeat ${r.heartbeat}${r.self ? ' (this node)' : ` phi ${r.phi}`}`)
    .join('\n')
}
