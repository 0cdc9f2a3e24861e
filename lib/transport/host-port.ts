/** `host:port` addresses apart, and ports checked, with nothing from Node: the browser bundle carries it (connections, the network). */
import { shown } from '../config.ts'

/** The host (without the brackets of an IPv6 one) and port of a `host:port` address. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':')
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(addr.slice(i + 1)) }
}

export interface HostPort {
  host: string
  port: number
}

/**
 * `host:port` (or `[v6addr]:port`) with a port in 1..65535, as a peer or
 * seed to dial is given; otherwise a string saying what is wrong ("must be
 * host:port", "needs a port ...").
 */
export function parseHostPort(text: string): HostPort | string {
  const m = /^(?:\[([^\]\s]+)\]|([^:\s\[\]]+)):([^:]*)$/.exec(text)
  if (m === null) return 'must be host:port'
  const port = /^\d{1,5}$/.test(m[3]) ? Number(m[3]) : NaN
  if (!(port >= 1 && port <= 65535)) return 'needs a port between 1 and 65535'
  return { host: m[1] ?? m[2], port }
}

/**
 * Check a TCP port option: an integer from `min` (0 for a listener: any
 * free port; 1 for a peer to dial) to 65535. Anything else (a string,
 * which Node would take as a pipe's name) is a RangeError naming the value.
 */
export function checkPort(subject: string, port: unknown, min: 0 | 1): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(`${subject} must be an integer from ${min} to 65535, got ${shown(port)}`)
  }
  return port
}
