/** The networked examples run to the end and report convergence. */
import test from 'tape'
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const running = new Set<ChildProcess>()

/** Run an example to its end (SIGKILL after `timeoutMs`). */
function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCommand(process.execPath, ['--import', 'tsx', file, ...args], timeoutMs)
}

/** Run a command in the repository to its end (SIGKILL after `timeoutMs`). */
function runCommand(cmd: string, args: string[], timeoutMs: number, env = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      running.delete(child)
      done({ code, stdout, stderr })
    })
  })
}

test('examples/tcp-peers.ts: three peers over loopback TCP converge', async (t) => {
  const r = await run('examples/tcp-peers.ts', [], 30_000)
  t.equal(r.code, 0, 'exit 0')
  t.match(r.stdout, /^converged in \d+ ms \(\d+ bytes on the wire\)$/m, 'reports convergence')
  const states = r.stdout.split('\n').filter((l) => /^(alice|bob|carol): /.test(l))
  t.equal(states.length, 3, 'prints the state of each node')
  const values = states.map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)))
  t.deepEqual(values[1], values[0], 'bob holds what alice holds')
  t.deepEqual(values[2], values[0], 'carol holds what alice holds')
  t.equal(values[0].counter, 2, 'the concurrent write resolved to the higher source_id')
  t.notOk('temporary' in values[0], 'the deleted key is gone everywhere')
  t.end()
})

test('examples/cluster.ts: three node processes under load converge', async (t) => {
  const r = await run('examples/cluster.ts', ['--nodes', '3', '--duration', '2', '--rate', '100', '--json'], 120_000)
  t.equal(r.code, 0, `exit 0${r.code === 0 ? '' : `; stderr: ${r.stderr.slice(-2000)}`}`)
  const lines = r.stdout.trim().split('\n')
  t.equal(lines.length, 1, 'with --json, stdout is one summary line')
  let s: Record<string, any> = {}
  try {
    s = JSON.parse(lines[lines.length - 1])
  } catch {
    t.fail(`summary is not JSON: ${lines[lines.length - 1]}`)
  }
  t.equal(s.converged, true, 'the summary says converged')
  t.equal(s.nodes, 3, 'three nodes')
  t.ok(s.writes >= 190 && s.writes <= 210, `about 200 writes issued (${s.writes})`)
  // The demo stops writing to the victim and waits for its answers before the kill.
  t.equal(s.writesApplied, s.writes, `every write applied where it was sent (${s.writesApplied} of ${s.writes})`)
  t.match(r.stderr, /^seed: node-0 at 127\.0\.0\.1:\d+; every other node was given only this address/m, 'the cluster forms from one seed address')
  t.match(r.stderr, /node-1 joined: node-0 learnt it by gossip/, 'the seed reports members joining')
  t.match(r.stderr, /members: every node lists all 3 alive/, 'every node lists every member alive before the writes')
  t.match(r.stderr, /killed node-2 \(SIGKILL\)/, 'one node was killed mid-run')
  t.match(r.stderr, /node-2 detected dead by every other node, [\d.]+ s after the kill \(node-0: no heartbeat for/, 'and detected dead by every other node')
  t.match(r.stderr, /node-2 is alive again at every node, generation \d+ \(a new life\)/, 'then alive again, in a new generation')
  const restarted = /restarted node-2 from its log: (\d+) records loaded/.exec(r.stderr)
  t.ok(restarted !== null && Number(restarted[1]) > 0, `and restarted from its log (${restarted?.[1]} records loaded)`)
  for (const f of ['writeMs', 'writesPerSec', 'appliedPerSec', 'remoteApplied', 'wireBytes', 'bytesPerUpdate']) {
    t.ok(typeof s[f] === 'number' && s[f] > 0, `${f} is positive (${s[f]})`)
  }
  t.ok(typeof s.convergeMs === 'number' && s.convergeMs >= 0, `time to converge is reported (${s.convergeMs} ms)`)
  t.equal(new Set(s.hashes).size, 1, 'every node reports the same state hash')
  t.ok(s.keys.every((k: number) => k === s.keys[0] && k > 0), `every node holds the same keys (${s.keys.join(' ')})`)
  t.match(r.stderr, /lag \d+ keys missing at the slowest node/, 'progress lines go to stderr with --json')
  // Progress lines, the final 'settled' one included: the wire total never
  // drops (the killed node's bytes stay in it), lag is never negative.
  const progress = [...r.stderr.matchAll(/\| wire ([\d.]+) (B|kB|MB) \| lag (-?\d+) keys/g)]
  const unit = { B: 1, kB: 1024, MB: 1024 * 1024 } as Record<string, number>
  const wires = progress.map((m) => Number(m[1]) * unit[m[2]!]!)
  t.ok(progress.length >= 2, `${progress.length} progress lines`)
  t.ok(wires.every((w, i) => i === 0 || w >= wires[i - 1]!), `the wire total never drops: ${progress.map((m) => m[1] + ' ' + m[2]).join(', ')}`)
  t.ok(progress.every((m) => Number(m[3]) >= 0), `lag is never negative: ${progress.map((m) => m[3]).join(', ')}`)
  t.ok(s.wireBytes >= wires[wires.length - 1]! * 0.95, `the summary's wire bytes (${s.wireBytes}) are those of the last line`)
  t.end()
})

test('examples/cluster.ts --secret: nodes linked by TLS-PSK converge', async (t) => {
  const r = await run('examples/cluster.ts', ['--nodes', '3', '--duration', '1', '--rate', '100', '--secret', 'cluster-secret-for-tests', '--json'], 120_000)
  t.equal(r.code, 0, `exit 0${r.code === 0 ? '' : `; stderr: ${r.stderr.slice(-2000)}`}`)
  t.match(r.stderr, /started 3 nodes on ports [\d, ]+; links: TLS-PSK \(cluster secret\)$/m, 'every node reported TLS-PSK links')
  let s: Record<string, any> = {}
  try {
    s = JSON.parse(r.stdout.trim())
  } catch {
    t.fail(`summary is not JSON: ${r.stdout}`)
  }
  t.equal(s.converged, true, 'the summary says converged')
  t.ok(s.remoteApplied > 0, `updates crossed the encrypted links (${s.remoteApplied} applied away from their writer)`)
  t.equal(new Set(s.hashes).size, 1, 'every node reports the same state hash')
  t.match(r.stderr, /restarted node-2 from its log/, 'the restarted node rejoined with the secret')
  t.end()
})

test('npm start --silent -- --json: stdout is the one JSON summary line (as the README says)', async (t) => {
  // npm prints its banner on stdout unless --silent; the README tells script users to pass it.
  const cli = process.env.npm_execpath
  const [cmd, pre] = cli !== undefined && /\.[cm]?js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []]
  const r = await runCommand(cmd, [...pre, 'start', '--silent', '--', '--json', '--nodes', '2', '--duration', '1', '--rate', '50', '--no-restart'], 120_000)
  t.equal(r.code, 0, `exit 0${r.code === 0 ? '' : `; stderr: ${r.stderr.slice(-2000)}`}`)
  const lines = r.stdout.split('\n').filter((l) => l !== '')
  t.equal(lines.length, 1, 'one line on stdout')
  let s: Record<string, any> = {}
  try {
    s = JSON.parse(lines[0] ?? '')
  } catch {
    t.fail(`not JSON: ${r.stdout}`)
  }
  t.equal(s.converged, true, 'the JSON summary, converged')
  t.match(r.stderr, /^started 2 nodes on ports/m, 'the progress went to stderr')
  t.end()
})

