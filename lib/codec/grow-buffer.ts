import { Buffer } from 'buffer'

/** A buffer this large or larger is let go when emptied (a small one is kept for the next line). */
const KEEP = 64 * 1024

/**
 * Bytes that arrive in pieces (an unfinished line or frame), held in one
 * buffer that doubles as it fills. Invariant: the memory held is at most
 * twice `length` (or `KEEP`), and never more than `cap` unless one append
 * needs it, however finely the bytes arrived: one copy
 * per piece would cost tens of bytes of heap per piece, so a peer sending
 * a line a byte at a time would make its bytes cost fifty times their size.
 */
export class GrowBuffer {
  private buf: Buffer = Buffer.alloc(0)
  /** Bytes held. */
  length = 0

  /** `cap`: the buffer does not double past it (the most the owner holds), though it always fits what is appended. */
  constructor(private readonly cap = Infinity) {}

  /** Append `src[start, end)`. */
  append(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start
    if (this.length + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.length + n, Math.min(Math.max(this.buf.length * 2, 256), this.cap)))
      this.buf.copy(next, 0, 0, this.length)
      this.buf = next
    }
    this.buf.set(src.subarray(start, end), this.length)
    this.length += n
  }

  /** The bytes held: a view, valid until the next `append` or `clear`. */
  view(): Buffer {
    return this.buf.subarray(0, this.length)
  }

  /** Forget the bytes held. */
  clear(): void {
    this.length = 0
    if (this.buf.length >= KEEP) this.buf = Buffer.alloc(0)
  }
}
