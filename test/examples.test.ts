/** Every runnable example runs and reports success. */
import test from 'tape'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')

function run(file: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      done({ code, stdout, stderr })
    })
  })
}

test('examples/two-peers.ts converges', async (t) => {
  const r = await run('examples/two-peers.ts')
  t.equal(r.code, 0, 'exit 0')
  t.match(r.stdout, /converged \(\d+ bytes on the wire\)/, 'reports convergence')
  t.match(r.stdout, /bob applied greeting="hello"/, 'bob applied alice\'s write')
  const counters = [...r.stdout.matchAll(/"counter":\{"version":(\d+),"value":([12])\}/g)].map((m) => m[0])
  t.equal(counters.length, 2, 'both nodes hold a counter written by one of them')
  t.equal(counters[0], counters[1], 'the concurrent writes resolved to the same winner on both')
  t.end()
})

test('examples/persist.ts: state survives a restart, and a second run builds on it', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(resolve(tmpdir(), 'scuttle-persist-example-'))
  const first = await run('examples/persist.ts', [dir])
  t.equal(first.code, 0, 'first run exits 0')
  t.match(first.stdout, /after restarting: \{"answer":42,"greeting":"hello","runs":1\}/, 'the restart shows the written keys, not the deleted one')
  const second = await run('examples/persist.ts', [dir])
  t.match(second.stdout, /opened .*: 4 records loaded/, 'the second run loads 4 records (one a tombstone)')
  t.match(second.stdout, /after restarting: \{"answer":42,"greeting":"hello","runs":2\}/, 'and its own write lands on top')
  rmSync(dir, { recursive: true, force: true })
  t.end()
})
