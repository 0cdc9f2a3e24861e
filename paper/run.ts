/**
 * Reproduce the Scuttlebutt paper's experiments on this library's core.
 *
 *   node --import tsx paper/run.ts [--out <folder>] [--jobs <n>]
 *
 * Runs Figure 2 (reconciliation orderings under an MTU), Figure 3 (flow
 * control) and the single-update spread, each seeded and deterministic;
 * prints every criterion with the value expected, the value measured and
 * pass or FAIL; writes SVG plots, results.md and results.json under the
 * output folder (default paper/out/). Exits non-zero when a criterion
 * fails. Jobs run in `--jobs` child processes (default: 2, or 1 on a
 * one-core machine); the results do not depend on how many.
 */
import { fork } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { markdownTable, textTable } from './criteria.ts'
import { PAPER, describe, jobs, runJob, type Job, type JobResult } from './jobs.ts'
import { collect, criteria, measures, writePlots } from './report.ts'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

/** Child mode: run one job and send its result to the parent. */
function child(spec: string): void {
  const result = runJob(PAPER, JSON.parse(spec) as Job)
  process.send!(result, () => process.exit(0))
}

function runInChild(job: Job): Promise<JobResult> {
  return new Promise((done, fail) => {
    const c = fork(process.argv[1], ['--job', JSON.stringify(job)], { execArgv: process.execArgv, serialization: 'advanced' })
    let result: JobResult | null = null
    c.on('message', (m) => (result = m as JobResult))
    c.on('error', fail)
    c.on('exit', (code) => (result !== null ? done(result) : fail(new Error(`${describe(job)}: child exited with ${code}`))))
  })
}

async function main(): Promise<void> {
  const started = Date.now()
  const root = resolve(import.meta.dirname, '..')
  const out = resolve(arg('--out') ?? join(root, 'paper', 'out'))
  const workers = Math.max(1, Number(arg('--jobs') ?? Math.min(2, availableParallelism())))
  const queue = jobs(PAPER)
  const results: JobResult[] = []
  console.log(`Reproducing van Renesse et al., "Efficient Reconciliation and Flow Control for Anti-Entropy Protocols" (LADIS 2008)`)
  console.log(`${queue.length} jobs on ${workers} process${workers === 1 ? '' : 'es'}; output: ${out}\n`)
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        const t0 = Date.now()
        results.push(workers === 1 ? runJob(PAPER, job) : await runInChild(job))
        console.log(`  done: ${describe(job)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
      }
    }),
  )
  const r = collect(results)
  const rows = criteria(PAPER, r)
  const failed = rows.filter((x) => !x.pass).length
  console.log('\n' + textTable(rows))
  const plots = writePlots(PAPER, r, out)
  mkdirSync(out, { recursive: true })
  const seconds = (Date.now() - started) / 1000
  const summary = `${rows.length - failed} of ${rows.length} criteria pass${failed ? `, ${failed} FAIL` : ''}; wall time ${seconds.toFixed(1)} s`
  writeFileSync(join(out, 'results.md'), `${markdownTable(rows)}\n\n${summary}\n`)
  writeFileSync(join(out, 'results.json'), JSON.stringify({ criteria: rows, measures: measures(PAPER, r), seconds }, null, 2) + '\n')
  console.log(`\nplots and tables written to ${out}:`)
  for (const p of [...plots, join(out, 'results.md'), join(out, 'results.json')]) console.log(`  ${relative(process.cwd(), p) || p}`)
  console.log(`\n${summary}`)
  process.exitCode = failed > 0 ? 1 : 0
}

const spec = arg('--job')
if (spec !== undefined) child(spec)
else
  main().catch((err) => {
    console.error(err)
    process.exit(2)
  })
