/**
 * A node out of file descriptors: a CLI node with `--data`, run under a
 * descriptor limit a few above what it needs, is flooded with idle TCP
 * connections while it writes enough to compact its log. Accepts fail with
 * EMFILE and compaction cannot open its file; the node must not crash, must
 * answer every `set` (taken, or refused with the disk's error), must lose
 * no write it took, and must serve an honest peer once the flood is gone.
 */
import test from 'tape'
import * as net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

class Cli extends CliProcess {
  nextJson(pred: (m: Record<string, any>) => boolean, timeoutMs = 20_000, what = 'a line'): Promise<Record<string, any>> {
    return waitFor(() => this.json().find(pred), timeoutMs, `${what} (stderr: ${this.stderr.slice(-500)})`)
  }
}

/** Open up to `n` connections to `port`, keeping those that connect; stops at the first that fails. */
async function flood(port: number, n: number): Promise<net.Socket[]> {
  const held: net.Socket[] = []
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => {})
    const ok = await new Promise<boolean>((done) => {
      s.once('connect', () => done(true))
      s.once('error', () => done(false))
      s.once('close', () => done(false))
    })
    if (!ok) break
    held.push(s)
  }
  return held
}

test('out of file descriptors: no crash, every set answered, nothing taken is lost, an honest peer gets in afterwards', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scuttle-fd-'))
  // 28 descriptors at rest for a node with --data, more while modules load; 80 leaves about 50.
  const a = new Cli(['--id', 'a', '--json', '--port', '0', '--interval', '100', '--data', dir, '--durability', 'write'], { nofile: 80 })
  try {
    const port = (await a.nextJson((m) => m.event === 'listening', 60_000, 'listening')).port as number
    const held = await flood(port, 300)
    t.ok(held.length > 0, `${held.length} idle connections held open`)
    // Writes that grow the log past the compaction threshold (256 KiB, 4x live) while descriptors are exhausted.
    const filler = 'x'.repeat(16_000) // past the threshold within a few dozen writes, while the flood still holds the descriptors
    const writes = 400
    for (let i = 0; i < writes; i++) a.send(`set k${i % 8} {"n": ${i}, "f": "${filler}"}`)
    await waitFor(() => a.json().filter((m) => m.cmd === 'set').length >= writes, 60_000, 'an answer to every set')
    const sets = a.json().filter((m) => m.cmd === 'set')
    const taken = sets.filter((m) => m.ok === true).length
    const refused = sets.filter((m) => m.ok !== true)
    t.equal(sets.length, writes, `every set answered (${taken} taken, ${refused.length} refused)`)
    t.ok(refused.every((m) => typeof m.error === 'string' && m.error.length > 0), 'each refusal says why')
    t.equal(a.exitCode, undefined, 'the node is still running')
    t.ok(a.json().some((m) => m.event === 'degraded' && m.code === 'EMFILE'), 'the log hit EMFILE (the flood did exhaust the descriptors) and the node said so')

    for (const s of held) s.destroy()
    // The last value taken per key, from the answers in order.
    const expected = new Map<string, number>()
    sets.forEach((m, i) => {
      if (m.ok === true) expected.set(`k${i % 8}`, i)
    })
    // Once descriptors are free again the node takes writes (after leaving degraded mode, if it entered it).
    let probes = 0
    await waitFor(
      () => {
        const answers = a.json().filter((m) => m.cmd === 'set').slice(writes)
        if (answers.some((m) => m.ok === true && m.key === 'after')) return true
        if (answers.length >= probes) {
          probes++
          a.send('set after 1')
        }
        return false
      },
      30_000,
      'a write taken after the flood',
    )
    t.ok(a.json().some((m) => m.event === 'recovered'), 'the store left degraded mode by itself')

    const b = new Cli(['--id', 'b', '--json', '--port', '0', '--interval', '100', '--peer', `127.0.0.1:${port}`])
    await b.nextJson((m) => m.event === 'connect', 30_000, 'b connects to a')
    let asked = 0
    await waitFor(
      () => {
        const gets = b.json().filter((m) => m.cmd === 'get')
        const last = new Map(gets.map((m) => [m.key, m]))
        const done = [...expected].every(([k, n]) => last.get(k)?.value?.n === n) && last.get('after')?.value === 1
        if (done) return true
        if (gets.length >= asked) {
          for (const k of [...expected.keys(), 'after']) b.send(`get ${k}`)
          asked += expected.size + 1
        }
        return false
      },
      30_000,
      'every taken write at b',
    )
    t.pass(`b holds the last taken value of each of ${expected.size} keys, and the write after the flood`)
    a.send('quit')
    b.send('quit')
    t.equal(await a.exited, 0, 'a quits normally')
    await b.exited
    t.ok(!/at .*\.ts:\d+/.test(a.stderr), 'no stack trace on stderr')
  } finally {
    killAll()
    rmSync(dir, { recursive: true, force: true })
  }
})
