/**
 * Test runner: runs every `test/**\/*.test.ts` file in its own Node process
 * (through tsx), echoes the TAP output, counts assertions and ends with one
 * line `N passed, N failed` (`, N skipped` when any were skipped).
 * Exits non-zero on any failed assertion, crash, timeout or missing plan.
 *
 *   npm test                       # every test file
 *   npm test -- test/core          # files under a folder, or named files
 */
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
/** The longest file takes under a minute here; five leave room for a slow machine without letting a hung file cost the run. */
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 5 * 60_000)

function collect(path: string, out: string[]): void {
  const st = statSync(path)
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name === 'fixtures') continue
      collect(join(path, name), out)
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(path)
  }
}

interface Result {
  file: string
  passed: number
  failed: number
  skipped: number
  output: string
  problem: string | null
}

/** SIGKILL a process group; true when something was still in it. */
function killGroup(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    process.kill(-pid, 'SIGKILL')
    return true
  } catch {
    return false
  }
}

/** Process groups of the files running now, stopped with the runner. */
const running = new Set<number>()
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const pid of running) killGroup(pid)
    process.exit(130)
  })
}

function runFile(file: string): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: whatever it started goes with it (below).
      detached: true,
    })
    if (child.pid !== undefined) running.add(child.pid)
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => {
      output += `\n# runner: killed after ${FILE_TIMEOUT_MS} ms\n`
      killGroup(child.pid)
    }, FILE_TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (child.pid !== undefined) running.delete(child.pid)
      // Whatever is left in the file's group (a node it spawned and did not stop; tsx's esbuild service) goes too.
      killGroup(child.pid)
      let passed = 0
      let failed = 0
      let skipped = 0
      let plan = false
      for (const line of output.split('\n')) {
        if (/^ok \d+/.test(line)) {
          if (/# SKIP/i.test(line)) skipped++
          else passed++
        } else if (/^not ok \d+/.test(line)) {
          if (/# TODO/i.test(line)) skipped++
          else failed++
        } else if (/^1\.\.\d+/.test(line)) {
          plan = true
        } else if (/^# SKIP /.test(line)) {
          skipped++
        }
      }
      let problem: string | null = null
      if (code !== 0) problem = `exited with ${signal ?? code}`
      else if (!plan) problem = 'no TAP plan (the file never finished its tests)'
      else if (passed + failed === 0 && skipped === 0) problem = 'no assertions ran'
      done({ file, passed, failed, skipped, output, problem })
    })
  })
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const files: string[] = []
  for (const a of args.length ? args : ['test']) collect(resolve(root, a), files)
  if (files.length === 0) {
    console.log('no test files found')
    console.log('0 passed, 1 failed')
    process.exit(1)
  }
  const queue = files.slice()
  const results: Result[] = []
  const workers = Math.max(1, Math.min(availableParallelism(), Number(process.env.TEST_JOBS ?? 2)))
  const started = Date.now()
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        const t0 = Date.now()
        const r = await runFile(f)
        process.stdout.write(`\n# ---- ${relative(root, f)} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n${r.output}`)
        if (r.problem) process.stdout.write(`# runner: ${relative(root, f)}: ${r.problem}\n`)
        results.push(r)
      }
    }),
  )
  let passed = 0
  let failed = 0
  let skipped = 0
  const bad: string[] = []
  for (const r of results) {
    passed += r.passed
    failed += r.failed
    skipped += r.skipped
    if (r.problem) {
      failed++
      bad.push(`${relative(root, r.file)}: ${r.problem}`)
    } else if (r.failed) bad.push(`${relative(root, r.file)}: ${r.failed} failed`)
  }
  console.log(`\n# ${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  for (const b of bad) console.log(`# FAILED ${b}`)
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
  process.exit(failed > 0 ? 1 : 0)
}

main().catch((err) => {
  console.error(err)
  console.log('0 passed, 1 failed')
  process.exit(1)
})
