/**
 * The MessagePack reader's cache of map keys holds strings of its own,
 * never a view into the bytes it read: a cached key neither keeps a large
 * frame buffer alive nor changes when the caller reuses that buffer.
 */
import test from 'tape'
import { Buffer } from 'node:buffer'
import { MsgpackReader } from '../../lib/codec/msgpack.ts'

/** The reader's key-cache slot of a short key (the hash msgpack.ts uses, over 512 slots). */
function slot(key: string): number {
  let h = key.length
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0
  return h & 511
}

/** `{<key>: 1}` as MessagePack, at the start of `buf`. */
function writeMap(buf: Buffer, key: string): number {
  buf[0] = 0x81
  buf[1] = 0xa0 + key.length
  buf.write(key, 2, 'latin1')
  buf[2 + key.length] = 0x01
  return 3 + key.length
}

function readOne(r: MsgpackReader, buf: Buffer, end: number): unknown {
  const got: unknown[] = []
  r.readAll(buf, 0, end, (v) => got.push(v), (reason) => got.push(`refused: ${reason}`))
  return got.length === 1 ? got[0] : got
}

test('a key read from a buffer the caller then reuses: the next key at the same place reads as itself', (t) => {
  // Two keys of one length that share a cache slot.
  const first = 'abc'
  let second = ''
  for (let c = 0; c < 26 ** 3 && second === ''; c++) {
    const k = String.fromCharCode(97 + (c % 26), 97 + (Math.floor(c / 26) % 26), 97 + Math.floor(c / 676))
    if (k !== first && slot(k) === slot(first)) second = k
  }
  t.ok(second !== '', `"${first}" and "${second}" share a cache slot`)
  const r = new MsgpackReader()
  const buf = Buffer.alloc(64)
  t.deepEqual(readOne(r, buf, writeMap(buf, first)), { [first]: 1 }, `{${first}: 1}`)
  // The caller's buffer, reused for the next input (a pool, a socket's read buffer).
  t.deepEqual(readOne(r, buf, writeMap(buf, second)), { [second]: 1 }, `then {${second}: 1} from the same bytes, not the cached "${first}"`)
  t.end()
})

test('the key cache keeps no part of the frame buffer alive', (t) => {
  const r = new MsgpackReader()
  const big = Buffer.alloc(1 << 20)
  t.deepEqual(readOne(r, big, writeMap(big, 'key')), { key: 1 }, 'a key read from a 1 MiB buffer')
  const held: unknown[] = (r as unknown as { keys: unknown[] }).keys.filter((e) => e !== undefined)
  t.ok(held.length > 0, 'the key is cached')
  const views = held.flatMap((e) => Object.values(e as object)).filter((x) => ArrayBuffer.isView(x) || x instanceof ArrayBuffer)
  const pinned = views.filter((x) => (ArrayBuffer.isView(x) ? x.buffer : x) === big.buffer)
  t.deepEqual(pinned.length, 0, 'no cache entry is a view of the frame\'s bytes')
  t.end()
})
