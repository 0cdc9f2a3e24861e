/**
 * Cluster membership in the seeded simulator at scale: for each cluster
 * size, a 300 ms interval, views of 6 outbound links, 2 exchanges a round,
 * every node running the library's pure membership code
 * (test/membership/support/member-sim.ts). Prints a table: detection time
 * of one crashed node (mean, p99, max over every other node), false deaths,
 * messages and bytes per node per second, and the size of the digests.
 *
 *   npm run members-sim                      # 100 and 1,000 nodes
 *   npm run members-sim -- --nodes 100,300   # other sizes
 *   npm run members-sim -- --seed 2
 *
 * Up to 300 nodes join through one seed, one every 50 ms; larger clusters
 * start warm (every node knows every record and holds a full view, its
 * detector without samples) and settle 15 s, then 20 nodes join the running
 * cluster. Each scenario runs in its own process, two at a time. Simulated
 * time only: the figures do not depend on the machine, only on the seed.
 */
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { bucketCount } from '../lib/membership/record.ts'
import { MemberSim, detectionTimes, falseDowns, messageBytes, rates, summarize } from '../test/membership/support/member-sim.ts'

const WARM_ABOVE = 300
const LOSS_WINDOW_MS = 60_000

interface Row {
  nodes: number
  loss: number
  convergeMs: number
  joinFalse: number
  windowFalse: number
  msgs: number
  bytes: number
  beatEntries: number
  maxBeat: number
  maxBeatBytes: number
  sums: number
  records: number
  mean: number
  p99: number
  max: number
  missed: number
  joinWaveMs: number | null
}

/** One scenario: `nodes` at `loss`; returns its row. */
function scenario(nodes: number, loss: number, seed: number): Row {
  const sim = new MemberSim({ seed, loss })
  let convergeMs: number
  if (nodes <= WARM_ABOVE) {
    for (let i = 0; i < nodes; i++) sim.addNode(i * 50)
    let t = nodes * 50
    sim.run(t)
    while (!sim.converged() && t < 180_000) sim.run((t += 500))
    convergeMs = sim.now
  } else {
    sim.warmStart(nodes)
    sim.run(sim.now + 15_000)
    convergeMs = NaN
  }
  const joinFalse = falseDowns(sim, 0).length
  let joinWaveMs: number | null = null
  if (nodes > WARM_ABOVE) {
    const t0 = sim.now
    for (let i = 0; i < 20; i++) sim.addNode(t0 + i * 50)
    let t = t0 + 20 * 50
    sim.run(t)
    while (!sim.converged() && t < t0 + 60_000) sim.run((t += 500))
    joinWaveMs = sim.converged() ? sim.now - t0 : Infinity
  }
  const size = sim.nodes.length
  // Steady traffic (the loss scenario measures over its whole window).
  const windowMs = loss > 0 ? LOSS_WINDOW_MS : 5_000
  const from = sim.now
  sim.resetCounters()
  let maxBeatBytes = 0
  sim.onSend = (m) => {
    if (m.mb === 'beat') maxBeatBytes = Math.max(maxBeatBytes, messageBytes(m))
  }
  sim.run(from + windowMs)
  sim.onSend = null
  const c = sim.counters
  const r = rates(c, size, windowMs)
  const windowFalse = falseDowns(sim, from).length
  const victim = sim.nodes[Math.floor(size / 2)]
  const crashAt = sim.now
  sim.crash(victim)
  sim.run(crashAt + 20_000)
  const times = detectionTimes(sim, victim, crashAt)
  const d = summarize(times.filter(Number.isFinite))
  return {
    nodes: size, loss, convergeMs, joinFalse, windowFalse, msgs: r.msgs, bytes: r.bytes, beatEntries: r.beatEntries,
    maxBeat: c.maxBeatEntries, maxBeatBytes, sums: c.sums, records: c.records, mean: d.mean, p99: d.p99, max: d.max,
    missed: times.filter((x) => !Number.isFinite(x)).length, joinWaveMs,
  }
}

const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '-')
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`

function table(rows: Row[]): string {
  const out = [
    '| nodes | loss | joined | false deaths (join / window) | detection mean | p99 | max | missed | msgs/node/s | bytes/node/s | beat entries/node/s | largest beat | bucket sums, records in the window |',
    '|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ]
  for (const r of rows) {
    const joined = Number.isFinite(r.convergeMs) ? `all alive at ${s(r.convergeMs)}` : `warm start; 20 more joined in ${s(r.joinWaveMs ?? NaN)}`
    out.push(
      `| ${r.nodes} | ${r.loss * 100}% | ${joined} | ${r.joinFalse} / ${r.windowFalse} in ${r.loss > 0 ? LOSS_WINDOW_MS / 1000 : 5} s | ${s(r.mean)} | ${s(r.p99)} | ${s(r.max)} | ${r.missed} | ${r.msgs.toFixed(1)} | ${kib(r.bytes)} | ${r.beatEntries.toFixed(0)} | ${r.maxBeat} entries, ${kib(r.maxBeatBytes)} | ${r.sums}, ${r.records} |`,
    )
  }
  return out.join('\n')
}

/** The record digest as the cluster grows: one summary when nothing changed; bucket hashes when something did. */
function digestTable(sizes: number[]): string {
  const out = ['| members | steady record digest | bucket digest after a change | a beat (every member rose) |', '|---:|---|---|---|']
  for (const n of sizes) {
    const b = bucketCount(n)
    const beat = messageBytes({ mb: 'beat', s: '0'.repeat(16), hb: Array.from({ length: n }, (_, i) => [`node-${i}`, 1_800_000_000_000, 1000]).flat() })
    out.push(`| ${n} | 16 hex digits (${42 + 2} B with an empty beat) | ${b} hashes, ${b * 11 + 20} B, then the records of the buckets that differ (~${(n / b).toFixed(1)} each) | ${kib(beat)} |`)
  }
  return out.join('\n')
}

function child(args: string[]): Promise<Row> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.on('close', (code) => (code === 0 ? done(JSON.parse(out) as Row) : fail(new Error(`scenario ${args.join(' ')} exited ${code}`))))
  })
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { nodes: { type: 'string' }, seed: { type: 'string' }, child: { type: 'boolean' }, loss: { type: 'string' } }, strict: true })
  const seed = Number(values.seed ?? 1)
  if (values.child) {
    const row = scenario(Number(values.nodes), Number(values.loss), seed)
    process.stdout.write(JSON.stringify(row))
    return
  }
  const sizes = (values.nodes ?? '100,1000').split(',').map(Number)
  if (!sizes.every((n) => Number.isInteger(n) && n >= 3 && n <= 5000)) throw new Error('--nodes: sizes between 3 and 5000, comma separated')
  const jobs = sizes.flatMap((n) => [0, 0.5].map((loss) => ['--nodes', String(n), '--loss', String(loss), '--seed', String(seed)]))
  const rows: Row[] = new Array(jobs.length)
  let next = 0
  const started = Date.now()
  await Promise.all(
    [0, 1].map(async () => {
      for (let i = next++; i < jobs.length; i = next++) {
        rows[i] = await child(jobs[i])
        process.stderr.write(`done: ${jobs[i].join(' ')} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)
      }
    }),
  )
  process.stdout.write(`Membership in the simulator: 300 ms interval, view 6, 2 exchanges a round, phi threshold 8, seed ${seed}\n\n${table(rows)}\n\n${digestTable([10, 100, 1000, 10_000])}\n`)
}

main().catch((err) => {
  process.stderr.write(`members-sim: ${(err as Error).message}\n`)
  process.exit(1)
})
