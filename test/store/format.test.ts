/** The log format: checksums, format 1 logs, the synced markers and the sidecar. */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import { base } from '../../lib/index.ts'
import { seededRandom } from '../../lib/core/random.ts'
import { crc32 } from '../../lib/store/crc32.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { LogCorruptError } from '../../lib/store/errors.ts'
import { frame, frameLines, unframe } from '../../lib/store/log-format.ts'
import { readLog } from '../../lib/store/log-reader.ts'
import { readSidecar } from '../../lib/store/sidecar.ts'
import { realFs } from '../../lib/store/fs.ts'

const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-format-'))
const file = (dir: string) => path.join(dir, 'log.ndjson')

test('crc32 equals zlib.crc32; a framed line carries it; a batch framed at once has the same bytes', (t) => {
  const random = seededRandom(5)
  let same = 0
  for (let n = 0; n < 200; n++) {
    const b = Buffer.alloc(Math.floor(random() * 300))
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(random() * 256)
    if (crc32(b) === zlib.crc32(b)) same++
  }
  t.equal(same, 200, 'same CRC-32 as zlib on 200 random buffers')
  const payload = JSON.stringify({ key: 'ключ 🔑', value: 'é', source_id: 'A', version: 1 })
  const line = frame(payload)
  t.equal(line, `["${zlib.crc32(payload).toString(16).padStart(8, '0')}",${payload}]\n`, 'frame: ["<crc hex>",<payload>] and a newline')
  t.doesNotThrow(() => JSON.parse(line), 'every line is itself JSON')
  t.equal(frameLines([payload, '{"lease":5}']).toString('utf8'), line + frame('{"lease":5}'), 'a batch framed at once: the same lines (non-ASCII text)')
  t.equal(frameLines(['{"lease":5}', '{"synced":0}']).toString('utf8'), frame('{"lease":5}') + frame('{"synced":0}'), 'and for ASCII text')
  const buf = Buffer.from(line)
  t.deepEqual(unframe(buf, 0, buf.length - 1), { payload }, 'unframe gives the payload back')
  buf[20] ^= 4
  t.deepEqual(unframe(buf, 0, buf.length - 1), { problem: 'checksum mismatch' }, 'and refuses it changed')
  t.end()
})

test('a format 1 log is read and rewritten as format 2 on open', (t) => {
  const dir = tmp()
  const v1 = [
    { store: 1, id: 'A', gen: 'g1' },
    { key: 'x', value: 1, source_id: 'A', version: 5, gen: 'g1' },
    { key: 'y', value: { deep: [1, 2] }, source_id: 'B', version: 7 },
    { key: 'z', value: null, source_id: 'B', version: 8, deleted: true },
    { clock: [['A', 'g1', 5, 0], ['B', null, 8, 0]], version: 8 },
    { lease: 1_000_005 },
  ]
  fs.writeFileSync(file(dir), v1.map((o) => JSON.stringify(o) + '\n').join('') + '{"key":"torn","val')
  const a = openDurable('A', cfg, { dir })
  t.equal(a.store.generation, 'g1', 'same generation')
  t.equal(a.loaded, 3, 'three records, the tombstone included')
  t.deepEqual(a.gossip.get('y').value, { deep: [1, 2] }, 'values as written')
  t.ok(a.gossip.version >= 1_000_005, 'the lease bounds new versions')
  t.ok(a.warnings.some((w) => /torn tail/.test(w)), 'a torn last line of a format 1 log is cut with a warning')
  t.ok(a.warnings.some((w) => /converted from format 1 to format 2/.test(w)), 'the conversion is reported')
  a.store.close()
  const text = fs.readFileSync(file(dir), 'utf8')
  t.ok(text.startsWith('["'), 'the file is now format 2')
  t.equal(readLog(file(dir)).header.store, 2, 'with a format 2 header')
  const b = openDurable('A', cfg, { dir })
  t.deepEqual(b.warnings, [], 'and reopens without warnings')
  t.equal(b.gossip.get('x').value, 1, 'holding the same state')
  b.store.close()
  fs.writeFileSync(file(dir), v1.map((o) => JSON.stringify(o) + '\n').join('').replace('"value":1,', '"value":1,,'))
  t.throws(() => openDurable('A', cfg, { dir }), (e: unknown) => e instanceof LogCorruptError && e.line === 2, 'a bad line inside a format 1 log is an error naming it')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test('each sync leaves a marker at its own offset and a sidecar claim; a claim about another file is ignored', async (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir, durability: 'write' })
  a.gossip.set('x', 1)
  a.gossip.set('y', 2)
  const bytes = fs.readFileSync(file(dir))
  const lines = bytes.toString('utf8').split('\n').filter((l) => l !== '')
  let at = 0
  const markers: number[] = []
  for (const l of lines) {
    if (l.includes('"synced"')) {
      t.equal(JSON.parse(l)[1].synced, at, `a marker at byte ${at} claims ${at}`)
      markers.push(at)
    }
    at += Buffer.byteLength(l) + 1
  }
  t.ok(markers.length >= 3, `one marker per sync (${markers.length})`)
  const claim = readSidecar(realFs, path.join(dir, 'log.ndjson.synced'))
  t.equal(claim?.synced, markers[markers.length - 1], 'the sidecar claims the last synced offset')
  t.equal(claim?.file, readLog(file(dir)).header.file, 'of this file')
  for (let i = 0; i < 20; i++) a.gossip.set('k' + i, i)
  a.store.close()
  // A shorter log given the sidecar of this one: the claim (beyond its end) is about another file.
  const other = tmp()
  openDurable('A', cfg, { dir: other }).store.close()
  fs.copyFileSync(path.join(dir, 'log.ndjson.synced'), path.join(other, 'log.ndjson.synced'))
  t.ok(readSidecar(realFs, path.join(other, 'log.ndjson.synced'))!.synced > fs.statSync(file(other)).size, 'the copied claim is beyond the end of the other log')
  t.doesNotThrow(() => readLog(file(other)), 'yet it is ignored there: it names another file')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.rmSync(other, { recursive: true, force: true })
  t.end()
})

test('a truncation between lines is caught by the sidecar, and only by it', async (t) => {
  const dir = tmp()
  const a = openDurable('A', cfg, { dir, durability: 'write' })
  for (let i = 0; i < 20; i++) a.gossip.set('k' + i, i)
  a.store.close()
  const bytes = fs.readFileSync(file(dir))
  const cut = bytes.indexOf('"k10"')
  const boundary = bytes.lastIndexOf(10, cut) + 1
  fs.writeFileSync(file(dir), bytes.subarray(0, boundary))
  t.throws(() => readLog(file(dir)), (e: unknown) => e instanceof LogCorruptError && e.offset === boundary && /truncated/.test(e.reason), `cut at byte ${boundary}: an error`)
  fs.rmSync(path.join(dir, 'log.ndjson.synced'))
  t.equal(readLog(file(dir)).records.size, 10, 'without the sidecar the shorter log looks whole (README says so)')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})
