/**
 * Accepted sockets that are not links yet: a TLS handshake or a WebSocket
 * upgrade in progress on a listener of the network. Each holds a slot from
 * the moment it is accepted until it closes or is handed to
 * `network.attach` (where `maxConnections` counts it from then on); past
 * `max` slots a new socket is destroyed at once. So a flood of sockets that
 * never finish their handshake holds at most `max` descriptors, and gives
 * its slots back as the handshake timeout (`helloTimeout`) ends them.
 *
 * Invariant: `size` is the number of sockets held, each open, each counted
 * once; every socket leaves on its 'close' event or on `release`, whichever
 * comes first.
 */

/** What a held socket needs: a way to end it, and to hear that it ended. */
export interface PendingSocket {
  destroy(): void
  once(event: 'close', listener: () => void): unknown
}

export class PendingSockets {
  private readonly held = new Set<object>()

  constructor(
    /** Most sockets held at once. */
    readonly max: number,
    /** Told of each socket refused over `max` (it is already destroyed). */
    private readonly onRefused: (address: string) => void,
  ) {}

  /** Sockets held now. */
  get size(): number {
    return this.held.size
  }

  /**
   * Hold a slot for `socket`, just accepted, until it closes or `release`.
   * Returns false, having destroyed it, when `max` sockets are held.
   */
  hold(socket: PendingSocket, address: string): boolean {
    if (this.held.has(socket)) return true
    if (this.held.size >= this.max) {
      socket.destroy()
      this.onRefused(address)
      return false
    }
    this.held.add(socket)
    socket.once('close', () => this.held.delete(socket))
    return true
  }

  /** Give back the slot of `socket` (the socket held, or a TLS socket over it); a socket that holds none is ignored. */
  release(socket: object): void {
    this.held.delete(underlying(socket))
  }
}

/**
 * The socket a TLS socket wraps, or `socket` itself when it wraps none:
 * what a listener accepted, for a TLS socket made over it. node:tls keeps
 * it as `_parent`, undocumented but long-standing; were it to go, TLS
 * listeners would fail closed (every handshake ends at its timeout) and
 * test/transport/tls.test.ts would fail.
 */
export function underlying(socket: object): object {
  const parent = (socket as { _parent?: unknown })._parent
  return typeof parent === 'object' && parent !== null ? parent : socket
}
