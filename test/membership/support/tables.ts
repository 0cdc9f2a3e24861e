/** Member tables and records for the membership unit tests: a fixed wall clock, the library's limits. */
import { detectorOptions } from '../../../lib/membership/detector.ts'
import { MemberTable, type TableOptions } from '../../../lib/membership/table.ts'
import { MEMBER_LIMITS, type MemberEventKind, type MemberRecord } from '../../../lib/membership/types.ts'

/** The wall clock (ms) the tests' generations are taken from. */
export const WALL = 1_800_000_000_000

export const detector = detectorOptions(300)

export function tableOptions(extra: Partial<TableOptions> = {}): TableOptions {
  return { detector, limits: MEMBER_LIMITS, grace: 60_000, buryFor: 60_000, ...extra }
}

export interface Seen {
  kind: MemberEventKind
  id: string
  gen: number
  reason: string
}

/** A table for `id` (generation `gen`) at time `now`, recording its events in `events`. */
export function table(id: string, opts: Partial<TableOptions> = {}, now = 0, gen = WALL): { t: MemberTable; events: Seen[] } {
  const t = new MemberTable({ id, gen, addr: `${id}.test:7000` }, tableOptions(opts), now)
  const events: Seen[] = []
  t.onEvent = (kind, m, reason) => events.push({ kind, id: m.id, gen: m.generation, reason })
  return { t, events }
}

/** A member record as node `id` writes it. */
export function rec(id: string, extra: Partial<MemberRecord> = {}): MemberRecord {
  return { id, gen: WALL, v: 1, addr: `${id}.test:7000`, st: 'up', ...extra }
}

/** Heartbeat triples for (id, gen, n). */
export function beats(...entries: [string, number][]): (string | number)[] {
  return entries.flatMap(([id, n]) => [id, WALL, n])
}

/** Feed `id`'s heartbeats to `t` every `every` ms from `from` to `to` (exclusive), counter starting at `n0`; returns the last counter. */
export function beatEvery(t: MemberTable, id: string, from: number, to: number, every: number, n0 = 1): number {
  let n = n0
  for (let at = from; at < to; at += every) {
    t.applyBeats(beats([id, n]), at, 'link')
    t.tick(at)
    n++
  }
  return n - 1
}

/** Run the detector every `step` ms from `from` to `to` (inclusive). */
export function tickUntil(t: MemberTable, from: number, to: number, step = 100): void {
  for (let at = from; at <= to; at += step) t.tick(at)
}

export function state(t: MemberTable, id: string): string | undefined {
  return t.get(id)?.state
}
