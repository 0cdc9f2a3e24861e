/**
 * One store per data folder: an opener is refused while another live
 * process, or a store of this process not yet closed, holds the folder; a
 * lock left by a process that died is taken over; closing releases it.
 */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { base } from '../../lib/index.ts'
import { FolderLockedError, openDurable } from '../../lib/store.ts'
import { processStart } from '../../lib/store/folder-lock.ts'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-lock-'))

test('a folder locked by a live process is refused, naming it; close releases the folder', async (t) => {
  const dir = tmp()
  // Another live process holds the folder: its pid is in LOCK.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  try {
    fs.writeFileSync(path.join(dir, 'LOCK'), String(other.pid))
    t.throws(() => openDurable('a', cfg, { dir }), (err: unknown) => err instanceof FolderLockedError && err.pid === other.pid, `refused while pid ${other.pid} holds it`)
  } finally {
    other.kill('SIGKILL')
    await new Promise((r) => other.once('exit', r))
  }
  const a = openDurable('a', cfg, { dir })
  t.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').split(' ')[0], String(process.pid), 'once that process is gone, its lock is taken over')
  a.gossip.set('k', 1)
  a.store.close()
  t.notOk(fs.existsSync(path.join(dir, 'LOCK')), 'closing removed the lock file')
  const again = openDurable('a', cfg, { dir })
  t.equal(again.gossip.get('k').value, 1, 'and the folder opens again, with what was written')
  again.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a lock whose pid now names another process (a reused pid, another boot) is stale; the same process still holds it', async (t) => {
  const start = processStart(process.pid)
  if (start === undefined) {
    t.skip('this system does not say when a process started (no /proc)')
    return t.end()
  }
  t.ok(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() === start.split('/')[0], 'the start names this boot')
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  try {
    const real = processStart(other.pid!)!
    const [boot, ticks] = real.split('/')
    const cases: [string, string, boolean][] = [
      ['the live process that took it', real, true],
      ['a process that started earlier under the same pid', `${boot}/${Number(ticks) - 1}`, false],
      ['a process of another boot', `00000000-0000-0000-0000-000000000000/${ticks}`, false],
    ]
    for (const [who, lockStart, live] of cases) {
      const dir = tmp()
      fs.writeFileSync(path.join(dir, 'LOCK'), `${other.pid} ${lockStart}`)
      if (live) {
        t.throws(() => openDurable('a', cfg, { dir }), (err: unknown) => err instanceof FolderLockedError && err.pid === other.pid, `a lock taken by ${who}: refused`)
      } else {
        const a = openDurable('a', cfg, { dir })
        t.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'), `${process.pid} ${start}`, `a lock taken by ${who}: stale, taken over`)
        a.store.close()
      }
      fs.rmSync(dir, { recursive: true })
    }
  } finally {
    other.kill('SIGKILL')
    await new Promise((r) => other.once('exit', r))
  }
  t.end()
})

