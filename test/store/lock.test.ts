/**
 * One process per data folder: a second opener, in this process or another,
 * is refused while the first holds the folder; a lock left by a process that
 * died is taken over; closing releases it.
 */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import { base } from '../../lib/index.ts'
import { FolderLockedError, openDurable } from '../../lib/store.ts'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-lock-'))

test('a second opener of a folder in use is refused, naming the process; close releases the folder', (t) => {
  const dir = tmp()
  const a = openDurable('a', cfg, { dir })
  t.throws(() => openDurable('a', cfg, { dir }), (err: unknown) => err instanceof FolderLockedError && err.pid === process.pid, 'refused while a holds it')
  a.gossip.set('k', 1)
  a.store.close()
  const again = openDurable('a', cfg, { dir })
  t.equal(again.gossip.get('k').value, 1, 'after close, the folder opens, with what was written')
  again.store.close()
  t.notOk(fs.existsSync(path.join(dir, 'LOCK')), 'and closing removed the lock file')
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a lock left by a process that died is stale and taken over', (t) => {
  const dir = tmp()
  // A pid that existed and is gone: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
  fs.writeFileSync(path.join(dir, 'LOCK'), dead)
  const a = openDurable('a', cfg, { dir })
  t.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'), String(process.pid), `the stale lock of pid ${dead} was taken over`)
  a.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('CLI: a second node on the same --data exits 4 saying the folder is in use; the first keeps running', async (t) => {
  const dir = tmp()
  try {
    const a = new CliProcess(['--id', 'a', '--json', '--port', '0', '--data', dir])
    await waitFor(() => a.json().find((m) => m.event === 'listening'), 30_000, 'a listening')
    const b = new CliProcess(['--id', 'a', '--json', '--port', '0', '--data', dir])
    t.equal(await b.exited, 4, 'the second exits 4')
    t.match(b.stderr + b.lines.join('\n'), /in use by another process \(pid \d+\)/, 'saying the folder is in use')
    a.send('set k 1')
    await waitFor(() => a.json().find((m) => m.cmd === 'set' && m.ok === true), 10_000, 'a still writes')
    a.send('quit')
    t.equal(await a.exited, 0, 'the first quits normally')
  } finally {
    killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
