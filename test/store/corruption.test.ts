/**
 * Damage to a real log on disk: the cases of issue 11, then bit flips and
 * truncations at seeded random offsets. Each is either detected (a
 * `LogCorruptError` at the damaged line) or, in the unsynced tail, cut
 * with a warning; never loaded as different data.
 */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { randomInt, seededRandom } from '../../lib/core/random.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { LogCorruptError } from '../../lib/store/errors.ts'
import { frame } from '../../lib/store/log-format.ts'
import { readLog } from '../../lib/store/log-reader.ts'
import { FakeTimers } from '../support/fake-timers.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-corrupt-'))
const LOG = 'log.ndjson'
const SIDECAR = 'log.ndjson.synced'

interface Sample {
  bytes: Buffer
  sidecar: Buffer
  /** Offset up to which the log is known synced. */
  synced: number
  /** Every record payload the log holds anywhere: what a load may return. */
  allowed: Set<string>
}

/**
 * A log of `keys` writes k<i> = i in batches of 100 (each flushed), then,
 * unless `clean`, 50 more written by a batch that is never synced.
 */
async function sample(keys: number, clean: boolean): Promise<Sample> {
  const dir = tmp()
  const timers = new FakeTimers()
  const { gossip, store } = openDurable('A', cfg, { dir, durability: clean ? 'batch' : 'none', timers, snapshotEvery: 250 })
  for (let i = 0; i < keys; i++) {
    gossip.set('k' + i, i)
    if (i % 100 === 99) await store.flush()
  }
  if (clean) store.close()
  else {
    for (let i = keys; i < keys + 50; i++) gossip.set('k' + i, i)
    timers.advance(100) // written, not synced
  }
  const bytes = fs.readFileSync(path.join(dir, LOG))
  const sidecar = fs.readFileSync(path.join(dir, SIDECAR))
  const r = readLog(path.join(dir, LOG))
  fs.rmSync(dir, { recursive: true, force: true })
  const allowed = new Set([...bytes.toString('utf8').split('\n')].filter((l) => l.includes('"key"')).map((l) => l.slice(12, -1)))
  return { bytes, sidecar, synced: r.synced, allowed }
}

