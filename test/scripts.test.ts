/**
 * The flags of `npm run soak` (test/soak.ts) and `npm run bench`
 * (bench/run.ts): a flag they do not know is refused with the usage before
 * any work starts, a soak replay says its grace period, and a partial bench
 * run leaves bench/results.md alone.
 */
import test from 'tape'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')

function run(file: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

test('soak: unknown flags and bad values exit 2 with the usage, before any schedule runs', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--runs', '200'], /^soak: unknown flag --runs \(the number of schedules is --schedules N\)$/m],
    [['--schedule', '5'], /^soak: unknown flag --schedule$/m],
    [['--schedules', 'many'], /^soak: --schedules must be an integer of at least 1, got "many"$/m],
    [['--schedules', '0'], /^soak: --schedules must be an integer of at least 1, got "0"$/m],
    [['--seed', '3', '--from', '2'], /^soak: --seed replays one schedule: it does not combine with --schedules or --from$/m],
    [['200'], /^soak: Unexpected argument '200'/m],
  ]
  for (const [args, message] of cases) {
    const r = await run('test/soak.ts', args)
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(r.stderr, message, `says ${message.source}`)
    t.match(r.stderr, /Usage: npm run soak -- \[--schedules N\] \[--from S\]/, 'and prints the usage')
    t.equal(r.stdout, '', 'no schedule ran')
  }
  t.end()
})

test('soak: --schedules N --from S runs exactly those seeds', async (t) => {
  const r = await run('test/soak.ts', ['--schedules', '3', '--from', '7'])
  t.equal(r.code, 0, 'exit 0')
  t.match(r.stdout, /^3 schedules from seed 7: 0 failed$/m, 'three schedules from seed 7')
  t.end()
})

test('soak --seed S: the replay says its grace period, and whether tombstones are collected', async (t) => {
  const gc = await run('test/soak.ts', ['--seed', '1100'])
  t.equal(gc.code, 0, 'seed 1100: exit 0')
  t.match(gc.stdout, /^grace period 101 ms: tombstones are collected; twice the longest cut, 50\.\d ms \(the cluster is made whole after 43 ms/m, 'seed 1100 collects tombstones, and says why its grace period is what it is')
  t.equal(JSON.parse(gc.stdout.slice(gc.stdout.indexOf('{'))).options.graceMs, 101, 'its options say the same')
  const none = await run('test/soak.ts', ['--seed', '8'])
  t.equal(none.code, 0, 'seed 8: exit 0')
  t.match(none.stdout, /^grace period 100000 ms: no tombstone is collected$/m, 'seed 8 collects none')
  t.end()
})

test('bench: unknown flags and scenarios exit 2 with the usage', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--bogus'], /^bench: unknown flag --bogus$/m],
    [['--only', 'a,z'], /^bench: --only takes scenarios among a,b,c,d,e,f,g,m, got "a,z"$/m],
    [['--runs', '0'], /^bench: --runs must be an integer between 1 and 1000, got "0"$/m],
  ]
  for (const [args, message] of cases) {
    const r = await run('bench/run.ts', args)
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(r.stderr, message, `says ${message.source}`)
    t.match(r.stderr, /Usage: npm run bench --/, 'and prints the usage')
  }
  t.end()
})

test('bench --only: the table goes to .bench-results/partial.md; bench/results.md is untouched', async (t) => {
  const digest = () => createHash('sha256').update(readFileSync(resolve(root, 'bench/results.md'))).digest('hex')
  const before = digest()
  const r = await run('bench/run.ts', ['--only', 'f', '--runs', '1'], 300_000)
  t.equal(r.code, 0, `exit 0${r.code === 0 ? '' : ': ' + r.stderr.slice(-1000)}`)
  t.match(r.stdout, /\| \(f\) history 10k, 1M writes \| simple-scuttle \|/, 'prints the table of the one scenario')
  t.match(r.stdout, /written to \.bench-results\/partial\.md \(a partial run, or fewer than 5 runs: bench\/results\.md is left as it was\)/, 'says where it went')
  t.equal(digest(), before, 'bench/results.md is unchanged')
  const partial = resolve(root, '.bench-results/partial.md')
  t.ok(existsSync(partial) && readFileSync(partial, 'utf8').includes('(f) history 10k'), '.bench-results/partial.md holds the table')
  t.end()
})
