/**
 * The benchmark suite: every scenario, for simple-scuttle and (where it
 * applies) npm scuttlebutt@5.6.15, each run several times in fresh
 * processes; prints a table of medians. A run of every scenario writes it
 * to bench/results.md (tracked, quoted in the README); a run of some
 * (`--only`) writes .bench-results/partial.md instead (not tracked), so
 * the full table is never replaced by a part of it.
 *
 *   npm run bench                 # 5 runs each
 *   npm run bench -- --runs 3     # fewer
 *   npm run bench -- --only a,d   # some scenarios
 */
import { spawnSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = resolve(import.meta.dirname, '..')
const SCENARIOS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'm']
const USAGE = `Usage: npm run bench -- [--runs N] [--only ${SCENARIOS.join(',')}]

  --runs N         runs of each scenario, each in a fresh process (default 5)
  --only a,d       some scenarios only; the table then goes to
                   .bench-results/partial.md, not bench/results.md`

/** The flags, or exit 2 with the usage: an unknown flag never starts a run. */
function flags(): { runs: number; only: string[] | undefined } {
  const fail = (why: string): never => {
    process.stderr.write(`bench: ${why}\n\n${USAGE}\n`)
    process.exit(2)
  }
  let values: { runs?: string; only?: string; help?: boolean } = {}
  try {
    values = parseArgs({ args: process.argv.slice(2), strict: true, allowPositionals: false, options: { runs: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values
  } catch (err) {
    const msg = (err as Error).message
    fail(/Unknown option '([^']+)'/.exec(msg)?.[1] !== undefined ? `unknown flag ${/Unknown option '([^']+)'/.exec(msg)![1]}` : msg.split('. ')[0]!)
  }
  if (values.help === true) {
    process.stdout.write(USAGE + '\n')
    process.exit(0)
  }
  const runs = values.runs === undefined ? 5 : /^\d+$/.test(values.runs) ? Number(values.runs) : NaN
  if (!(runs >= 1 && runs <= 1000)) fail(`--runs must be an integer between 1 and 1000, got ${JSON.stringify(values.runs)}`)
  const only = values.only?.split(',').map((x) => x.trim())
  const unknown = only?.filter((x) => !SCENARIOS.includes(x)) ?? []
  if (only !== undefined && (only.length === 0 || unknown.length > 0)) fail(`--only takes scenarios among ${SCENARIOS.join(',')}, got ${JSON.stringify(values.only)}`)
  return { runs, only }
}
const { runs, only } = flags()
const full = only === undefined || SCENARIOS.every((x) => only.includes(x))

type Row = Record<string, number>

function measure(script: string, args: (string | number)[], gc = false): Row[] {
  const rows: Row[] = []
  for (let r = 0; r < runs; r++) rows.push(once(script, args, gc))
  return rows
}

/** Runs of two variants, alternated so that drift in the machine's load falls on both alike. */
function measurePair(script: string, a: (string | number)[], b: (string | number)[], gc = false): [Row[], Row[]] {
  const ra: Row[] = []
  const rb: Row[] = []
  for (let r = 0; r < runs; r++) {
    ra.push(once(script, a, gc))
    rb.push(once(script, b, gc))
  }
  return [ra, rb]
}

/** One run of a scenario in a fresh process: the JSON object of its last output line. */
function once(script: string, args: (string | number)[], gc: boolean): Row {
  const out = spawnSync(process.execPath, [...(gc ? ['--expose-gc'] : []), '--import', 'tsx', `bench/scenarios/${script}`, ...args.map(String)], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
  })
  const line = out.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line)
  } catch {
    throw new Error(`${script} ${args.join(' ')} failed: ${out.stderr.slice(-1000)}`)
  }
}

function median(rows: Row[], key: string): number {
  const xs = rows.map((r) => r[key]).filter((x) => typeof x === 'number').sort((a, b) => a - b)
  return xs.length ? xs[Math.floor(xs.length / 2)] : NaN
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-')

interface Line {
  scenario: string
  impl: string
  ms: number
  ups: number
  rssMB: number
  bytes: number
  note: string
}
const lines: Line[] = []
const targets: string[] = []
const want = (id: string) => only === undefined || only.includes(id)

function compare(id: string, label: string, script: string, args: (string | number)[], extra?: (r: Row[]) => string, gc = false): { ours: Row[]; theirs: Row[] } {
  const [ours, theirs] = measurePair(script, ['ours', ...args], ['scuttlebutt', ...args], gc)
  for (const [impl, rows] of [['simple-scuttle', ours], ['scuttlebutt 5.6.15', theirs]] as const) {
    lines.push({
      scenario: `(${id}) ${label}`,
      impl,
      ms: median(rows, 'ms'),
      ups: median(rows, 'ups'),
      rssMB: median(rows, 'rssMB'),
      bytes: median(rows, 'bytesPerUpdate'),
      note: extra?.(rows) ?? '',
    })
  }
  return { ours, theirs }
}

function speedup(id: string, label: string, r: { ours: Row[]; theirs: Row[] }, need: number): void {
  const x = median(r.ours, 'ups') / median(r.theirs, 'ups')
  const rss = median(r.ours, 'rssMB') <= median(r.theirs, 'rssMB')
  targets.push(`(${id}) ${label}: ${fmt(x, 1)}x the updates/s of npm scuttlebutt (target >= ${need}x) ${x >= need ? 'met' : 'MISSED'}; peak RSS ${fmt(median(r.ours, 'rssMB'))} vs ${fmt(median(r.theirs, 'rssMB'))} MB ${rss ? 'met' : 'MISSED'}`)
}

if (want('a')) {
  for (const n of [10_000, 100_000]) speedup('a', `${n / 1000}k keys`, compare('a', `two nodes, A sets ${n / 1000}k keys`, 'distinct.ts', [n]), 3)
}
if (want('b')) {
  compare('b', 'one key set 100k times', 'hot-key.ts', [100_000], (rows) => `retained ${fmt(median(rows, 'retainedMB'), 2)} MB`, true)
}
if (want('c')) {
  const r = compare('c', '20-node ring, 1,000 keys', 'ring.ts', [20, 1000], (rows) => `${fmt(median(rows, 'redundant'))} redundant deliveries (${fmt(100 * median(rows, 'redundantShare'), 1)}%)`)
  const red = median(r.ours, 'redundant')
  targets.push(`(c) ring: ${fmt(red)} redundant deliveries (target 0) ${red === 0 ? 'met' : 'MISSED'}; npm scuttlebutt: ${fmt(100 * median(r.theirs, 'redundantShare'), 1)}% of deliveries redundant`)
}
if (want('d')) speedup('d', 'empty B catches up 100k keys', compare('d', 'empty B joins A holding 100k keys', 'catchup.ts', [100_000]), 3)
if (want('e')) {
  const [ours, raw] = measurePair('tcp.ts', ['ours', 200_000], ['raw', 200_000])
  for (const [impl, rows] of [['simple-scuttle', ours], ['raw ndjson (no replication)', raw]] as const) {
    lines.push({ scenario: '(e) loopback TCP, 200k updates', impl, ms: median(rows, 'ms'), ups: median(rows, 'ups'), rssMB: median(rows, 'rssMB'), bytes: NaN, note: '' })
  }
  const share = median(ours, 'ups') / median(raw, 'ups')
  targets.push(`(e) TCP: ${fmt(100 * share)}% of the raw ndjson baseline (target >= 60%) ${share >= 0.6 ? 'met' : 'MISSED'}`)
}
if (want('f')) {
  const rows = measure('history.ts', [])
  const ratio = median(rows, 'ratio')
  lines.push({ scenario: '(f) history 10k, 1M writes', impl: 'simple-scuttle', ms: median(rows, 'ms'), ups: NaN, rssMB: NaN, bytes: NaN, note: `${fmt(median(rows, 'firstUs'), 2)} us/write over the first 10k, ${fmt(median(rows, 'lastUs'), 2)} over the last 10k` })
  targets.push(`(f) history: the last 10k writes cost ${fmt(ratio, 2)}x the first 10k (target <= 1.5x) ${ratio <= 1.5 ? 'met' : 'MISSED'}`)
}
if (want('g')) {
  for (const [n, trials] of [[10, 40], [100, 20], [1000, 5]] as const) {
    const rows = measure('rounds.ts', [n, trials])
    const ratio = median(rows, 'ratio')
    lines.push({ scenario: `(g) ${n} nodes, random peers`, impl: 'simple-scuttle', ms: median(rows, 'ms'), ups: NaN, rssMB: NaN, bytes: NaN, note: `${fmt(median(rows, 'rounds'), 2)} rounds (floor ${fmt(median(rows, 'floor'), 2)})` })
    targets.push(`(g) N=${n}: ${fmt(ratio, 2)}x the push-pull floor (target <= 1.25x) ${ratio <= 1.25 ? 'met' : 'MISSED'}`)
  }
}
if (want('m')) {
  const rows = measure('memory.ts', [1_000_000], true)
  const per = median(rows, 'perKeyBytes')
  lines.push({ scenario: '(m) 1M keys held', impl: 'simple-scuttle', ms: NaN, ups: NaN, rssMB: NaN, bytes: NaN, note: `${fmt(per)} bytes of state per key beyond its key and value (${fmt(median(rows, 'keysAndValuesPerKey'))})` })
  targets.push(`(m) memory: ${fmt(per)} bytes per key of overhead at 1M keys (target <= 150) ${per <= 150 ? 'met' : 'MISSED'}`)
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
const table = [
  `Medians of ${runs} runs, each in a fresh process; ${machine}.`,
  '',
  '| scenario | implementation | time (ms) | updates/s | peak RSS (MB) | bytes/update | notes |',
  '|---|---|---:|---:|---:|---:|---|',
  ...lines.map((l) => `| ${l.scenario} | ${l.impl} | ${fmt(l.ms)} | ${fmt(l.ups)} | ${fmt(l.rssMB)} | ${fmt(l.bytes, 1)} | ${l.note} |`),
  '',
  'Targets:',
  '',
  ...targets.map((t) => `- ${t}`),
  '',
].join('\n')
console.log(table)
const out = full ? resolve(root, 'bench/results.md') : resolve(root, '.bench-results/partial.md')
mkdirSync(resolve(out, '..'), { recursive: true })
writeFileSync(out, table)
console.log(`written to ${relative(root, out)}${full ? '' : ' (a partial run: bench/results.md is left as it was)'}`)
