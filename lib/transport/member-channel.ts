/**
 * The membership layer's share of one connection: its lines in (split from
 * the replica's by `LineSplitter`), parsed and validated before the pure
 * exchange sees them, and its lines out, written to the socket between the
 * replica's chunks (each of which ends a line).
 */
import { messageJson, type MemberLink, type MemberMessage } from '../membership/exchange.ts'
import type { MemberRecord } from '../membership/types.ts'
import type { Connection, SideLink } from './connection.ts'
import type { LineSplitter } from './line-split.ts'

/** What a channel needs from the membership service. */
export interface ChannelOwner {
  readonly stats: { messagesIn: number; messagesOut: number; messagesDropped: number; bytesIn: number; bytesOut: number; recordsApplied: number; recordsRefused: number }
  readonly network: { readonly timers: { now(): number }; readonly gossip: { readonly config: { now(): number } } }
  /** Validate a parsed membership object. */
  read(obj: unknown): MemberMessage | string
}

/**
 * The most bytes a connection holds unread, membership lines included,
 * before membership lines are dropped instead of written (a line longer
 * than this goes only onto an empty queue).
 */
export const MAX_QUEUED = 1024 * 1024

export class MemberChannel implements SideLink {
  splitter: LineSplitter | null = null
  bytesOut = 0
  /** Lines were dropped for a full queue, and the queue has not been empty since. */
  private dropping = false

  constructor(
    private readonly owner: ChannelOwner,
    readonly conn: Connection,
    readonly link: MemberLink,
  ) {
    link.onRecord = (_rec, outcome) => {
      if (outcome === 'applied') owner.stats.recordsApplied++
      else if (outcome !== 'known') owner.stats.recordsRefused++
    }
  }

  get input(): LineSplitter {
    return this.splitter!
  }

  get bytesIn(): number {
    return this.splitter?.bytesIn ?? 0
  }

  get messagesIn(): number {
    return this.splitter?.linesIn ?? 0
  }

  /**
   * Whether this link's output is held back: lines were dropped because
   * the connection held too much unread, and the queue has not emptied
   * since (what `Connection.sweep` counts as a stall when no byte of it
   * leaves; small lines that still fit the queue do not clear it).
   */
  get blocked(): boolean {
    if (this.dropping && this.conn.socket.writableLength === 0) this.dropping = false
    return this.dropping
  }

  /**
   * Write messages to the peer, one line at a time: dropped once the
   * connection is closing, and from the first line that would leave more
   * than `MAX_QUEUED` bytes waiting unread on the connection (membership
   * repeats itself every round: the peer asks again, nothing is lost).
   *
   * Invariant: a line is serialised only when it is about to be written,
   * so what one link's membership output costs this node is at most
   * `MAX_QUEUED` bytes of unread lines (or one line, when a single line is
   * longer), however large the answer (the whole table, to a peer that
   * asked for every bucket); `msgs` only refer to held records.
   */
  send(msgs: MemberMessage[], done?: () => void): void {
    const socket = this.conn.socket
    if (this.conn.isClosed || socket.destroyed || socket.writableEnded || msgs.length === 0) {
      done?.()
      return
    }
    const stats = this.owner.stats
    if (socket.writableLength === 0) this.dropping = false
    let sent = 0
    for (; sent < msgs.length; sent++) {
      const queued = socket.writableLength
      if (queued >= MAX_QUEUED) break
      // Bytes, not a string: the socket's queue is then counted in bytes, as `bytesOut` is.
      const line = Buffer.from(messageJson(msgs[sent]) + '\n')
      const bytes = line.length
      if (queued > 0 && queued + bytes > MAX_QUEUED) break
      this.bytesOut += bytes
      stats.bytesOut += bytes
      stats.messagesOut++
      if (done !== undefined && sent === msgs.length - 1) socket.write(line, () => done())
      else socket.write(line)
    }
    if (sent < msgs.length) {
      this.dropping = true
      stats.messagesDropped += msgs.length - sent
      done?.()
    }
  }

  /** Send this node's record at once; resolves once the socket took it (or the link is gone). */
  push(rec: MemberRecord): Promise<void> {
    return new Promise((resolve) => this.send(this.link.push(rec), resolve))
  }

  /** One membership line from the peer. */
  receiveLine(line: string): void {
    const stats = this.owner.stats
    stats.messagesIn++
    stats.bytesIn += Buffer.byteLength(line) + 1
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch {
      this.conn.reportInvalid('membership line is not JSON')
      return
    }
    const msg = this.owner.read(obj)
    if (typeof msg === 'string') {
      this.conn.reportInvalid(msg)
      return
    }
    const net = this.owner.network
    this.send(this.link.receive(msg, net.timers.now()))
    // The peer said, on its own link, that it left: this node has read it, and closing tells the peer so.
    if (msg.mb === 'recs' && msg.recs.some((r) => r.id === this.conn.id && r.st === 'left') && this.link.table.get(this.conn.id)?.state === 'left') {
      this.conn.close('peer left the cluster')
    }
  }

  close(): void {
    this.splitter?.destroy()
  }
}
