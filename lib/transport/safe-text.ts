/**
 * Text from peers (ids, keys, values, source ids, member addresses, the
 * reasons that quote them) made safe for an operator's terminal and log:
 * the network's 'log' lines and the CLI's text output.
 * Control characters (C0, DEL, C1), line and paragraph separators and the
 * bidirectional controls could move the cursor, retitle or clear a
 * terminal, or start a line that looks like the node's own; in text mode
 * they are shown as `\uXXXX` escapes, never written as they are. `--json`
 * output is JSON and is left as it is.
 */

/** The characters never written raw in text mode. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g')

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' }

const escapeOne = (c: string) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/** `text` with every unsafe character written as an escape; text without any comes back as it is. */
export function escapeUnsafe(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeOne) : text
}

/** JSON of `value` (as `JSON.stringify`), with the characters JSON leaves raw escaped too: still valid JSON. */
export function safeJson(value: unknown): string {
  const text = JSON.stringify(value)
  return text === undefined ? String(text) : escapeUnsafe(text)
}

/**
 * A peer's string as one safe token: as it is when it holds nothing
 * unsafe, else quoted as a JSON string (so is one that starts with a
 * quote, so that a quoted form is never ambiguous).
 */
export function shown(s: string): string {
  return UNSAFE.test(s) || s.startsWith('"') ? safeJson(s) : s
}
