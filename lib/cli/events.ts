/**
 * The command-line node's network events as output lines (the `--json`
 * fields and the text for people), rate-limited on the network's clock.
 */
import type { Network, PeerInfo } from '../transport/network.ts'
import { BurstLog, RateLog, withRepeats } from '../transport/rate-log.ts'
import type { EventOut } from './members.ts'
import { shown } from '../transport/safe-text.ts'

function peerFields(p: PeerInfo): Record<string, unknown> {
  return { id: p.id, address: p.address, direction: p.direction }
}

/** Connect and disconnect lines printed in full per 10 s; past that, one line per kind (and reason) with a count. */
const LINK_LINES = 20

/**
 * Report the network's link events (connect, disconnect, refused) and its
 * log lines through `event`, rate-limited so that a peer cannot make the
 * output grow with its rate.
 */
export function reportEvents(network: Network, event: EventOut): void {
  // A peer that reconnects in a loop must not make the log grow with its rate.
  const links = new BurstLog<{ name: string; fields: Record<string, unknown> }>(
    (line, d) => event(d.name, d.fields, line),
    (line, repeats, d) => event(d.name, repeats > 0 ? { ...d.fields, repeats } : d.fields, withRepeats(line, repeats)),
    () => network.timers.now(), // monotonic: a step of the wall clock does not hold lines back
    LINK_LINES,
  )
  const linkEvent = (key: string, name: string, fields: Record<string, unknown>, text: string): void => links.line(key, text, { name, fields })
  network.on('connect', (p) => linkEvent('connect', 'connect', peerFields(p), `connected: ${shown(p.id)} (${shown(p.address)}, ${p.direction})`))
  network.on('disconnect', (p, reason) =>
    linkEvent(`disconnect ${reason}`, 'disconnect', { ...peerFields(p), reason }, `disconnected: ${shown(p.id || p.address)}: ${reason}`),
  )
  // A flood of refusals (a connection storm) prints one line per reason every 10 s, with a count.
  const refusals = new RateLog<{ address: string; reason: string }>(
    (line, repeats, f) => event('refused', repeats > 0 ? { ...f, repeats } : f, withRepeats(line, repeats)),
    () => network.timers.now(), // monotonic: a step of the wall clock does not hold lines back
  )
  // Keyed on the kind of refusal: the reason up to the first of the peer's values in it (a quote, a bracket,
  // a brace or a digit starts one), so what a peer sends does not make a new key.
  const kind = (reason: string) => reason.slice(0, reason.search(/["[{\d]|$/))
  network.on('refused', (address, reason) => refusals.line(`refused ${kind(reason)}`, `refused ${shown(address)}: ${reason}`, { address, reason }))
  // Invalid objects reach the output through the network's rate-limited log lines, never one line each.
  network.on('log', (line) => event('log', { message: line }, line))
}