/** Read `bytes` as a log (with `sidecar`, if any) from a fresh folder. */
function load(bytes: Buffer, sidecar: Buffer | null, opts: { repair?: boolean } = {}) {
  const dir = tmp()
  fs.writeFileSync(path.join(dir, LOG), bytes)
  if (sidecar !== null) fs.writeFileSync(path.join(dir, SIDECAR), sidecar)
  try {
    return readLog(path.join(dir, LOG), opts)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

function lineOf(bytes: Buffer, needle: string): { line: number; offset: number } {
  const at = bytes.indexOf(needle)
  const offset = bytes.lastIndexOf(10, at) + 1
  let line = 1
  for (let i = 0; i < offset; i++) if (bytes[i] === 10) line++
  return { line, offset }
}

const isCorrupt = (line: number, offset: number, reason: RegExp) => (e: unknown) =>
  e instanceof LogCorruptError && e.line === line && e.offset === offset && reason.test(e.reason) && e.message.includes(`line ${line} is corrupt at byte ${offset}`)

test('issue 11 cases: a flipped digit that keeps the JSON valid, a truncation in the middle, a damaged last record, 1e300 in a clock line', async (t) => {
  const s = await sample(1000, true)
  t.equal(load(s.bytes, s.sidecar).records.get('k500')?.value, 500, 'the intact log loads k500 = 500')

  const flipped = Buffer.from(s.bytes)
  const at = lineOf(flipped, '"key":"k500","value":500,')
  const v = flipped.indexOf('"value":500', at.offset) + 8
  flipped[v] = '9'.charCodeAt(0)
  t.throws(() => load(flipped, s.sidecar), isCorrupt(at.line, at.offset, /checksum mismatch/), `k500 = 900 (still valid JSON) is refused at line ${at.line}, byte ${at.offset}`)

  const half = Math.floor(s.bytes.length / 2)
  t.throws(
    () => load(s.bytes.subarray(0, half), s.sidecar),
    (e: unknown) => e instanceof LogCorruptError && e.offset <= half && /truncated/.test(e.reason),
    'a log cut in the middle is an error saying it was truncated, not a torn write',
  )

  const last = lineOf(s.bytes, `"key":"k999"`)
  const end = Buffer.from(s.bytes)
  end[last.offset + 30] ^= 0x01
  t.throws(() => load(end, s.sidecar), isCorrupt(last.line, last.offset, /checksum/), 'a damaged last record, already synced, is an error, not a silent cut')
  t.throws(() => load(end, null), isCorrupt(last.line, last.offset, /checksum/), 'the same without the sidecar: the marker after it proves it was synced')

  const clock = frame('{"clock":[["B",null,1e300,0]],"version":1}')
  const withClock = Buffer.concat([s.bytes.subarray(0, at.offset), Buffer.from(clock), s.bytes.subarray(at.offset)])
  t.throws(() => load(withClock, null), isCorrupt(at.line, at.offset, /safe integer/), 'a clock of 1e300, checksum and all, is refused')
  const tail = Buffer.concat([s.bytes, Buffer.from(clock)])
  t.throws(() => load(tail, s.sidecar), /safe integer/, 'even after the last synced offset: a good checksum over bad content is not a torn write')
  t.end()
})

test('a version far ahead of the clock is refused with the reason, as an intact log: set the clock right; repair refuses to cut it', (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir, durability: 'write' })
  a.gossip.set('x', 1)
  a.store.close()
  const future = (Date.now() + 3_600_000) * 1000
  const file = path.join(dir, LOG)
  const line = frame(JSON.stringify({ key: 'y', value: 2, source_id: 'B', version: future }))
  fs.appendFileSync(file, line + frame(JSON.stringify({ synced: fs.statSync(file).size + line.length })))
  const copy = tmp()
  fs.cpSync(dir, copy, { recursive: true })
  t.throws(() => openDurable('A', cfg, { dir }), /version \d+ is 3600 s ahead of this machine's clock/, 'an hour ahead: refused, with how far')
  const err = (() => {
    try {
      openDurable('A', cfg, { dir })
    } catch (e) {
      return e as Error
    }
  })()
  t.match(err?.message ?? '', /The log is intact; this machine's clock is behind it\. Set the clock right/, 'the error says the log is intact and names the fix')
  t.doesNotMatch(err?.message ?? '', /is corrupt|Open it with repair/, 'it neither calls the log corrupt nor sends the user to repair')
  const later = openDurable('A', { ...cfg, now: () => Date.now() + 3_600_000 }, { dir })
  t.equal(later.gossip.get('y').value, 2, 'read by a node whose clock is that far on, it loads')
  later.store.close()
  t.throws(() => openDurable('A', cfg, { dir: copy, repair: true }), /The log is intact/, 'repair refuses to drop intact records for a clock that is behind')
  const afterRepair = openDurable('A', { ...cfg, now: () => Date.now() + 3_600_000 }, { dir: copy })
  t.deepEqual([afterRepair.gossip.get('x').value, afterRepair.gossip.get('y').value], [1, 2], 'and cut nothing: with the clock right, every record loads')
  afterRepair.store.close()
  fs.rmSync(dir, { recursive: true, force: true })
  fs.rmSync(copy, { recursive: true, force: true })
  t.end()
})

for (const clean of [true, false]) {
  test(`bit flips and truncations at random offsets of a ${clean ? 'cleanly closed' : 'crashed'} log`, async (t) => {
    const s = await sample(400, clean)
    const random = seededRandom(clean ? 1101 : 1102)
    const tally = { detected: 0, cut: 0, bad: [] as string[] }
    const judge = (what: string, damagedAt: number, bytes: Buffer, lineStart: number) => {
      let r
      try {
        r = load(bytes, s.sidecar)
      } catch (e) {
        if (!(e instanceof LogCorruptError)) return tally.bad.push(`${what}: ${String(e)}`)
        if (e.offset > damagedAt || e.offset < lineStart) return tally.bad.push(`${what}: error at byte ${e.offset}, damage at ${damagedAt}`)
        tally.detected++
        return
      }
      for (const rec of r.records.values()) if (!s.allowed.has(JSON.stringify(rec))) tally.bad.push(`${what}: loaded ${JSON.stringify(rec)}`)
      if (lineStart < s.synced) return tally.bad.push(`${what}: damage at ${damagedAt}, before the synced offset ${s.synced}, loaded`)
      // Whole lines of the unsynced tail may be gone without a trace (a truncation between lines).
      const wholeLines = bytes.length === damagedAt && s.bytes[damagedAt - 1] === 10
      if (r.cut === null && !wholeLines) return tally.bad.push(`${what}: damage at ${damagedAt} loaded without a cut`)
      tally.cut++
    }
    // In a crashed log, half of the damage lands in the unsynced tail.
    const offset = () => (!clean && random() < 0.5 ? s.synced + randomInt(random, s.bytes.length - s.synced) : randomInt(random, s.bytes.length))
    for (let k = 0; k < 150; k++) {
      const at = offset()
      const b = Buffer.from(s.bytes)
      b[at] ^= 1 << randomInt(random, 8)
      judge(`flip at ${at}`, at, b, s.bytes.lastIndexOf(10, at - 1) + 1)
    }
    for (let k = 0; k < 60; k++) {
      const at = offset()
      judge(`truncation at ${at}`, at, s.bytes.subarray(0, at), s.bytes.lastIndexOf(10, at - 1) + 1)
    }
    t.deepEqual(tally.bad.slice(0, 5), [], 'every flip and truncation was detected at its line, or cut in the unsynced tail')
    t.ok(tally.detected > 80, `${tally.detected} detected with the line and offset`)
    if (!clean) t.ok(tally.cut > 50, `${tally.cut} in the unsynced tail, cut with a warning`)
    t.comment(`synced ${s.synced} of ${s.bytes.length} bytes; ${tally.detected} detected, ${tally.cut} cut`)
    t.end()
  })
}

test('repair keeps the valid prefix, reports what it dropped, and the node continues under a new generation', async (t) => {
  const s = await sample(1000, true)
  const at = lineOf(s.bytes, '"key":"k500","value":500,')
  const b = Buffer.from(s.bytes)
  b[b.indexOf('"value":500', at.offset) + 8] = '9'.charCodeAt(0)
  const dir = tmp()
  fs.writeFileSync(path.join(dir, LOG), b)
  fs.writeFileSync(path.join(dir, SIDECAR), s.sidecar)
  t.throws(() => openDurable('A', cfg, { dir }), LogCorruptError, 'refused without repair')
  const gen = load(s.bytes, s.sidecar).header.gen
  const r = openDurable('A', cfg, { dir, repair: true })
  t.equal(r.gossip.get('k499').value, 499, 'k499, before the damage, is kept')
  t.equal(r.gossip.get('k500').version, -Infinity, 'k500 (damaged) is not loaded, neither as 500 nor as 900')
  t.equal(r.gossip.get('k501').version, -Infinity, 'nor anything after it')
  t.equal(r.repaired?.line, at.line, `the report names line ${at.line}`)
  t.equal(r.repaired?.offset, at.offset, 'and its byte offset')
  t.equal(r.repaired?.bytes, b.length - at.offset, 'and the bytes dropped')
  t.equal(r.repaired?.records, 499, 'and the 499 intact records dropped after the damaged one')
  t.ok(r.warnings.some((w) => /repair dropped/.test(w)), r.warnings.join(' | '))
  t.notEqual(r.store.generation, gen, 'a new generation: versions of the lost part can never collide with new ones')
  r.gossip.set('after', 1)
  r.store.close()
  const again = openDurable('A', cfg, { dir })
  t.deepEqual(again.warnings, [], 'the repaired log opens without repair and without warnings')
  t.equal(again.loaded, 501, 'with the 500 kept records and the new write')
  again.store.close()
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test('a log that vanished while its sidecar says bytes were synced is not a fresh start: refused, unless repair', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-missing-'))
  const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
  const a = openDurable('a', cfg, { dir, durability: 'write' })
  a.gossip.set('k', 1)
  a.store.close()
  t.ok(fs.existsSync(path.join(dir, 'log.ndjson.synced')), 'the sidecar is there')
  fs.renameSync(path.join(dir, 'log.ndjson'), path.join(dir, 'moved-away.ndjson'))
  t.throws(() => openDurable('a', cfg, { dir }), (err: unknown) => err instanceof LogCorruptError && /the log is missing, though .* says \d+ bytes of it were on disk/.test(err.message), 'refused with LogCorruptError, saying the log is missing')
  const fresh = openDurable('a', cfg, { dir, repair: true })
  t.equal(fresh.gossip.get('k').version, -Infinity, 'with repair it starts empty, as asked')
  fresh.store.close()
  t.doesNotThrow(() => openDurable('a', cfg, { dir }).store.close(), 'and the repaired folder opens normally afterwards')
  fs.rmSync(dir, { recursive: true })
  t.end()
})

test('a torn tail several read chunks long is cut whole, with its exact length, and what came before it loads', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-longtail-'))
  const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
  const a = openDurable('a', cfg, { dir, durability: 'write' })
  for (let i = 0; i < 50; i++) a.gossip.set('k' + i, 'v'.repeat(1000))
  a.store.close()
  const tail = 3 * (1 << 20) + 12345 // spans four 1 MiB reads, no newline
  fs.appendFileSync(path.join(dir, 'log.ndjson'), Buffer.alloc(tail, 0x78))
  const b = openDurable('a', cfg, { dir })
  t.equal(b.gossip.keys().length, 50, 'the 50 records before the tail are loaded')
  const cut = b.warnings.find((w) => /cut a torn tail of/.test(w)) ?? ''
  t.ok(cut.includes(`cut a torn tail of ${tail} byte(s) (1 line(s))`), `the whole tail is cut, its length exact: ${cut.slice(0, 120)}`)
  b.store.close()
  fs.rmSync(dir, { recursive: true })
  t.end()
})
