/**
 * PROTOCOL.md's examples go through the real validator: every line of a
 * `json` block is accepted (a hello by the hello check, anything else by
 * `decode`), every line of a `json refused` block is refused. A drift
 * between the document and the code fails here.
 */
import test from 'tape'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { helloProblem } from '../../lib/protocol/hello.ts'
import type { Message } from '../../lib/protocol/messages.ts'
import { DEFAULT_LIMITS, decode } from '../../lib/protocol/validate.ts'

const text = readFileSync(resolve(import.meta.dirname, '../../PROTOCOL.md'), 'utf8')
const blocks = [...text.matchAll(/```(json(?: refused)?)\n([\s\S]*?)```/g)].map((m) => ({ refused: m[1] === 'json refused', lines: m[2].split('\n').filter((l) => l.trim() !== '') }))

function check(line: string): string | null {
  let obj: unknown
  try {
    obj = JSON.parse(line)
  } catch {
    return 'not JSON'
  }
  const o = obj as Record<string, unknown>
  if (typeof o === 'object' && o !== null && 'hello' in o) {
    return helloProblem(o, { cluster: String(o.cluster), maxIdLength: DEFAULT_LIMITS.maxIdLength, now: Number(o.time), maxClockOffset: 300_000 })
  }
  const out: Message[] = []
  return decode(obj, DEFAULT_LIMITS, out)
}

test('PROTOCOL.md: every example is accepted, every refused example refused', (t) => {
  const accepted = blocks.filter((b) => !b.refused).flatMap((b) => b.lines)
  const refused = blocks.filter((b) => b.refused).flatMap((b) => b.lines)
  t.ok(accepted.length >= 12, `${accepted.length} example lines`)
  t.ok(refused.length >= 8, `${refused.length} refused example lines`)
  for (const line of accepted) t.equal(check(line), null, `accepted: ${line}`)
  for (const line of refused) {
    const why = check(line)
    t.ok(why !== null, `refused (${why}): ${line}`)
  }
  t.end()
})
