/**
 * The floor of a replication over ndjson: what any implementation must do
 * per update, and nothing else. A writer keeps each update in a Map and
 * sends it as a JSON line (one `JSON.stringify` per update, written 1,000
 * lines at a time); a reader splits the lines (the same LineReader as
 * ours), parses each and keeps it in a Map. The same objects as ours sends in
 * bulk (`{key, value, source_id, version}`), through the same metered
 * in-memory pipes. No versions compared, no digests, no validation: an
 * implementation that serializes each update when it sends it and parses
 * it into an object it keeps can only be slower. (One that kept each
 * record's line text could skip the writer's stringify when it sends a
 * record again, as in a catch-up.)
 */
import { LineReader } from '../../lib/codec/ndjson.ts'
import { meter } from './common.ts'

export interface Floor {
  /** Keep and send one update (sent at the end of this turn). */
  set(key: string, value: unknown): void
  /** Keep one update without sending it. */
  keep(key: string, value: unknown): void
  /** Send every update kept (a reader that joins late catches up). */
  sendAll(): void
  /** Updates the reader holds. */
  readonly size: number
  bytes(): number
}

export function floorPair(): Floor {
  const mine = new Map<string, object>()
  const theirs = new Map<string, object>()
  const pipe = meter()
  const reader = new LineReader(1 << 20, (o) => theirs.set((o as { key: string }).key, o), () => {
    throw new Error('floor: a line was refused')
  })
  pipe.on('data', (d: Buffer) => reader.feed(d))
  let pending: string[] = []
  let version = Date.now() * 1000
  const flush = () => {
    if (pending.length === 0) return
    const text = pending.join('')
    pending = []
    pipe.write(text)
  }
  const send = (rec: object) => {
    if (pending.length === 0) queueMicrotask(flush)
    pending.push(JSON.stringify(rec) + '\n')
    if (pending.length === 1000) flush()
  }
  const keep = (key: string, value: unknown) => {
    const rec = { key, value, source_id: 'A', version: ++version }
    mine.set(key, rec)
    return rec
  }
  return {
    set: (key, value) => send(keep(key, value)),
    keep,
    sendAll() {
      for (const rec of mine.values()) send(rec)
    },
    get size() {
      return theirs.size
    },
    bytes: () => pipe.bytes,
  }
}
