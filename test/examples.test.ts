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

test('examples/persist.ts without a folder: a usage line and exit 2, no folder made', async (t) => {
  const { readdirSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const before = new Set(readdirSync(tmpdir()))
  const r = await run('examples/persist.ts')
  t.equal(r.code, 2, 'exit 2')
  t.match(r.stderr, /usage: node --import tsx examples\/persist\.ts <dir>/, 'says the folder is required')
  t.equal(r.stdout, '', 'opens nothing')
  const made = readdirSync(tmpdir()).filter((f) => !before.has(f) && f.startsWith('simple-scuttle-persist'))
  t.deepEqual(made, [], 'no folder left in the temporary directory')
  t.end()
})

test('the examples import the package by name, never the repository\'s files', async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs')
  const files = readdirSync(resolve(root, 'examples'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
  t.ok(files.length >= 4, `${files.length} example files`)
  for (const f of files) {
    const text = readFileSync(resolve(root, 'examples', f), 'utf8')
    const bad = [...text.matchAll(/from '(\.\.\/[^']*|[^']*\blib\/[^']*)'/g)].map((m) => m[1])
    t.deepEqual(bad, [], `${f}: imports only 'simple-scuttle', its subpaths, node: modules and files of examples/`)
  }
  t.end()
})
