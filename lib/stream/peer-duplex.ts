import { Duplex, type DuplexOptions } from 'readable-stream'
import type { Binding } from './binding.ts'

type Callback = (err?: Error | null) => void

/**
 * A Duplex that carries one peer's session through a `Binding`: a read asks
 * it for more, a write feeds it, the end of input closes it, destroying the
 * stream closes what the stream owns. The node as a stream (`Gossip`), its
 * extra peer streams (`PeerStream`) and its byte streams (`WireStream`) are
 * all this; they differ only in how a write is taken in (`feedChunk`), what is
 * flushed at the end (`ending`), and what a destroy closes (`closing`).
 */
export abstract class PeerDuplex extends Duplex {
  constructor(options: DuplexOptions) {
    super(options)
  }

  /** The binding reads and writes go to (a `Gossip` makes its own on first use). */
  protected abstract binding(): Binding

  /** The binding if it exists, for the end of the stream. */
  protected existingBinding(): Binding | null {
    return this.binding()
  }

  /** Take in one written chunk. */
  protected feedChunk(chunk: unknown, _enc: BufferEncoding, callback: Callback): void {
    this.binding().write(chunk, callback)
  }

  /** Input ended: flush what is held, before the session closes. */
  protected ending(): void {}

  /** Destroyed: close what this stream owns. */
  protected closing(): void {
    this.existingBinding()?.close()
  }

  override _read(): void {
    this.binding().read()
  }

  override _write(chunk: unknown, enc: BufferEncoding, callback: Callback): void {
    this.feedChunk(chunk, enc, callback)
  }

  override _final(callback: Callback): void {
    this.ending()
    this.existingBinding()?.close()
    this.push(null)
    callback()
  }

  override _destroy(err: Error | null, callback: (error: Error | null) => void): void {
    this.closing()
    callback(err)
  }
}

/** The error of a call a destroyed node refuses (`set`, `del`, `createStream`...), as Node's streams name theirs. */
export function destroyedError(call: string): Error {
  return Object.assign(new Error(`${call}: the node is destroyed`), { code: 'ERR_STREAM_DESTROYED' })
}

/**
 * Refuse, before piping objects to `dest`, a destination that takes bytes
 * (a socket, a wire stream): it would throw out of the stream's 'data'
 * handler at the first object, where no caller can catch it. A destination
 * that does not say (`writableObjectMode` undefined: an old-style stream) is
 * taken.
 */
export function checkObjectDestination(dest: object, who: string): void {
  if ((dest as { writableObjectMode?: unknown }).writableObjectMode !== false) return
  throw new TypeError(
    `${who}.pipe(): the destination takes bytes, and this stream gives objects; ` +
      'put a codec in between (createEncoder() or ndjson.stringify(), and createDecoder() or ndjson.parse() on the way back), ' +
      'or use gossip.createWireStream(), which speaks bytes itself',
  )
}
