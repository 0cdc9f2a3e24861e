/**
 * `--advertise` is checked with the other flags against the membership
 * record's address bound: an address peers would refuse exits 2 with one
 * sentence, before anything is opened. An error from joining the cluster
 * later (here: the machine's host name, advertised when listening on every
 * interface, made too long) is reported in one line, and the node closes
 * its data store (no LOCK left) before exiting 1.
 */
import test from 'tape'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseCliArgs } from '../../lib/cli/args.ts'
import { MEMBER_LIMITS } from '../../lib/membership/types.ts'

const root = resolve(import.meta.dirname, '../..')
const dir = mkdtempSync(join(tmpdir(), 'scuttle-advertise-'))
const MAX = MEMBER_LIMITS.maxAddressLength

/** Run the CLI with `args` (and node flags `pre`) until it exits; SIGKILL after 20 s. */
function run(args: string[], pre: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [...pre, '--import', 'tsx', 'lib/cli/main.ts', ...args], { cwd: root })
  proc.stdin.end()
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d) => (stdout += d))
  proc.stderr.on('data', (d) => (stderr += d))
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
  return new Promise((done) =>
    proc.on('close', (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    }),
  )
}

test(`--advertise longer than the membership record's bound (${MAX}): a flag error`, async (t) => {
  const ok = `${'h'.repeat(MAX - 5)}:7001`
  const long = `${'h'.repeat(MAX - 4)}:7001`
  const parsed = parseCliArgs(['--id', 'a', '--members', '--advertise', ok])
  t.ok(parsed.ok, `${ok.length} characters are taken`)
  const bad = parseCliArgs(['--id', 'a', '--members', '--advertise', long])
  t.ok(!bad.ok && /^--advertise must be at most 300 characters/.test(bad.error), `${long.length} are refused: ${bad.ok ? '' : bad.error}`)
  const v6 = parseCliArgs(['--id', 'a', '--members', '--advertise', `[::${'1'.repeat(MAX - 8)}]:7001`])
  t.ok(!v6.ok, 'the brackets of an IPv6 host count, as in the record')

  const data = join(dir, 'd')
  const r = await run(['--id', 'a', '--data', data, '--members', '--advertise', `${'h'.repeat(MAX)}:7001`])
  t.equal(r.code, 2, 'the CLI exits 2')
  t.match(r.stderr, /^simple-scuttle: --advertise must be at most 300 characters/, 'with one sentence naming the flag')
  t.notOk(r.stderr.includes('    at '), 'no stack trace')
  t.equal(r.stdout, '', 'it never listened')
  t.notOk(existsSync(data), 'and never opened the data folder')
  t.end()
})

test('an error from join after the node is up: one line, exit 1, the data store closed', async (t) => {
  const preload = join(dir, 'long-hostname.mjs')
  writeFileSync(
    preload,
    "import os from 'node:os'\nimport { syncBuiltinESMExports } from 'node:module'\nos.hostname = () => 'h'.repeat(400)\nsyncBuiltinESMExports()\n",
  )
  const data = join(dir, 'e')
  const r = await run(['--id', 'a', '--data', data, '--members', '--host', '0.0.0.0'], ['--import', preload])
  t.equal(r.code, 1, 'exit 1')
  t.match(r.stderr, /simple-scuttle: cannot join the cluster: .*addr longer than 300/, 'says why in one line')
  t.notOk(r.stderr.includes('    at '), 'no stack trace')
  t.deepEqual(readdirSync(data).filter((f) => f.startsWith('LOCK')), [], 'no LOCK left in the data folder')
  t.end()
})

test.onFinish(() => rmSync(dir, { recursive: true, force: true }))
