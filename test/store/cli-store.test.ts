/**
 * The CLI node and its log: degraded mode shown by events and `stats`
 * (the data folder removed under a running node, then recreated), and
 * `--repair` for a damaged log.
 */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { Gossip } from '../../lib/stream/gossip.ts'
import { Network } from '../../lib/transport/network.ts'
import { commandContext, formatResult, runCommand } from '../../lib/cli/commands.ts'
import type { StoreStatus } from '../../lib/store/log-store.ts'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

class Cli extends CliProcess {
  /** The `skip`-th JSON line matching `pred`. */
  next(pred: (m: Record<string, any>) => boolean, skip = 0, ms = 20_000, what = 'a line'): Promise<Record<string, any>> {
    return waitFor(() => this.json().filter(pred)[skip], ms, `${what} (stderr: ${this.stderr.slice(-400)})`)
  }

  /** Send `line` and wait for its result (the results of `cmd` seen so far tell which one is new). */
  async run(line: string): Promise<Record<string, any>> {
    const cmd = line.split(' ')[0]
    const seen = this.json().filter((m) => m.cmd === cmd).length
    this.send(line)
    return this.next((m) => m.cmd === cmd, seen, 10_000, `result of ${line}`)
  }
}

test('stats shows whether the log takes writes', async (t) => {
  const g = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  const network = new Network(g)
  let status: StoreStatus = { degraded: false, error: null, code: null, since: null }
  const ctx = commandContext(g, network, undefined, { status: () => status })
  const ok = runCommand(ctx, 'stats')
  t.deepEqual(ok.ok && ok.store, status, 'stats carries the store status')
  t.match(formatResult(ok, false), /, store ok, hash [0-9a-f]{64}$/, 'text: store ok')
  status = { degraded: true, error: 'ENOSPC: no space left on device, write', code: 'ENOSPC', since: 5 }
  t.match(formatResult(runCommand(ctx, 'stats'), false), /, store degraded, read-only \(ENOSPC: no space left on device, write\), hash /, 'text: degraded, with the error')
  t.notOk('store' in runCommand(commandContext(g, network), 'stats'), 'a node without a log shows no store')
  await network.close()
  t.end()
})

test('CLI: the data folder removed under a running node: set fails, a degraded event and stats say so; recreated, it recovers', async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-cli-store-'))
  const dir = path.join(parent, 'data')
  const a = new Cli(['--id', 'keeper', '--json', '--data', dir, '--durability', 'write'])
  await a.next((m) => m.event === 'loaded', 0, 20_000, 'loaded')
  t.equal((await a.run('set colour "blue"')).ok, true, 'a write is taken')
  t.equal((await a.run('stats')).store?.degraded, false, 'stats: not degraded')

  fs.rmSync(dir, { recursive: true })
  const refused = await a.run('set colour "red"')
  t.equal(refused.ok, false, 'the next set fails')
  t.match(String(refused.error), /not stored: .*was removed while open/, `with the reason: ${refused.error}`)
  const degraded = await a.next((m) => m.event === 'degraded', 0, 10_000, 'degraded event')
  t.match(String(degraded.error), /was removed while open/, 'a degraded event line')
  const stats = await a.run('stats')
  t.equal(stats.store?.degraded, true, 'stats: degraded')
  t.match(String(stats.store?.error), /removed|ENOENT/, 'with the error')
  t.equal((await a.run('get colour')).value, 'blue', 'reads go on, with the last stored value')

  fs.mkdirSync(dir)
  await a.next((m) => m.event === 'recovered', 0, 20_000, 'recovered event')
  t.pass('a recovered event once the folder is back')
  t.equal((await a.run('set colour "green"')).ok, true, 'writes are taken again')
  a.send('quit')
  t.equal(await a.exited, 0, 'quit exits 0')

  const b = new Cli(['--id', 'keeper', '--json', '--data', dir])
  t.equal((await b.next((m) => m.event === 'loaded')).records, 1, 'a restart loads the key')
  t.equal((await b.run('get colour')).value, 'green', 'with its last value')
  b.send('quit')
  await b.exited
  fs.rmSync(parent, { recursive: true, force: true })
  t.end()
})

test('CLI: a damaged log exits 4 and names --repair; with --repair the node starts from the valid part', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-cli-repair-'))
  const a = new Cli(['--id', 'keeper', '--json', '--data', dir, '--durability', 'write'])
  await a.next((m) => m.event === 'loaded')
  for (const k of ['a', 'b', 'c']) await a.run(`set ${k} 1`)
  a.send('quit')
  await a.exited
  const file = path.join(dir, 'log.ndjson')
  const text = fs.readFileSync(file, 'utf8')
  fs.writeFileSync(file, text.replace('"key":"b","value":1', '"key":"b","value":7'))
  const b = new Cli(['--id', 'keeper', '--json', '--data', dir])
  t.equal(await b.exited, 4, 'a damaged log exits 4')
  t.match(b.stderr, /line \d+ is corrupt at byte \d+ \(checksum mismatch\).*--repair/, 'naming the line, the offset and --repair')
  const c = new Cli(['--id', 'keeper', '--json', '--data', dir, '--repair'])
  t.equal((await c.next((m) => m.event === 'loaded')).records, 1, 'with --repair: the record before the damage is loaded')
  t.match(c.stderr, /warning: .*repair dropped \d+ line\(s\)/, 'and what was dropped is reported')
  c.send('quit')
  t.equal(await c.exited, 0, 'quit exits 0')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test.onFinish(() => killAll())
