/**
 * Soak the fault simulator: `npm run soak` runs 100,000 seeded schedules
 * (`-- --schedules N --from S` to change), printing every failing seed with
 * the command that replays it; `-- --seed S` replays one, verbosely.
 */
import { runSchedule, defaultFaultOptions } from './support/fault-sim.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const one = arg('seed', NaN)
if (!Number.isNaN(one)) {
  const r = runSchedule(one)
  console.log(JSON.stringify({ options: defaultFaultOptions(one), ...r }, null, 2))
  process.exit(r.ok ? 0 : 1)
}
const from = arg('from', 1)
const count = arg('schedules', 100_000)
const started = Date.now()
let failed = 0
let writes = 0
let messages = 0
const totals: Record<string, number> = {}
for (let seed = from; seed < from + count; seed++) {
  const r = runSchedule(seed)
  writes += r.writes
  messages += r.messages
  for (const [k, v] of Object.entries(r.faults)) totals[k] = (totals[k] ?? 0) + v
  if (!r.ok) {
    failed++
    console.log(`FAIL seed ${seed}: ${r.problems[0]}\n  replay: npm run soak -- --seed ${seed}`)
  }
  if ((seed - from + 1) % 10_000 === 0) console.log(`${seed - from + 1} schedules, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
console.log(`faults injected: ${Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(', ')}`)
console.log(`${writes} writes, ${messages} messages delivered`)
console.log(`${count} schedules from seed ${from}: ${failed} failed`)
process.exit(failed ? 1 : 0)
