// The part of Node's Buffer that readable-stream and simple-scuttle use,
// on Uint8Array, TextEncoder and TextDecoder (UTF-8 only). The browser
// build aliases the `buffer` package to this file: the full polyfill is
// 25 kB minified, the largest piece of the bundle.
const encoder = new TextEncoder()
// As Node's Buffer: a leading U+FEFF is a character of the text, kept (TextDecoder would drop it as a byte order mark).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
const UTF8 = new Set(['utf8', 'utf-8', 'buffer', undefined])

function onlyUtf8(encoding) {
  if (!UTF8.has(typeof encoding === 'string' ? encoding.toLowerCase() : encoding)) {
    throw new TypeError(`simple-scuttle browser build: encoding ${encoding} is not supported (UTF-8 only)`)
  }
}

export class Buffer extends Uint8Array {
  static from(value, encodingOrOffset, length) {
    if (typeof value === 'string') {
      onlyUtf8(encodingOrOffset)
      const bytes = encoder.encode(value)
      return new Buffer(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    }
    if (value instanceof ArrayBuffer) return new Buffer(value, encodingOrOffset ?? 0, length ?? value.byteLength - (encodingOrOffset ?? 0))
    const copy = new Buffer(value.length)
    copy.set(value)
    return copy
  }

  static alloc(n) {
    return new Buffer(n)
  }

  static allocUnsafe(n) {
    return new Buffer(n)
  }

  static isBuffer(b) {
    return b instanceof Buffer
  }

  static isEncoding(encoding) {
    return UTF8.has(typeof encoding === 'string' ? encoding.toLowerCase() : encoding)
  }

  static byteLength(value) {
    return typeof value === 'string' ? encoder.encode(value).byteLength : value.byteLength
  }

  static concat(list, total) {
    if (total === undefined) total = list.reduce((n, b) => n + b.length, 0)
    const out = new Buffer(total)
    let at = 0
    for (const b of list) {
      if (at >= total) break
      const part = b.length > total - at ? b.subarray(0, total - at) : b
      out.set(part, at)
      at += part.length
    }
    return out
  }

  toString(encoding, start = 0, end = this.length) {
    onlyUtf8(encoding)
    return decoder.decode(start === 0 && end >= this.length ? this : this.subarray(start, end))
  }

  copy(target, targetStart = 0, start = 0, end = this.length) {
    const part = this.subarray(start, Math.min(end, start + target.length - targetStart))
    target.set(part, targetStart)
    return part.length
  }
}

export const Blob = globalThis.Blob
export default { Buffer, Blob }
