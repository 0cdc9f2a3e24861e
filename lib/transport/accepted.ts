/**
 * The sockets a listener accepted that are still open: the links its
 * `close()` ends (in their hello or past it), through `network.closeWhere`,
 * so that closing a listener leaves none of its links behind.
 */
import type { Network } from './network.ts'
import { underlying } from './pending.ts'

export class AcceptedSockets {
  private readonly open = new Set<object>()

  /** Count `socket` (a raw socket, or the stream a link runs over) until it closes. */
  add(socket: { once(event: 'close', listener: () => void): unknown }): void {
    this.open.add(socket)
    socket.once('close', () => this.open.delete(socket))
  }

  /** End the links over these sockets (a TLS socket by the socket it wraps). While the network closes, it ends them itself. */
  closeLinks(network: Network, reason = 'listener closed'): void {
    if (this.open.size === 0 || network.isClosing) return
    network.closeWhere((c) => this.open.has(underlying(c.socket)), reason)
  }
}
