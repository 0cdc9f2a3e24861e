/** Hand-built wire 2 input for tests: frames and MessagePack pieces, byte by byte. */
import { FRAME_HEADER } from '../../lib/codec/frame-reader.ts'

/** A frame: the body's length (4 bytes, big-endian), then the body. */
export function frame(body: Buffer | number[]): Buffer {
  const b = Buffer.from(body)
  const h = Buffer.alloc(FRAME_HEADER)
  h.writeUInt32BE(b.length)
  return Buffer.concat([h, b])
}

/** A MessagePack str32 of `text` (how a frame carries a message as JSON text). */
export function msgpackStr(text: string): Buffer {
  const b = Buffer.from(text, 'utf8')
  const h = Buffer.from([0xdb, 0, 0, 0, 0])
  h.writeUInt32BE(b.length, 1)
  return Buffer.concat([h, b])
}
