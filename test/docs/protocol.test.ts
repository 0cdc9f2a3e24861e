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
import { readMessage } from '../../lib/membership/exchange.ts'
import { MEMBER_LIMITS } from '../../lib/membership/types.ts'

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

/** The wall clock membership examples are read at: just after their generations (the examples stay valid whatever the date). */
const MEMBER_NOW = 1_796_086_400_000
const memberBlocks = [...text.matchAll(/```json members( refused)?\n([\s\S]*?)```/g)].map((m) => ({ refused: m[1] !== undefined, lines: m[2].split('\n').filter((l) => l.trim() !== '') }))

function checkMember(line: string): string | null {
  let obj: unknown
  try {
    obj = JSON.parse(line)
  } catch {
    return 'not JSON'
  }
  if (!line.startsWith('{"mb":')) return 'a membership line begins with {"mb":'
  const r = readMessage(obj, MEMBER_LIMITS, MEMBER_NOW)
  return typeof r === 'string' ? r : null
}

test('PROTOCOL.md: every membership example is read by the membership validator, every refused one refused', (t) => {
  const accepted = memberBlocks.filter((b) => !b.refused).flatMap((b) => b.lines)
  const refused = memberBlocks.filter((b) => b.refused).flatMap((b) => b.lines)
  t.ok(accepted.length >= 5, `${accepted.length} membership example lines`)
  t.ok(refused.length >= 10, `${refused.length} refused membership example lines`)
  for (const line of accepted) t.equal(checkMember(line), null, `accepted: ${line}`)
  for (const line of refused) {
    const why = checkMember(line)
    t.ok(why !== null, `refused (${why}): ${line}`)
  }
  t.end()
})

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
