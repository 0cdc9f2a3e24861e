import { Duplex } from 'readable-stream'
import type { Replica } from '../core/replica.ts'
import type { SessionOptions, SessionStats } from '../core/session.ts'
import { Binding, type BindingOwner } from './binding.ts'

export interface PeerStreamEvents {
  /** A peer object was refused; the stream carries on with the next one. */
  invalid: [reason: string, message: unknown]
}

/**
 * One peer's object-mode Duplex, from `gossip.createStream()`. It shares the
 * node's state and history and keeps its own digest progress. Ending its
 * writable side (the peer finished) ends its readable side too.
 */
export class PeerStream extends Duplex {
  private readonly binding: Binding

  /** @internal use `gossip.createStream()` */
  constructor(replica: Replica, opts: SessionOptions, owner: BindingOwner) {
    super({ objectMode: true, highWaterMark: opts.mtu })
    this.binding = new Binding(this, replica, opts, owner)
  }

  /** Start an exchange with this peer now. */
  gossip(): void {
    this.binding.exchange()
  }

  get stats(): Readonly<SessionStats> {
    return this.binding.session.stats
  }

  /** @internal */
  get _binding(): Binding {
    return this.binding
  }

  override _read(): void {
    this.binding.read()
  }

  override _write(chunk: unknown, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.binding.write(chunk, callback)
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.binding.close()
    this.push(null)
    callback()
  }

  override _destroy(err: Error | null, callback: (error: Error | null) => void): void {
    this.binding.close()
    callback(err)
  }
}

export interface PeerStream {
  on<K extends keyof PeerStreamEvents>(event: K, listener: (...args: PeerStreamEvents[K]) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<K extends keyof PeerStreamEvents>(event: K, listener: (...args: PeerStreamEvents[K]) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}
