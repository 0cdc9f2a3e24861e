/**
 * Real disk faults, where this machine allows them: a full file system (a
 * small tmpfs mounted by the test), the file size limit (`ulimit -f`,
 * EFBIG), the data folder removed, and a read-only folder. As root,
 * `chmod` does not stop writes, so the read-only case makes the folder and
 * the log immutable (`chattr +i`), which stops root too.
 */
import test from 'tape'
import { execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { RefusedError } from '../../lib/core/replica.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { readLog } from '../../lib/store/log-reader.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { codesOf } from '../support/store-workload.ts'

const root = path.resolve(import.meta.dirname, '../..')
const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-disk-'))
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** Why `cmd args` cannot run here, or null when it ran. */
function tryRun(cmd: string, args: string[]): string | null {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' })
    return null
  } catch (e) {
    return `${cmd} ${args.join(' ')} failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`
  }
}

const mountSkip = (() => {
  if (!isRoot) return 'mounting a tmpfs needs root'
  const probe = tmp()
  const why = tryRun('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe])
  if (why === null) tryRun('umount', [probe])
  fs.rmSync(probe, { recursive: true, force: true })
  return why
})()

test('a full disk (tmpfs): writes fail with ENOSPC, durable writes survive, freeing space brings the node back', { skip: mountSkip !== null }, async (t) => {
  const mnt = tmp()
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt])
  try {
    fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(1024 * 1024 - 160 * 1024))
    const dir = path.join(mnt, 'data')
    const timers = new FakeTimers()
    const { gossip, store } = openDurable('A', cfg, { dir, durability: 'batch', timers })
    const durable: number[] = []
    let refused: unknown = null
    let flushError: unknown = null
    for (let n = 0; n < 10_000 && refused === null && flushError === null; n++) {
      try {
        gossip.set('k' + n, { n, pad: 'x'.repeat(100) })
      } catch (e) {
        refused = e
        break
      }
      if (n % 10 === 9) await store.flush().then(() => durable.push(n), (e) => (flushError = e))
    }
    const failure = refused ?? flushError
    t.ok(codesOf(failure).includes('ENOSPC'), `the disk filled up: ${(failure as Error).message}`)
    t.ok(store.degraded !== null, 'the node is degraded')
    t.throws(() => gossip.set('more', 1), RefusedError, 'and refuses writes')
    const onDisk = readLog(path.join(dir, 'log.ndjson'))
    const upTo = Math.max(...durable)
    const lost: number[] = []
    for (let n = 0; n <= upTo; n++) if ((onDisk.records.get('k' + n)?.value as { n: number } | undefined)?.n !== n) lost.push(n)
    t.deepEqual(lost, [], `the ${upTo + 1} writes covered by a resolved flush are in the log`)
    timers.advance(5000)
    t.ok(store.degraded !== null, 'probes fail while the disk is full')
    fs.rmSync(path.join(mnt, 'filler'))
    timers.advance(60_000)
    t.equal(store.degraded, null, 'space freed: the node takes writes again')
    gossip.set('more', 1)
    const held = gossip.size
    store.close()
    const again = openDurable('A', cfg, { dir })
    t.equal(again.loaded, held, `a restart loads the ${held} records the node held`)
    again.store.close()
  } finally {
    tryRun('umount', [mnt])
    fs.rmSync(mnt, { recursive: true, force: true })
  }
  t.end()
})

