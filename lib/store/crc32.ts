import * as zlib from 'node:zlib'

/**
 * CRC-32 (the zlib/IEEE polynomial) of UTF-8 text or bytes: `zlib.crc32`
 * where Node has it (20.15 and later), else a table-driven equivalent.
 */
export const crc32: (data: string | Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (data) => zlib.crc32(data) : tableCrc32

let table: Uint32Array | null = null

function tableCrc32(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  if (table === null) {
    table = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[n] = c >>> 0
    }
  }
  let crc = 0xffffffff
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** Exposed for the test that checks both implementations agree. */
export const _tableCrc32 = tableCrc32
