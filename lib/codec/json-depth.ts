/**
 * The nesting limit of what a peer sends on wire 2 and in hellos, and its
 * test on JSON text before the text is parsed.
 *
 * A message is a flat object whose `value` is nested at most
 * `limits.maxValueDepth` levels (64 by default); nothing honest comes near
 * `MAX_DEPTH`. Deeper input is refused where it is decoded: a MessagePack
 * value (msgpack.ts), a message a frame carries as JSON text, a hello
 * line, so that the code that walks what they decode to (JSON.stringify of
 * a reason, validation, the `invalid` event's listeners) meets at most
 * `MAX_DEPTH` levels: a peer's `[[[[...` would otherwise cost a stack
 * frame a level there, and a stack overflow (a hello's was a crash).
 * Wire 1 lines set no limit of their own: JSON.parse takes any depth, and
 * validation walks only `value`, to `maxValueDepth`.
 */

/** Deepest nesting read from a peer, in levels of arrays and objects (a message's own object counts as one). */
export const MAX_DEPTH = 100

const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether JSON `text` opens more than `max` arrays and objects one inside
 * another (brackets inside strings are text). Text that is not JSON is
 * measured as if it were; the parser then refuses it anyway.
 *
 * Linear in the text, and cheap for the common case: text holding at most
 * `max` opening brackets cannot nest deeper than `max`, which two native
 * searches establish without reading each character in JavaScript.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let opens = 0
  for (let i = text.indexOf('['); i !== -1 && opens <= max; i = text.indexOf('[', i + 1)) opens++
  for (let i = text.indexOf('{'); i !== -1 && opens <= max; i = text.indexOf('{', i + 1)) opens++
  if (opens <= max) return false
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      // To the closing quote: one not escaped (preceded by an even run of backslashes).
      for (i = text.indexOf('"', i + 1); i !== -1; i = text.indexOf('"', i + 1)) {
        let slashes = 0
        while (text.charCodeAt(i - 1 - slashes) === BACKSLASH) slashes++
        if (slashes % 2 === 0) break
      }
      if (i === -1) return false
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--
  }
  return false
}