test('the file size limit (EFBIG, ulimit -f): no crash, the error reported, every flushed write kept', async (t) => {
  const dir = tmp()
  const child = spawn('bash', ['-c', `ulimit -f 256 && exec "${process.execPath}" --import tsx test/fixtures/efbig-writer.ts "${dir}"`], { cwd: root })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (err += d))
  const code = await new Promise<number | null>((r) => child.on('close', r))
  t.equal(code, 0, `the writer exited normally${err ? `: ${err.slice(0, 300)}` : ''}`)
  t.match(out, /degraded EFBIG/, "the 'degraded' event carried EFBIG")
  t.match(out, /refused EFBIG/, 'and the next write was refused with it')
  const upTo = Math.max(...[...out.matchAll(/durable (\d+)/g)].map((m) => Number(m[1])))
  const r = readLog(path.join(dir, 'log.ndjson'))
  const missing: number[] = []
  for (let n = 0; n <= upTo; n++) if ((r.records.get('k' + n)?.value as { n: number } | undefined)?.n !== n) missing.push(n)
  t.ok(upTo > 300, `${upTo + 1} writes were flushed before the limit`)
  t.deepEqual(missing, [], 'every write covered by a resolved flush is in the log')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test('the data folder removed while running: the next write fails; recreated, the node writes its state back', (t) => {
  const parent = tmp()
  const dir = path.join(parent, 'data')
  const timers = new FakeTimers()
  const { gossip, store } = openDurable('A', cfg, { dir, durability: 'write', timers })
  for (let i = 0; i < 10; i++) gossip.set('k' + i, i)
  fs.rmSync(dir, { recursive: true })
  t.throws(() => gossip.set('k10', 10), (e: unknown) => e instanceof RefusedError && /was removed while open/.test(e.message), 'the write is refused: the log was removed')
  t.equal(gossip.get('k10').version, -Infinity, 'and not applied')
  t.equal(gossip.get('k3').value, 3, 'reads go on')
  timers.advance(10_000)
  t.notOk(fs.existsSync(dir), 'the folder is not recreated by the node')
  fs.mkdirSync(dir)
  timers.advance(60_000)
  t.equal(store.degraded, null, 'recreated by the operator: the node wrote its state there')
  store.close()
  t.equal(openDurable('A', cfg, { dir }).loaded, 10, 'a restart finds all 10 keys')
  fs.rmSync(parent, { recursive: true, force: true })
  t.end()
})

const chattrSkip = (() => {
  if (!isRoot) return 'chattr +i needs root'
  const probe = tmp()
  const why = tryRun('chattr', ['+i', probe])
  if (why === null) tryRun('chattr', ['-i', probe])
  fs.rmSync(probe, { recursive: true, force: true })
  return why
})()

test('a read-only folder while running (chattr +i): the write fails with the error and changes nothing; writable again, the node recovers', { skip: chattrSkip !== null }, (t) => {
  const dir = tmp()
  const file = path.join(dir, 'log.ndjson')
  const timers = new FakeTimers()
  const { gossip, store } = openDurable('A', cfg, { dir, durability: 'write', timers })
  gossip.set('a', 1)
  try {
    execFileSync('chattr', ['+i', file, dir])
    t.throws(() => gossip.set('a', 2), (e: unknown) => e instanceof RefusedError && codesOf(e).includes('EPERM'), 'set fails with EPERM')
    t.equal(gossip.get('a').value, 1, 'the value is unchanged (it is not gossiped either: it is not in state)')
    timers.advance(10_000)
    t.ok(store.degraded !== null, 'probes fail while the folder is read-only')
  } finally {
    tryRun('chattr', ['-i', file, dir])
  }
  timers.advance(60_000)
  t.equal(store.degraded, null, 'writable again: recovered')
  gossip.set('a', 3)
  store.close()
  t.equal(openDurable('A', cfg, { dir }).gossip.get('a').value, 3, 'and the log holds the new write')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test('a read-only folder, the log itself still writable (chattr +i on the folder): the write that needs a compaction fails, nothing is applied', { skip: chattrSkip !== null }, (t) => {
  const dir = tmp()
  const timers = new FakeTimers()
  const { gossip, store } = openDurable('A', cfg, { dir, durability: 'write', timers, minCompactBytes: 4000, compactRatio: 2 })
  let refused: unknown = null
  let last = -1
  try {
    execFileSync('chattr', ['+i', dir])
    for (let i = 0; i < 500 && refused === null; i++) {
      try {
        gossip.set('k' + (i % 3), i)
        last = i
      } catch (e) {
        refused = e
      }
    }
    t.ok(refused instanceof RefusedError && codesOf(refused).includes('EPERM'), `after ${last + 1} appends, the write that needed a compaction failed with EPERM`)
    t.deepEqual([0, 1, 2].map((k) => gossip.get('k' + k).value), [0, 1, 2].map((k) => last - ((last - k) % 3)), 'nothing of it was applied')
    timers.advance(10_000)
    t.ok(store.degraded !== null, 'degraded while the folder is read-only')
  } finally {
    tryRun('chattr', ['-i', dir])
  }
  timers.advance(60_000)
  t.equal(store.degraded, null, 'recovered once it is writable')
  store.close()
  t.equal(openDurable('A', cfg, { dir }).gossip.get('k0').value, last - (last % 3), 'the log holds the last write taken')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

if (mountSkip !== null) test(`skipped the full disk test: ${mountSkip}`, { skip: true }, () => {})
if (chattrSkip !== null) test(`skipped the read-only folder test: ${chattrSkip}`, { skip: true }, () => {})
