/**
 * `--wire 2` with cluster membership (`--seed`, `--members`): links that
 * carry membership speak ndjson, so the node says at start, once, that the
 * flag has no effect, instead of silently not doing what it asks.
 */
import test from 'tape'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

test.onFinish(killAll)

test('--wire 2 --members: one warning at start that the flag has no effect with membership', async (t) => {
  const p = new CliProcess(['--id', 'w', '--json', '--port', '0', '--host', '127.0.0.1', '--members', '--wire', '2'])
  try {
    await waitFor(() => p.json().find((m) => m.event === 'membership'), 30_000, `membership on (stderr: ${p.stderr.slice(-300)})`)
    const lines = p.stderr.split('\n').filter((l) => /wire/.test(l))
    t.equal(lines.length, 1, `one line about it (${JSON.stringify(lines)})`)
    t.match(lines[0] ?? '', /^simple-scuttle: warning: --wire 2 has no effect with cluster membership \(--seed, --members\)/, 'naming the flag')
  } finally {
    p.proc.kill('SIGKILL')
    await p.exited
  }
  t.end()
})
