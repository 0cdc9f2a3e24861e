/**
 * The benchmark suite: every scenario, for simple-scuttle and (where it
 * applies) npm scuttlebutt@5.6.15, each run several times in fresh
 * processes; prints a table of medians. A run of every scenario writes it
 * to bench/results.md (tracked, quoted in the README); a run of some
 * (`--only`) writes .bench-results/partial.md instead (not tracked), so
 * the full table is never replaced by a part of it. Every comparison runs
 * with and without a warm-up phase, and every target of issue 14 is
 * printed with its value and `met` or `missed`.
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
                   .bench-results/partial.md, not bench/results.md (so
                   does that of a run with fewer than 5 runs)`

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
// Only a run of every scenario (no --only at all) with at least 5 runs each
// replaces the tracked table; any other run writes the partial one.
const full = only === undefined && runs >= 5

type Row = Record<string, number>

function measure(script: string, args: (string | number)[], gc = false): Row[] {
  const rows: Row[] = []
  for (let r = 0; r < runs; r++) rows.push(once(script, args, gc))
  return rows
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
const verdict = (ok: boolean) => (ok ? 'met' : 'missed')
const WARMTH = [['0', 'no warm-up'], ['1', 'warm']] as const

/**
 * Every variant of a scenario, run by run in turn (a run of each variant,
 * then the next run of each), so that drift in the machine's load falls on
 * all alike.
 */
function measureAll(script: string, variants: (string | number)[][], gc = false): Row[][] {
  const out: Row[][] = variants.map(() => [])
  for (let r = 0; r < runs; r++) variants.forEach((v, i) => out[i].push(once(script, v, gc)))
  return out
}

function row(scenario: string, impl: string, rows: Row[], note = ''): void {
  lines.push({ scenario, impl, ms: median(rows, 'ms'), ups: median(rows, 'ups'), rssMB: median(rows, 'rssMB'), bytes: median(rows, 'bytesPerUpdate'), note })
}

/**
 * Ours against npm scuttlebutt, each with and without warm-up; returns the
 * rows by warmth (`'0'`, `'1'`) and implementation. With `floor`, the
 * scenario's floor (bench/scenarios/floor.ts: keep, stringify, parse, keep;
 * nothing else) runs beside them.
 */
function compare(id: string, label: string, script: string, args: (string | number)[], extra?: (r: Row[]) => string, gc = false, frames = false, floor = false) {
  const impls = ['ours', 'scuttlebutt', ...(frames ? ['ours-binary'] : []), ...(floor ? ['floor'] : [])]
  const k = impls.length
  const variants = WARMTH.flatMap(([w]) => impls.map((impl) => [impl, ...args, w]))
  const rows = measureAll(script, variants, gc)
  const by: Record<string, By> = {}
  const names: Record<string, string> = { ours: 'simple-scuttle (ndjson)', scuttlebutt: 'scuttlebutt 5.6.15', 'ours-binary': 'simple-scuttle (frames, wire 2)', floor: 'floor of ndjson (no replication)' }
  WARMTH.forEach(([w, name], i) => {
    const of = (impl: string) => (impls.includes(impl) ? rows[k * i + impls.indexOf(impl)] : undefined)
    by[w] = { ours: of('ours')!, theirs: of('scuttlebutt')!, frames: of('ours-binary'), floor: of('floor') }
    impls.forEach((impl, j) => row(`(${id}) ${label}, ${name}`, names[impl]!, rows[k * i + j], extra?.(rows[k * i + j]) ?? ''))
  })
  return by
}

interface By {
  ours: Row[]
  theirs: Row[]
  frames?: Row[]
  floor?: Row[]
}

/**
 * Speed ratio target (on the run without warm-up) and the memory target
 * (both runs). Where the floor ran, the line gives its own ratio: a target
 * above it is out of reach of an implementation that serializes each update
 * as it sends it and parses it into an object it keeps (floor.ts).
 */
