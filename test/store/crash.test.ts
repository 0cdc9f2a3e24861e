/**
 * Crash safety: a writer with fsync per write is killed with SIGKILL at
 * seeded random moments; every restart loads, and every update it had
 * acknowledged is there.
 */
import test from 'tape'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { seededRandom, randomInt } from '../../lib/core/random.ts'
import { readLog } from '../../lib/store/log-reader.ts'

const root = path.resolve(import.meta.dirname, '../..')

function runUntilKilled(dir: string, start: number, killAfterAcks: number): Promise<{ acked: number[]; stderr: string; loaded: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/crash-writer.ts', dir, String(start)], { cwd: root })
    const acked: number[] = []
    let loaded = -1
    let out = ''
    let stderr = ''
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      let nl: number
      while ((nl = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, nl)
        out = out.slice(nl + 1)
        if (line.startsWith('loaded ')) loaded = Number(line.slice(7))
        if (line.startsWith('ack ')) {
          acked.push(Number(line.slice(4)))
          if (acked.length === killAfterAcks) child.kill('SIGKILL')
        }
      }
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(guard)
      resolve({ acked, stderr, loaded })
    })
  })
}

test('SIGKILL at 24 random moments: every restart loads and keeps every acknowledged update', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-crash-'))
  const random = seededRandom(424242)
  const all = new Set<number>()
  let next = 0
  let torn = 0
  let lost = 0
  for (let round = 0; round < 24; round++) {
    const { acked, stderr, loaded } = await runUntilKilled(dir, next, 1 + randomInt(random, 400))
    if (loaded < all.size && round > 0) t.fail(`round ${round}: the restart loaded ${loaded} records, expected at least ${all.size}`)
    if (/torn/.test(stderr)) torn++
    for (const n of acked) all.add(n)
    const rec = readLog(path.join(dir, 'log.ndjson'))
    for (const n of all) {
      const r = rec.records.get('k' + n)
      if (r === undefined || (r.value as { n: number }).n !== n) lost++
    }
    next = Math.max(next, ...acked) + 1
  }
  t.equal(lost, 0, `no acknowledged update lost over 24 kills (${all.size} acknowledged)`)
  t.ok(all.size > 24, 'the writer made progress every time')
  t.comment(`${torn} restarts found a torn last line and ignored it`)
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})
