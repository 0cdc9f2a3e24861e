/**
 * Soak the fault simulator: `npm run soak` runs 100,000 seeded schedules
 * (`-- --schedules N --from S` to change), printing every failing seed with
 * the command that replays it; `-- --seed S` replays one, verbosely.
 * Unknown flags are refused with the usage (exit 2), so a mistyped flag
 * never starts the full soak. Half the schedules collect tombstones, with a
 * grace period twice their longest cut (fault-sim.ts, `gcGrace`); a replay
 * says which, and its grace period.
 */
import { parseArgs } from 'node:util'
import { runSchedule, defaultFaultOptions, longestCutMs, type FaultOptions } from './support/fault-sim.ts'

const USAGE = `Usage: npm run soak -- [--schedules N] [--from S]
       npm run soak -- --seed S

  --schedules N   schedules to run (default 100000)
  --from S        first seed (default 1); seeds S .. S+N-1 are run
  --seed S        replay the schedule of one seed and print it in full`

function usageError(why: string): never {
  process.stderr.write(`soak: ${why}\n\n${USAGE}\n`)
  process.exit(2)
}

function integer(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n) || n < min) usageError(`--${name} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`)
  return n
}

let values: { schedules?: string; from?: string; seed?: string; help?: boolean } = {}
try {
  values = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: { schedules: { type: 'string' }, from: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }).values
} catch (err) {
  const msg = (err as Error).message
  const unknown = /Unknown option '([^']+)'/.exec(msg)?.[1]
  const hint = unknown === '--runs' ? ' (the number of schedules is --schedules N)' : ''
  usageError(unknown !== undefined ? `unknown flag ${unknown}${hint}` : msg.split('. ')[0]!)
}
if (values.help === true) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
if (values.seed !== undefined && (values.schedules !== undefined || values.from !== undefined)) {
  usageError('--seed replays one schedule: it does not combine with --schedules or --from')
}

/** What a schedule's grace period is, and why. */
function grace(o: FaultOptions): string {
  if (o.maxCutMs === null) return `grace period ${o.graceMs} ms: no tombstone is collected`
  const cut = longestCutMs(o.maxCutMs, o.maxDelay)
  return `grace period ${o.graceMs} ms: tombstones are collected; twice the longest cut, ${cut.toFixed(1)} ms (the cluster is made whole after ${o.maxCutMs} ms, at the next step, its messages delivered within ${(cut - o.maxCutMs).toFixed(1)} ms more)`
}

if (values.seed !== undefined) {
  const one = integer('seed', values.seed, 0, 0)
  const options = defaultFaultOptions(one)
  const r = runSchedule(one, options)
  console.log(grace(options))
  console.log(JSON.stringify({ options, ...r }, null, 2))
  process.exit(r.ok ? 0 : 1)
}
const from = integer('from', values.from, 1, 0)
const count = integer('schedules', values.schedules, 100_000, 1)
const started = Date.now()
let failed = 0
let writes = 0
let messages = 0
let collected = 0
let gc = 0
const totals: Record<string, number> = {}
for (let seed = from; seed < from + count; seed++) {
  const options = defaultFaultOptions(seed)
  const r = runSchedule(seed, options)
  writes += r.writes
  messages += r.messages
  collected += r.collected
  if (options.maxCutMs !== null) gc++
  for (const [k, v] of Object.entries(r.faults)) totals[k] = (totals[k] ?? 0) + v
  if (!r.ok) {
    failed++
    console.log(`FAIL seed ${seed}: ${r.problems[0]}\n  replay: npm run soak -- --seed ${seed}`)
  }
  if ((seed - from + 1) % 10_000 === 0) console.log(`${seed - from + 1} schedules, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
console.log(`faults injected: ${Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(', ')}`)
console.log(`${writes} writes, ${messages} messages delivered; ${gc} schedules collected tombstones (${collected} forgotten)`)
console.log(`${count} schedules from seed ${from}: ${failed} failed`)
process.exit(failed ? 1 : 0)
