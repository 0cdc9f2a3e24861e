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

/** Bytes queued on a connection above which membership lines are dropped instead of written. */
export const MAX_QUEUED = 1024 * 1024

export class MemberChannel implements SideLink {
  splitter: LineSplitter | null = null
  bytesOut = 0

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
   * Write messages to the peer: dropped once the connection is closing, and
   * while more than `MAX_QUEUED` bytes wait for a peer that does not read
   * (membership repeats itself every round; nothing is lost by dropping).
   */
  send(msgs: MemberMessage[], done?: () => void): void {
    const socket = this.conn.socket
    if (this.conn.isClosed || socket.destroyed || socket.writableEnded || msgs.length === 0) {
      done?.()
      return
    }
    if (socket.writableLength > MAX_QUEUED) {
      this.owner.stats.messagesDropped += msgs.length
      done?.()
      return
    }
    let text = ''
    for (const m of msgs) text += messageJson(m) + '\n'
    const bytes = Buffer.byteLength(text)
    this.bytesOut += bytes
    this.owner.stats.bytesOut += bytes
    this.owner.stats.messagesOut += msgs.length
    if (done === undefined) socket.write(text)
    else socket.write(text, () => done())
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