test('a folder held by a store of this process that was not closed is refused; closing it lets the folder open again', async (t) => {
  const dir = tmp()
  const link = dir + '-link'
  fs.symlinkSync(dir, link)
  const first = openDurable('a', cfg, { dir })
  first.gossip.set('k', 1)
  const inProcess = (err: unknown) => err instanceof FolderLockedError && err.inThisProcess && err.pid === process.pid && /already open in this process .*close its store/.test(err.message)
  t.throws(() => openDurable('a', cfg, { dir }), inProcess, 'a second open of the folder is refused: it is open in this process, close it first')
  t.throws(() => openDurable('a', cfg, { dir: link + '/./' }), inProcess, 'so is one under another path to the same folder')
  first.gossip.set('k2', 2)
  await first.store.durable()
  first.store.close()
  const again = openDurable('a', cfg, { dir: link })
  t.deepEqual([again.gossip.get('k').value, again.gossip.get('k2').value, again.warnings], [1, 2, []], 'once closed, the folder opens again with every write')
  t.throws(() => openDurable('a', cfg, { dir }), inProcess, 'and is held by the new store until it closes')
  again.store.close()
  fs.rmSync(link)
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a store dropped without close (an in-process crash) with a batch pending keeps the folder: its batch cannot corrupt the log', async (t) => {
  const dir = tmp()
  const old = openDurable('a', cfg, { dir, durability: 'batch' })
  for (let i = 0; i < 20; i++) old.gossip.set('k' + i, 'old')
  await old.store.durable()
  for (let i = 0; i < 20; i++) old.gossip.set('k' + i, 'pending') // accepted, in the batch not yet written
  let taker: ReturnType<typeof openDurable> | null = null
  t.throws(() => (taker = openDurable('a', cfg, { dir, durability: 'batch' })), FolderLockedError, 'reopening the folder while the dropped store holds it is refused')
  const other = taker as ReturnType<typeof openDurable> | null
  other?.gossip.del('k0')
  await Promise.all([old.store.durable(), other?.store.durable()]) // the dropped store's batch goes out
  other?.store.close()
  old.store.close()
  let loaded: ReturnType<typeof openDurable> | null = null
  t.doesNotThrow(() => (loaded = openDurable('a', cfg, { dir })), 'the log loads')
  const after = loaded as ReturnType<typeof openDurable> | null
  t.deepEqual(after && [after.gossip.get('k0').value, after.gossip.get('k19').value, after.warnings], ['pending', 'pending', []], 'with the batch that was pending, and nothing else')
  after?.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a refused open releases the folder; a LOCK naming this process that no store holds (its release failed, or copied) is taken over', (t) => {
  const dir = tmp()
  openDurable('a', cfg, { dir }).store.close()
  t.throws(() => openDurable('b', cfg, { dir }), /belongs to node "a"/, 'an open that fails after taking the lock')
  const a = openDurable('a', cfg, { dir })
  t.pass('leaves the folder free for the next')
  a.store.close()
  const start = processStart(process.pid)
  fs.writeFileSync(path.join(dir, 'LOCK'), start === undefined ? String(process.pid) : `${process.pid} ${start}`)
  const b = openDurable('a', cfg, { dir })
  t.pass('a LOCK of this process with no store of it open is taken over')
  b.store.close()
  t.notOk(fs.existsSync(path.join(dir, 'LOCK')), 'and released at close')
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a lock left by a process that died is stale and taken over', (t) => {
  const dir = tmp()
  // A pid that existed and is gone: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
  fs.writeFileSync(path.join(dir, 'LOCK'), dead)
  const a = openDurable('a', cfg, { dir })
  t.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').split(' ')[0], String(process.pid), `the stale lock of pid ${dead} was taken over`)
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

test('openers that race for a stale lock: never two hold the folder at once; no lock files are left behind', async (t) => {
  const store = path.resolve(import.meta.dirname, '../../lib/store.ts')
  const index = path.resolve(import.meta.dirname, '../../lib/index.ts')
  const child = `
    const { openDurable } = await import(${JSON.stringify(store)})
    const { base } = await import(${JSON.stringify(index)})
    const [dir, start] = [process.argv[1], Number(process.argv[2])]
    while (Date.now() < start) {}
    try {
      const d = openDurable('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers }, { dir })
      console.log('OPENED ' + Date.now())
      setTimeout(() => { console.log('CLOSING ' + Date.now()); d.store.close(); process.exit(0) }, 400)
    } catch (e) { console.log('REFUSED ' + e.name) }`
  for (let round = 1; round <= 4; round++) {
    const dir = tmp()
    const seed = openDurable('a', cfg, { dir })
    seed.gossip.set('x', 1)
    seed.store.close()
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
    fs.writeFileSync(path.join(dir, 'LOCK'), dead)
    const start = Date.now() + 1500
    const outputs = await Promise.all(
      Array.from({ length: 6 }, () => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, dir, String(start)], { stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        p.stdout.on('data', (b: Buffer) => (out += b.toString()))
        return new Promise<string>((r) => p.once('exit', () => r(out)))
      }),
    )
    // Each holder's span, from the moment it had the folder to the moment it began to close.
    const spans = outputs.filter((o) => o.includes('OPENED')).map((o) => [Number(/OPENED (\d+)/.exec(o)![1]), Number(/CLOSING (\d+)/.exec(o)![1])])
    const refused = outputs.filter((o) => o.includes('REFUSED FolderLockedError')).length
    spans.sort((a, b) => a[0] - b[0])
    const overlap = spans.some((s, i) => i > 0 && s[0] < spans[i - 1][1])
    t.ok(spans.length >= 1 && !overlap, `round ${round}: ${spans.length} of 6 held the folder, one after another (${refused} refused with FolderLockedError)${overlap ? ': ' + JSON.stringify(outputs) : ''}`)
    t.equal(spans.length + refused, 6, 'every other opener was refused with FolderLockedError')
    t.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('LOCK')), [], 'no lock file left once it closed')
    fs.rmSync(dir, { recursive: true })
  }
  t.end()
})

test('an injected fs that wraps the real disk takes the lock with lock: true', async (t) => {
  const { realFs } = await import('../../lib/store/fs.ts')
  const dir = tmp()
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  try {
    fs.writeFileSync(path.join(dir, 'LOCK'), String(other.pid))
    t.throws(() => openDurable('a', cfg, { dir, fs: { ...realFs }, lock: true }), FolderLockedError, 'a wrapper of the real fs with lock: true is refused like the real one')
    t.doesNotThrow(() => openDurable('a', cfg, { dir, fs: { ...realFs } }).store.close(), 'without lock: true an injected fs does not look at the lock (documented)')
  } finally {
    other.kill('SIGKILL')
    await new Promise((r) => other.once('exit', r))
  }
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('openDurable with an id the node refuses: refused before the folder is locked or a log written, so the folder opens next with a good id', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-badid-'))
  const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
  t.throws(() => openDurable('x'.repeat(300), config, { dir }), /Gossip id must be a non-empty string of at most 256/, 'a too-long id is a TypeError')
  t.notOk(fs.existsSync(path.join(dir, 'log.ndjson')), 'no log was written under it')
  const d = openDurable('a', config, { dir })
  t.equal(d.gossip.id, 'a', 'the folder opens with a good id, in this process')
  d.store.close()
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})