function speedup(id: string, label: string, by: Record<string, By>, need: number): void {
  const ratio = (w: string, rows = by[w].ours) => median(rows, 'ups') / median(by[w].theirs, 'ups')
  const x = ratio('0')
  const frames = by['0'].frames !== undefined ? `; over frames (wire 2): ${fmt(ratio('0', by['0'].frames), 2)}x, warm ${fmt(ratio('1', by['1'].frames), 2)}x` : ''
  const floor = by['0'].floor !== undefined ? `; the floor of ndjson: ${fmt(ratio('0', by['0'].floor), 2)}x, warm ${fmt(ratio('1', by['1'].floor), 2)}x, ours at ${fmt((100 * median(by['0'].ours, 'ups')) / median(by['0'].floor, 'ups'))}% of it` : ''
  targets.push(`(${id}) ${label}, no warm-up: ${fmt(x, 2)}x the updates/s of npm scuttlebutt, both over ndjson (target >= ${need}x) ${verdict(x >= need)} (warm: ${fmt(ratio('1'), 2)}x${frames}${floor})`)
  memory(id, label, by)
}

function memory(id: string, label: string, by: Record<string, By>): void {
  for (const [w, name] of WARMTH) {
    const o = median(by[w].ours, 'rssMB')
    const t = median(by[w].theirs, 'rssMB')
    targets.push(`(${id}) ${label}, ${name}: peak RSS ${fmt(o)} MB vs npm scuttlebutt ${fmt(t)} MB (target: at or below) ${verdict(o <= t)}`)
  }
}