test('examples/cluster.ts refuses bad flags with exit 2', async (t) => {
  const r = await run('examples/cluster.ts', ['--nodes', 'many'], 30_000)
  t.equal(r.code, 2, 'exit 2')
  t.match(r.stderr, /--nodes must be an integer between 1 and 50, got "many"/, 'names the flag')
  const empty = await run('examples/cluster.ts', ['--secret', ' '], 30_000)
  t.equal(empty.code, 2, 'an empty --secret: exit 2')
  t.match(empty.stderr, /--secret must not be empty/, 'names the flag')
  t.end()
})

test('examples/cluster.ts leaves no folder in the temporary directory, after bad flags, --help or a run', async (t) => {
  const { mkdtempSync, readdirSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  // A temporary directory of its own (TMPDIR), so that nothing else's folders count.
  const tmp = mkdtempSync(join(tmpdir(), 'scuttle-cluster-tmpdir-'))
  const env = { ...process.env, TMPDIR: tmp }
  const bad = await runCommand(process.execPath, ['--import', 'tsx', 'examples/cluster.ts', '--nodes', 'many'], 30_000, env)
  t.equal(bad.code, 2, 'bad flags: exit 2')
  const help = await runCommand(process.execPath, ['--import', 'tsx', 'examples/cluster.ts', '--help'], 30_000, env)
  t.equal(help.code, 0, '--help: exit 0')
  const ran = await runCommand(process.execPath, ['--import', 'tsx', 'examples/cluster.ts', '--nodes', '2', '--duration', '0.5', '--rate', '50', '--json'], 120_000, env)
  t.equal(ran.code, 0, 'a short run: exit 0')
  // tsx keeps its compile cache there (tsx-<uid>): not the example's.
  t.deepEqual(readdirSync(tmp).filter((f) => !/^tsx-\d+$/.test(f)), [], 'nothing left behind')
  rmSync(tmp, { recursive: true, force: true })
  t.end()
})

test.onFinish(() => {
  for (const c of running) c.kill('SIGKILL')
})
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL')
})
