import { frameLines } from './log-format.ts'

/** Bytes a line adds to its payload: `["<crc>",` and `]\n`. */
export const FRAMING = 14

/**
 * Payloads accepted and not yet written, framed into one buffer when the
 * batch goes out. `chars` counts UTF-16 units plus framing: an estimate of
 * the bytes the batch will take.
 */
export class PendingLines {
  private lines: string[] = []
  chars = 0

  get length(): number {
    return this.lines.length
  }

  push(payload: string): void {
    this.lines.push(payload)
    this.chars += payload.length + FRAMING
  }

  /** The lines framed (valid until the next framing), and an empty queue. */
  take(): Buffer {
    const out = frameLines(this.lines)
    this.clear()
    return out
  }

  clear(): void {
    this.lines = []
    this.chars = 0
  }
}