if (want('a')) {
  speedup('a', '10k distinct keys', compare('a', 'two nodes, A sets 10k keys', 'distinct.ts', [10_000], undefined, false, true, true), 2)
  speedup('a', '100k distinct keys', compare('a', 'two nodes, A sets 100k keys', 'distinct.ts', [100_000], undefined, false, true, true), 4)
}
if (want('b')) {
  speedup('b', 'one key set 100k times', compare('b', 'one key set 100k times', 'hot-key.ts', [100_000], (rows) => `retained ${fmt(median(rows, 'retainedMB'), 2)} MB`, true), 5)
}
if (want('c')) {
  const note = (rows: Row[]) => `${fmt(median(rows, 'redundant'))} redundant deliveries (${fmt(100 * median(rows, 'redundantShare'), 1)}%)`
  for (const [shape, n, label] of [['ring', 20, '20-node ring'], ['chain', 10, '10-node chain']] as const) {
    const by = compare('c', `${label}, 1,000 keys, no timer`, 'ring.ts', [shape, n, 1000], note, false, true)
    for (const [w, name] of WARMTH) {
      const ours = by[w].ours
      const theirs = by[w].theirs
      const tOurs = median(ours, 'ms')
      const tTheirs = median(theirs, 'ms')
      const red = median(ours, 'redundant')
      const share = median(ours, 'redundantShare')
      const redOk = shape === 'chain' ? red === 0 : red <= 1000 && share <= 0.05
      const tFrames = median(by[w].frames!, 'ms')
      targets.push(`(c) ${label}, ${name}: every node holds every key in ${fmt(tOurs)} ms over ndjson (${fmt(tFrames)} ms over frames) vs npm scuttlebutt ${fmt(tTheirs)} ms (target: no more) ${verdict(tOurs <= tTheirs)}; ${fmt(red)} redundant deliveries, ${fmt(100 * share, 1)}% (target ${shape === 'chain' ? '0' : '<= 1 per key and 5%'}) ${verdict(redOk)}; npm scuttlebutt ${fmt(100 * median(theirs, 'redundantShare'), 1)}% redundant`)
    }
    memory('c', label, by)
  }
}
if (want('d')) speedup('d', 'empty node catches up 100k keys', compare('d', 'empty B joins A holding 100k keys', 'catchup.ts', [100_000], undefined, false, true, true), 3)
if (want('e')) {
  const impls = [['ours', 'simple-scuttle, ndjson (wire 1)'], ['ours-binary', 'simple-scuttle, frames (wire 2)'], ['raw', 'raw ndjson (no replication)']] as const
  const variants = WARMTH.flatMap(([w]) => impls.map(([impl]) => [impl, 200_000, w]))
  const rows = measureAll('tcp.ts', variants)
  WARMTH.forEach(([w, name], i) => {
    const [ours, bin, raw] = [rows[3 * i], rows[3 * i + 1], rows[3 * i + 2]]
    impls.forEach(([, label], j) => row(`(e) loopback TCP, 200k updates, ${name}`, label, rows[3 * i + j]))
    const r = median(raw, 'ups')
    const share = median(ours, 'ups') / r
    const shareBin = median(bin, 'ups') / r
    targets.push(`(e) TCP, ${name}: ndjson at ${fmt(100 * share)}% of the raw ndjson baseline (target >= 70%) ${verdict(share >= 0.7)}; frames at ${fmt(100 * shareBin)}% (target > 100%) ${verdict(shareBin > 1)}`)
    const rr = median(raw, 'rssMB')
    for (const [label, rs] of [['ndjson', ours], ['frames', bin]] as const) {
      const x = median(rs, 'rssMB') / rr
      targets.push(`(e) TCP, ${name}: peak RSS with ${label} ${fmt(median(rs, 'rssMB'))} MB, ${fmt(x, 2)}x the raw baseline's ${fmt(rr)} MB (target <= 1.3x) ${verdict(x <= 1.3)}`)
    }
    void w
  })
}
if (want('f')) {
  const rows = measure('history.ts', [])
  const ratio = median(rows, 'ratio')
  lines.push({ scenario: '(f) history 10k, 1M writes', impl: 'simple-scuttle', ms: median(rows, 'ms'), ups: NaN, rssMB: NaN, bytes: NaN, note: `${fmt(median(rows, 'firstUs'), 2)} us/write over the first 10k, ${fmt(median(rows, 'lastUs'), 2)} over the last 10k` })
  targets.push(`(f) history: the last 10k writes cost ${fmt(ratio, 2)}x the first 10k (target <= 1.5x) ${verdict(ratio <= 1.5)}`)
}
if (want('g')) {
  // The ratios before this work (bench/results.md of the relay merge): no worse than these.
  const before: Record<number, number> = { 10: 1.19, 100: 1.16, 1000: 1.12 }
  for (const [n, trials] of [[10, 40], [100, 20], [1000, 5]] as const) {
    const rows = measure('rounds.ts', [n, trials])
    const ratio = median(rows, 'ratio')
    lines.push({ scenario: `(g) ${n} nodes, random peers`, impl: 'simple-scuttle', ms: median(rows, 'ms'), ups: NaN, rssMB: NaN, bytes: NaN, note: `${fmt(median(rows, 'rounds'), 2)} rounds (floor ${fmt(median(rows, 'floor'), 2)})` })
    targets.push(`(g) N=${n}: ${fmt(ratio, 2)}x the push-pull floor (target: no worse than ${before[n]}x) ${verdict(Number(ratio.toFixed(2)) <= before[n])}`)
  }
}
if (want('m')) {
  const rows = measure('memory.ts', [1_000_000], true)
  const per = median(rows, 'perKeyBytes')
  lines.push({ scenario: '(m) 1M keys held', impl: 'simple-scuttle', ms: NaN, ups: NaN, rssMB: NaN, bytes: NaN, note: `${fmt(per)} bytes of state per key beyond its key and value (${fmt(median(rows, 'keysAndValuesPerKey'))})` })
  targets.push(`(m) memory: ${fmt(per)} bytes per key of overhead at 1M keys (target <= 150) ${verdict(per <= 150)}`)
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
const table = [
  `Medians of ${runs} runs, each in a fresh process, the variants of a scenario alternated run by run; ${machine}.`,
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
console.log(`written to ${relative(root, out)}${full ? '' : ' (a partial run, or fewer than 5 runs: bench/results.md is left as it was)'}`)
