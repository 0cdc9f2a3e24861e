/**
 * Member addresses, "host:port" as records and seeds give them, and the
 * one key each names for dialling: so that spellings of one address count
 * as one (for the dial backoff, for one member per address, for not
 * dialling this node itself).
 *
 * - IPv6 is canonicalised by Node (`::FFFF:7f00:1` and
 *   `0:0:0:0:0:ffff:127.0.0.1` are one), and an IPv4-mapped address is
 *   the IPv4 one; a zone (`%eth0`) is kept.
 * - IPv4 in any form the system resolver takes as one (inet_aton's:
 *   `127.1`, `127.000.0.1`, `0x7f.0.0.1`, `0177.0.0.1`, `2130706433`) is
 *   dotted decimal: a dial of any of them would reach that address.
 * - A host name is lower-cased, without its final dot; names are not
 *   resolved here (the dial rate bounds names that resolve to one host).
 * - The port is a number (`09000` is `9000`).
 */
import { isIP, SocketAddress } from 'node:net'
import { splitHostPort } from './host-port.ts'

export { splitHostPort }

export const joinHostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

/** An IPv4 address in inet_aton's forms (1 to 4 parts, decimal, octal or hex), dotted; null when it is none. */
export function atonV4(host: string): string | null {
  const parts = host.split('.')
  if (parts.length > 4) return null
  const nums: number[] = []
  for (const p of parts) {
    let n: number
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16)
    else if (/^0[0-7]*$/.test(p)) n = parseInt(p, 8)
    else if (/^[1-9][0-9]*$/.test(p)) n = Number(p)
    else return null
    nums.push(n)
  }
  // Every part but the last is one byte; the last fills the bytes left.
  const last = nums.pop()!
  if (nums.some((n) => n > 255) || last >= 2 ** (8 * (4 - nums.length))) return null
  let v = last
  nums.forEach((n, i) => (v += n * 2 ** (8 * (3 - i))))
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.')
}

/** The canonical host: an IP as above, or a name lower-cased. */
export function canonicalHost(host: string): string {
  if (isIP(host) === 4) return host
  const pct = host.indexOf('%')
  const bare = pct < 0 ? host : host.slice(0, pct)
  if (isIP(bare) === 6) {
    let a = bare
    try {
      a = new SocketAddress({ address: bare, family: 'ipv6' }).address
    } catch {
      a = bare.toLowerCase()
    }
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
    if (mapped !== null) return mapped[1]
    return pct < 0 ? a : a + host.slice(pct)
  }
  const name = host.toLowerCase().replace(/\.$/, '')
  return atonV4(name) ?? name
}

/** The key of a "host:port" address (itself a dialable "host:port"). */
export function addressKey(addr: string): string {
  const { host, port } = splitHostPort(addr)
  return joinHostPort(canonicalHost(host), port)
}
