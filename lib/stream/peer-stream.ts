import type { Replica } from '../core/replica.ts'
import type { SessionOptions, SessionStats } from '../core/session.ts'
import { Binding, type BindingOwner } from './binding.ts'
import { OnePeer } from './one-peer.ts'
import { PeerDuplex, checkObjectDestination } from './peer-duplex.ts'

export interface PeerStreamEvents {
  /** A peer object was refused; the stream carries on with the next one. */
  invalid: [reason: string, message: unknown]
}

/**
 * One peer's object-mode Duplex, from `gossip.createStream()`. It shares the
 * node's state and history and keeps its own digest progress. Ending its
 * writable side (the peer finished) ends its readable side too. It is one
 * peer's: a second source or destination is refused (`OnePeer`).
 */
export class PeerStream extends PeerDuplex {
  private readonly bound: Binding
  private readonly peer = new OnePeer(this, 'createStream')

  /** @internal use `gossip.createStream()` */
  constructor(replica: Replica, opts: SessionOptions, owner: BindingOwner) {
    super({ objectMode: true, highWaterMark: Math.min(opts.mtu, 65_536) }) // mtu may be Infinity; a buffer needs a bound
    this.bound = new Binding(this, replica, opts, owner)
  }

  /** Pipe to the peer's input; throws if the stream is piped to another destination already, or `destination` takes bytes. */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    checkObjectDestination(destination, 'stream')
    if (this.peer.destination(destination)) return destination
    return super.pipe(destination, options)
  }

  /** Start an exchange with this peer now. */
  gossip(): void {
    this.bound.exchange()
  }

  get stats(): Readonly<SessionStats> {
    return this.bound.session.stats
  }

  protected binding(): Binding {
    return this.bound
  }
}

export interface PeerStream {
  on<K extends keyof PeerStreamEvents>(event: K, listener: (...args: PeerStreamEvents[K]) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<K extends keyof PeerStreamEvents>(event: K, listener: (...args: PeerStreamEvents[K]) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
