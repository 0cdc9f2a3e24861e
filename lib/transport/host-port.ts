/** `host:port` addresses apart, with nothing from Node: the browser bundle carries it (connections, the network). */

/** The host (without the brackets of an IPv6 one) and port of a `host:port` address. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':')
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(addr.slice(i + 1)) }
}
