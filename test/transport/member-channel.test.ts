/**
 * The membership share of a connection (lib/transport/member-channel.ts)
 * against a socket whose peer never reads: an answer of the whole member
 * table (one `sums` line asking for every bucket) leaves at most
 * `MAX_QUEUED` bytes waiting; the rest is dropped, counted, and sent when
 * the peer asks again after it read.
 */
import test from 'tape'
import { Writable } from 'node:stream'
import { lineBudget, MemberLink, readMessage } from '../../lib/membership/exchange.ts'
import { MEMBER_LIMITS } from '../../lib/membership/types.ts'
import type { Connection } from '../../lib/transport/connection.ts'
import { MAX_QUEUED, MemberChannel, type ChannelOwner } from '../../lib/transport/member-channel.ts'
import { WALL, rec, table } from '../membership/support/tables.ts'

/** A socket whose writes complete only when `drain()` is called (the peer reads). */
class UnreadSocket extends Writable {
  written = 0
  private readonly pending: (() => void)[] = []
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
    this.written += chunk.length
    this.pending.push(callback)
  }
  override _writev(chunks: { chunk: Buffer }[], callback: () => void): void {
    for (const c of chunks) this.written += c.chunk.length
    this.pending.push(callback)
  }
  drain(): void {
    while (this.pending.length > 0) this.pending.shift()!()
  }
}

function channel(members: number, metaChars: number) {
  const { t } = table('n')
  const meta = { blob: 'x'.repeat(metaChars) }
  for (let i = 0; i < members; i++) t.applyRecord(rec(`m${i}`, { meta }), 0)
  let now = 1000
  const owner: ChannelOwner = {
    stats: { messagesIn: 0, messagesOut: 0, messagesDropped: 0, bytesIn: 0, bytesOut: 0, recordsApplied: 0, recordsRefused: 0 },
    network: { timers: { now: () => now }, gossip: { config: { now: () => WALL + now } } },
    read: (obj) => readMessage(obj, MEMBER_LIMITS, WALL + now),
  }
  const socket = new UnreadSocket()
  const conn = { id: 'peer', socket, isClosed: false, reportInvalid: () => {}, close: () => {} } as unknown as Connection
  const link = new MemberLink(t, 'peer', { maxBeatEntries: 20_000, maxRecords: 512, maxLineBytes: lineBudget(1 << 20), minReplyGap: 50 })
  const ch = new MemberChannel(owner, conn, link)
  return { ch, socket, owner, table: t, advance: (ms: number) => (now += ms) }
}

const ALL_BUCKETS = JSON.stringify({ mb: 'sums', b: Array(256).fill('00000000') })

test('one sums line asking for every bucket queues at most MAX_QUEUED bytes for a peer that never reads; the rest is dropped and counted', (t) => {
  // 2,000 members of 4 KB: an answer of about 8 MB.
  const { ch, socket, owner } = channel(2000, 4000)
  ch.receiveLine(ALL_BUCKETS)
  t.ok(socket.writableLength > 0, `part of the answer went out (${socket.writableLength} bytes)`)
  t.ok(socket.writableLength <= MAX_QUEUED, `bytes waiting unread: ${socket.writableLength}, at most ${MAX_QUEUED}`)
  t.ok(owner.stats.messagesDropped > 0, `lines dropped, counted: ${owner.stats.messagesDropped}`)
  t.ok(ch.blocked, 'the link reports its output held back')
  // The peer asks again and again without reading: nothing more is queued.
  let most = 0
  for (let i = 0; i < 20; i++) {
    ch.receiveLine(ALL_BUCKETS)
    ch.send(ch.link.start())
    most = Math.max(most, socket.writableLength)
  }
  t.ok(most <= MAX_QUEUED, `twenty more asks and beats, still nothing read: at most ${most} bytes wait`)
  t.ok(ch.blocked, 'still held back')
  t.end()
})

test('once the peer read, its next ask gets the answer again (as far as the queue allows); the link is no longer held back', (t) => {
  const { ch, socket, owner, advance } = channel(2000, 4000)
  ch.receiveLine(ALL_BUCKETS)
  const first = socket.written
  socket.drain()
  t.notOk(ch.blocked, 'read: nothing waits, the link is not held back')
  advance(100)
  ch.receiveLine(ALL_BUCKETS)
  t.ok(socket.written > first, `the next ask got records (${socket.written - first} bytes more)`)
  t.ok(socket.writableLength <= MAX_QUEUED, `and at most ${MAX_QUEUED} bytes wait (${socket.writableLength})`)
  const dropped = owner.stats.messagesDropped
  socket.drain()
  ch.send(ch.link.start())
  t.equal(owner.stats.messagesDropped, dropped, 'a beat to a peer that reads is sent whole')
  t.notOk(ch.blocked, 'not held back')
  t.end()
})

test('a small answer to a reading peer goes whole; a push to a full queue resolves at once', async (t) => {
  const { ch, socket, owner } = channel(10, 10)
  ch.receiveLine(ALL_BUCKETS)
  t.equal(owner.stats.messagesDropped, 0, 'ten small records: nothing dropped')
  t.ok(socket.writableLength > 0 && socket.writableLength < 10_000, 'all of them queued')
  socket.drain()
  socket.write(Buffer.alloc(MAX_QUEUED - 10))
  await ch.push(ch.link.table.selfRecord)
  t.equal(owner.stats.messagesDropped, 1, 'a push that does not fit the queue is dropped, and resolves at once')
  const written = ch.push(ch.link.table.selfRecord)
  socket.drain()
  await written
  t.equal(socket.writableLength, 0, 'while one written resolves once the socket took it')
  t.end()
})
