import type { Duplex } from 'readable-stream'
import type { Replica } from '../core/replica.ts'
import { Session, type SessionOptions, type SessionPort } from '../core/session.ts'
import { encodePush, type WireMessage } from '../protocol/messages.ts'
import type { Rec } from '../core/types.ts'

/**
 * Where a binding's outgoing messages go: the readable side of its stream,
 * as objects or as framed bytes. Units are objects or bytes.
 */
export interface Outlet {
  /** Queue one message for the reader. */
  put(msg: WireMessage): void
  /** Queue a record with its chain link. */
  putLinked(rec: Rec, prev: number): void
  /** Units queued so far. */
  position(): number
  /** Units the reader has taken so far. */
  consumed(): number
  /** Whether the reader is behind by a highWaterMark or more. */
  full(): boolean
  /** When present: hold relays until the outlet's next flush, which calls `flushRelays` first. */
  soon?(): void
}

/** The outlet of an object-mode stream: messages are its objects. */
export function objectOutlet(stream: Duplex): Outlet {
  let put = 0
  return {
    put(msg) {
      put++
      stream.push(msg)
    },
    putLinked(rec, prev) {
      put++
      stream.push(encodePush(rec, prev))
    },
    position: () => put,
    consumed: () => put - stream.readableLength,
    full: () => stream.readableLength >= stream.readableHighWaterMark,
  }
}

/** Callbacks from a binding to the node that owns it. */
export interface BindingOwner {
  /** `fault`: see `SessionPort.invalid`. */
  onInvalid(reason: string, obj: unknown, stream: Duplex, fault: boolean): void
  /** The reader of `binding` asked for more: its buffer is draining. */
  onRoom(binding: Binding): void
  /** A binding was made (the node keeps every open one). */
  onOpen(binding: Binding): void
  onClose(binding: Binding): void
}

/**
 * Connects one Duplex (objects, or framed bytes) to one protocol `Session`.
 *
 * Backpressure, both ways:
 * - outgoing: a response is at most `mtu` updates; pushes are only queued
 *   while the buffer is under its highWaterMark, otherwise the session asks
 *   for an exchange, started here once the reader has drained the buffer;
 * - incoming: always read; while our outgoing buffer is full, the answers
 *   input calls for wait in the session (at most one of each kind), so a
 *   peer that never reads cannot make us buffer without bound, and two
 *   nodes with full outputs never wait on each other.
 */
export class Binding implements SessionPort {
  readonly session: Session
  private wanted = false
  private digestEnd = 0
  private closed = false
  relaySoon?: () => void

  constructor(
    /** The stream this binding carries. */
    readonly stream: Duplex,
    replica: Replica,
    opts: SessionOptions,
    private readonly owner: BindingOwner,
    outlet?: Outlet,
  ) {
    this.outlet = outlet ?? objectOutlet(stream)
    if (this.outlet.soon !== undefined) this.relaySoon = this.outlet.soon
    this.session = new Session(replica, this, opts)
    owner.onOpen(this)
  }
  private readonly outlet: Outlet

  // ---- SessionPort ----

  send(msg: WireMessage): void {
    if (this.closed) return
    this.outlet.put(msg)
  }

  sendLinked(rec: Rec, prev: number): void {
    if (this.closed) return
    this.outlet.putLinked(rec, prev)
  }

  room(): boolean {
    return !this.closed && !this.outlet.full()
  }

  invalid(reason: string, obj: unknown, fault: boolean): void {
    this.owner.onInvalid(reason, obj, this.stream, fault)
  }

  wantExchange(): void {
    if (this.room() && !this.session.inFlight) this.exchange()
    else this.wanted = true
  }

  // ---- stream side ----

  /** Pay an answer that waited for its time (`SessionOptions.answerPacing`) and what else waits for room. */
  answerHeld(): void {
    this.progress(false)
  }

  /** Start an exchange unless our last digest still sits unread in the buffer. */
  exchange(): void {
    if (this.closed) return
    if (this.digestEnd > this.outlet.consumed()) return
    this.wanted = false
    this.session.start()
    this.digestEnd = this.outlet.position()
  }

  write(chunk: unknown, callback: (err?: Error | null) => void): void {
    this.receive(chunk, false)
    this.settle(callback)
  }

  /**
   * Feed one peer object to the session. Peer input never throws there; if
   * a defect in this library does, the object is refused and reported, and
   * the stream goes on.
   */
  receive(obj: unknown, fresh: boolean): void {
    try {
      this.session.receive(obj, fresh)
    } catch (err) {
      this.owner.onInvalid(`internal error: ${err instanceof Error ? err.message : String(err)}`, obj, this.stream, true)
    }
  }

  /**
   * After some input was processed: go on with what waits for room, and
   * take the next input at once. Input is never held: what it would make
   * us write waits in the session instead (one answer of each kind), so two
   * nodes with full outputs never wait on each other.
   */
  settle(callback: (err?: Error | null) => void): void {
    this.progress(false)
    callback()
  }

  /**
   * The reader wants more (the stream called `_read`). The buffer may still
   * hold what it is about to take, so demand, not `room()`, decides here. If
   * nothing is pushed now, the stream calls `_read` again after our next push.
   */
  read(): void {
    this.progress(true)
    this.owner.onRoom(this)
  }

  /** Owed answers, a streamed response, a wanted exchange: whatever has room (or demand) now. */
  private progress(demand: boolean): void {
    if (this.closed) return
    this.session.payDebts(demand)
    if (this.session.streaming && (demand || this.room())) this.session.continueStream()
    if (this.wanted && (demand || this.room()) && !this.session.inFlight) this.exchange()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.session.close()
    this.owner.onClose(this)
  }

  get isClosed(): boolean {
    return this.closed
  }
}
