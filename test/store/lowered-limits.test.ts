/**
 * A node's own log holds records it accepted: reopened with lower limits
 * (maxKeyLength, maxIdLength, maxValueDepth) it loads them whole, and still
 * calls damage damage.
 */
import test from 'tape'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../../lib/index.ts'
import { DEFAULT_LIMITS, type Limits } from '../../lib/protocol/validate.ts'
import { openDurable } from '../../lib/store/durable.ts'
import { emptyRecovery, replayLine, type ReplayBounds } from '../../lib/store/log-replay.ts'
import { intactLog } from '../../lib/store/errors.ts'

const cfg = (limits: Partial<Limits>) => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, limits: { ...DEFAULT_LIMITS, ...limits } })
const nest = (d: number): unknown => (d === 0 ? 1 : [nest(d - 1)])

test('a log written under higher maxKeyLength and maxValueDepth opens whole with the defaults, not as corrupt', (t) => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-limits-')), 'a')
  let d = openDurable('a', cfg({ maxKeyLength: 10_000, maxValueDepth: 100 }), { dir })
  d.gossip.set('k'.repeat(5000), 1)
  d.gossip.set('deep', nest(90) as never)
  for (let i = 0; i < 5; i++) d.gossip.set('n' + i, i)
  d.store.close()

  try {
    d = openDurable('a', cfg({}), { dir })
  } catch (err) {
    t.fail(`refused: ${(err as Error).message}`)
    t.end()
    return
  }
  t.equal(d.loaded, 7, 'every record loaded')
  t.deepEqual(d.warnings, [], 'no warnings')
  t.equal(d.repaired, null, 'nothing dropped')
  t.equal(d.gossip.get('k'.repeat(5000)).value, 1, 'the long key is held')
  t.deepEqual(d.gossip.get('deep').value, nest(90), 'the deep value is held')
  t.equal(d.gossip.get('n4').value, 4, 'the records after them are held')
  d.store.close()
  t.end()
})

test('replay takes ids, keys and values its limits would refuse from a peer; damage is still damage', (t) => {
  const b: ReplayBounds = { limits: { ...DEFAULT_LIMITS, maxKeyLength: 8, maxIdLength: 8, maxValueDepth: 2 }, maxVersion: Infinity, now: 0 }
  const r = emptyRecovery()
  const long = 's'.repeat(20)
  t.equal(replayLine(JSON.stringify({ store: 2, id: 'a'.repeat(20), gen: 'g'.repeat(20), file: 'f' }), 1, r, b), null, 'a header with long ids')
  t.equal(replayLine(JSON.stringify({ key: 'k'.repeat(20), value: nest(10), source_id: long, gen: long, version: 5 }), 2, r, b), null, 'a record with a long key, long ids and a deep value')
  t.equal(replayLine(JSON.stringify({ key: 't'.repeat(20), value: null, source_id: long, version: 6, deleted: true }), 3, r, b), null, 'a tombstone')
  t.equal(replayLine(JSON.stringify({ drop: 't'.repeat(20), source_id: long, version: 6 }), 4, r, b), null, 'a drop line')
  t.equal(replayLine(JSON.stringify({ clock: [[long, long, 5, 0]], version: 6 }), 5, r, b), null, 'a clock entry with long ids')
  t.equal(r.records.size, 1, 'the record is held, the dropped tombstone is not')

  t.equal(replayLine('{"key":"k","value":', 6, r, b), 'not JSON', 'bad JSON: damage')
  t.match(replayLine(JSON.stringify({ key: 'k', value: 1, source_id: 7, version: 5 }), 7, r, b) ?? '', /source_id must be a string/, 'a wrong type: damage')
  t.match(replayLine(JSON.stringify({ key: 'k', value: 1, source_id: 'x', version: -1 }), 8, r, b) ?? '', /version/, 'a bad version: damage')
  const deep = replayLine(`{"key":"k","value":${'['.repeat(5000)}1${']'.repeat(5000)},"source_id":"x","version":5}`, 9, r, b)
  t.match(deep ?? '', /nested deeper than/, 'a value deeper than replay walks: refused')
  t.ok(deep !== null && intactLog(deep), 'and called intact, not damage (raise maxValueDepth), so repair does not cut it')
  t.end()
})
