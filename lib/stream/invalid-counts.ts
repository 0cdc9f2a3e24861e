/**
 * Refused peer objects counted by kind of reason, in bounded memory.
 *
 * A reason can carry text no one bounds: a user function's message
 * (`config.accept threw: <message>`, often naming the peer's key or value)
 * or an internal error's. Such reasons are counted under their fixed part
 * (`config.accept threw`); the full reason is only in the 'invalid' event.
 * The validator's and codec's reasons are fixed texts (some with a limit
 * from this node's configuration in them), counted as they are. Past
 * `MAX_REASON_KEYS` distinct keys, the rest are counted under `OTHER`.
 */

/** Most distinct keys counted on their own. */
export const MAX_REASON_KEYS = 64
/** Where refusals past `MAX_REASON_KEYS` distinct keys are counted. */
export const OTHER = 'other'

/** `config.accept threw: ...`, `the state object threw: ...`, `internal error: ...`: the part before the message. */
const WITH_MESSAGE = /^(config\.[\w.]+ threw|the state object threw|internal error)(?=:|$)/
/** `config.accept returned <the value>, not true or false`. */
const NOT_BOOLEAN = /^(config\.[\w.]+) returned /

/** The key a refusal is counted under: a fixed text whatever the peer sent. */
export function reasonKey(reason: string): string {
  const m = WITH_MESSAGE.exec(reason)
  if (m !== null) return m[1]
  const nb = NOT_BOOLEAN.exec(reason)
  if (nb !== null) return `${nb[1]} returned neither true nor false`
  return reason
}

export class InvalidCounts {
  private readonly byKey = new Map<string, number>()
  total = 0

  count(reason: string): void {
    this.total++
    let key = reasonKey(reason)
    if (!this.byKey.has(key) && this.byKey.size >= MAX_REASON_KEYS) key = OTHER
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1)
  }

  /** A copy: key -> count. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.byKey)
  }
}
