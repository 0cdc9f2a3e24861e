/**
 * Bad input from a peer, generated: random objects, valid messages with one
 * field corrupted, boundary values per field, and raw bytes through the
 * codec. A live node must never throw or crash, never change state because
 * of an invalid message, and count every rejection by reason.
 *
 * What is valid is decided by an independent oracle, test/support/spec.ts
 * (written from PROTOCOL.md, not from the validator): `decode()` must accept
 * exactly what the spec accepts, decode it to the fields the spec gives, and
 * a live node must refuse (and report) exactly what the spec refuses.
 */
import test from 'tape'
import fc from 'fast-check'
import { PassThrough } from 'node:stream'
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { inspect, isDeepStrictEqual } from 'node:util'
import { createDecoder } from '../../lib/codec/ndjson.ts'
import { decode, DEFAULT_LIMITS } from '../../lib/protocol/validate.ts'
import type { Message } from '../../lib/protocol/messages.ts'
import type { Gossip } from '../../lib/index.ts'
import { node, quiet } from '../support/streams.ts'
import { SPEC_LIMITS, specDecode } from '../support/spec.ts'
import { BASES, corrupted, wild } from '../support/bad-messages.ts'

const snapshot = (g: Gossip) => JSON.stringify([[...g.records()].map((r) => JSON.stringify(r)).sort(), g.version, g.clock.toJSON()])
/** Valid by the spec (never by the library's own validator). */
const isValid = (o: unknown) => specDecode(o) !== null
const show = (o: unknown) => inspect(o, { depth: 4, maxStringLength: 60, maxArrayLength: 8, breakLength: Infinity })

/** How `decode()` disagrees with the spec on `o`, or null when it agrees. */
function disagreement(o: unknown): string | null {
  const want = specDecode(o)
  const got: Message[] = []
  const reason = decode(o, DEFAULT_LIMITS, got)
  if (want === null) return reason === null ? `decode accepted what the spec refuses: ${show(o)}` : null
  if (reason !== null) return `decode refused (${reason}) what the spec accepts: ${show(o)}`
  if (!isDeepStrictEqual(got, want)) return `${show(o)} decoded to ${show(got)}; the spec says ${show(want)}`
  return null
}

/** Reasons a node may still give for an object the spec accepts: what it checks after validation. */
const AFTER_VALIDATION = [/^version too far ahead/, /^too many sources/, /^digest longer than/]

/**
 * Feed `o` to a live node through `s`; returns what went wrong, or null: an
 * object the spec refuses must be reported invalid (once) and change
 * nothing; one it accepts must not be refused for its form.
 */
async function feed(g: Gossip, s: { write(o: unknown): boolean }, reported: string[], o: unknown): Promise<string | null> {
  const before = snapshot(g)
  const valid = isValid(o)
  reported.length = 0
  s.write(o)
  await quiet(1)
  if (!valid) {
    if (reported.length !== 1) return `the spec refuses ${show(o)}; the node reported ${reported.length} refusals (${reported.join('; ')})`
    if (snapshot(g) !== before) return `the spec refuses ${show(o)}, yet state changed`
    return null
  }
  const bad = reported.filter((r) => !AFTER_VALIDATION.some((re) => re.test(r)))
  return bad.length === 0 ? null : `the spec accepts ${show(o)}; the node refused it: ${bad.join('; ')}`
}

function seeded(): Gossip {
  const g = node('fuzz', { mtu: 50 })
  for (let i = 0; i < 20; i++) g.set('k' + i, { i })
  g.write({ key: 'remote', value: 1, source_id: 'peer', version: 7 })
  return g
}

test('random objects never throw; decode agrees with the spec; invalid ones change nothing and are counted by reason', async (t) => {
  const g = seeded()
  const s = g.createStream()
  let errors = 0
  s.on('error', () => errors++)
  g.on('error', () => errors++)
  const reported: string[] = []
  g.on('invalid', (reason) => reported.push(reason))
  let invalid = 0
  let valid = 0
  const problems: string[] = []
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(fc.anything(), fc.object(), wild, corrupted), { minLength: 1, maxLength: 20 }), async (objs) => {
      for (const o of objs) {
        // null and undefined cannot be written to an object stream at all
        // (the stream API throws); a codec never produces them.
        if (o === null || o === undefined) continue
        if (isValid(o)) valid++
        else invalid++
        const p = disagreement(o) ?? (await feed(g, s, reported, o))
        if (p !== null) {
          problems.push(p)
          return false
        }
      }
      return true
    }),
    { numRuns: 300, seed: 11 },
  ).catch((err: Error) => problems.length === 0 && problems.push(err.message))
  await quiet()
  t.deepEqual(problems.slice(0, 1), [], 'decode and the node agree with the spec on every object')
  t.equal(errors, 0, 'no error events')
  if (problems.length === 0) t.ok(invalid > 1000 && valid > 100, `${invalid} invalid and ${valid} valid objects tried`)
  const byReason = g.stats.invalidByReason
  const sum = Object.values(byReason).reduce((a, b) => a + b, 0)
  t.equal(sum, g.stats.invalid, `every rejection counted under a reason (${Object.keys(byReason).length} reasons)`)
  t.ok(g.stats.invalid >= invalid, 'each invalid object was counted')
  t.end()
})

test('valid messages with one field corrupted: never throw; decode agrees with the spec; if refused, nothing changes', async (t) => {
  const g = seeded()
  const s = g.createStream()
  const reported: string[] = []
  g.on('invalid', (reason) => reported.push(reason))
  let tried = 0
  let refused = 0
  const problems: string[] = []
  await fc.assert(
    fc.asyncProperty(corrupted, async (o) => {
      tried++
      if (!isValid(o)) refused++
      const p = disagreement(o) ?? (await feed(g, s, reported, o))
      if (p !== null) problems.push(p)
      return p === null
    }),
    { numRuns: 1500, seed: 12 },
  ).catch((err: Error) => problems.length === 0 && problems.push(err.message))
  t.deepEqual(problems.slice(0, 1), [], 'decode and the node agree with the spec on every corrupted message')
  if (problems.length === 0) t.ok(refused > 500 && tried - refused > 200, `${refused} of ${tried} corrupted messages refused, none changed state`)
  t.end()
})

/** Per field, the values at and around each boundary PROTOCOL.md draws, valid and not. */
const around = (n: number) => [n - 1, n, n + 1]
const nest = (n: number): unknown => (n === 0 ? 1 : n % 2 === 0 ? [nest(n - 1)] : { x: nest(n - 1) })
const BOUNDARY: Record<string, unknown[]> = {
  key: ['', 'k', 'x'.repeat(SPEC_LIMITS.maxKeyLength), 'x'.repeat(SPEC_LIMITS.maxKeyLength + 1), 5, null, '__proto__'],
  source_id: ['', 'a', 'a\u0000b', 'i'.repeat(SPEC_LIMITS.maxIdLength), 'i'.repeat(SPEC_LIMITS.maxIdLength + 1), 3, null],
  gen: [undefined, '', 'g', 'g'.repeat(SPEC_LIMITS.maxIdLength + 1), 'g\u0000', 1],
  version: [-1, 0, 1, 2, 1.5, 2 ** 53 - 1, 2 ** 53, NaN, Infinity, -Infinity, null, '3'],
  prev: [undefined, -1, 0, 1, 0.5, 2 ** 53, null, '0'],
  rprev: [undefined, -1, 0, 1, 0.5, null],
  value: [null, 0, -0, 'v', [1, [2]], { a: { b: null } }, NaN, Infinity, undefined, () => 1, new Date(0), [undefined], { x: undefined }, nest(SPEC_LIMITS.maxValueDepth), nest(SPEC_LIMITS.maxValueDepth + 1)],
  deleted: [undefined, true, false, 'true', 1, null],
  sig: [undefined, '', 's'.repeat(1024), 's'.repeat(1025), 5, null],
  digest: [true, false, undefined, 'yes', 1, null],
  done: [undefined, true, false, 'true', 1, null],
  gc: [undefined, -1, 0, 1, 1.5, 2 ** 53, null, '1'],
  upto: [undefined, -1, 0, 1, 1.5, null],
  fp: [undefined, '0f3c99a1d2e4b570', '0F3C99A1D2E4B570', '0f3c99a1d2e4b57', '0f3c99a1d2e4b5700', 'xyz', 5],
  ack: [undefined, -1, 0, 12, 1.5, 2 ** 53, null, true],
  seq: [undefined, -1, 0, 7, 1.5, 2 ** 53, null, '7'],
  reply: [undefined, true, false, 1, 'yes', null],
  more: [undefined, true, false, 1],
  final: [undefined, true, false, 0],
  resync: [undefined, true, false, 'no'],
  stream: [undefined, true, false, {}],
  reset: [undefined, true, false, 0],
}

/** A field that is mostly one of `valid`, sometimes one of its boundary values. */
const field = (name: string, valid: unknown[]) =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...BOUNDARY[name]) })
const FLAG = [undefined, true, false]

/** Updates, digest entries and ends of digest, field by field, mostly valid; links placed around the version. */
const boundaryObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.oneof(
      fc.record({
        digest: field('digest', [undefined, false]),
        key: field('key', ['k', '']),
        value: field('value', [null, 1, 'v', [1, { a: 2 }]]),
        source_id: field('source_id', ['a', 'peer']),
        version: field('version', [1, 2, 10, 2 ** 53 - 1]),
        gen: field('gen', [undefined, 'g1']),
        deleted: field('deleted', [undefined, false, true]),
        prev: field('prev', [undefined, 0]),
        rprev: field('rprev', [undefined, 0]),
        sig: field('sig', [undefined, 'MEUCIQ']),
      }),
      fc.record({
        digest: field('digest', [true]),
        source_id: field('source_id', ['a', 'peer']),
        version: field('version', [0, 1, 17, null]),
        gen: field('gen', [undefined, 'g1']),
        gc: field('gc', [undefined, 0, 3]),
        upto: field('upto', [undefined, 0, 3]),
        fp: field('fp', [undefined, '0f3c99a1d2e4b570']),
        done: field('done', [undefined, false, true]),
        reset: field('reset', [undefined]),
      }),
      fc.record({
        digest: field('digest', [true]),
        done: field('done', [true]),
        reply: field('reply', FLAG),
        more: field('more', FLAG),
        final: field('final', FLAG),
        resync: field('resync', FLAG),
        stream: field('stream', FLAG),
        ack: field('ack', [undefined, 0, 12]),
        seq: field('seq', [undefined, 1, 7]),
        reset: field('reset', [undefined]),
      }),
    ),
    fc.constantFrom('none', 'none', 'prev', 'rprev'),
    fc.constantFrom(-1, 0, 1),
    fc.constantFrom(...[1, 2, 10, 2 ** 53 - 1].flatMap(around)),
  )
  .map(([fields, link, off, version]) => {
    const o: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) o[k] = v
    if (link !== 'none' && o.digest !== true) {
      // A link just below, at or above the record's own version.
      o.version = version
      o[link] = version - 1 + off
    }
    return o
  })

test('boundary values, field by field: decode accepts exactly what the spec accepts, with the same fields', (t) => {
  const problems: string[] = []
  let accepted = 0
  let runs = 0
  try {
    fc.assert(
      fc.property(boundaryObject, (o) => {
        runs++
        if (isValid(o)) accepted++
        const p = disagreement(o)
        if (p !== null) problems.push(p)
        return p === null
      }),
      { numRuns: 20_000, seed: 14 },
    )
  } catch (err) {
    if (problems.length === 0) problems.push((err as Error).message)
  }
  t.deepEqual(problems.slice(0, 1), [], `${runs} objects: decode agrees with the spec on each`)
  if (problems.length === 0) t.ok(accepted > 4000 && runs - accepted > 4000, `${accepted} of them valid, ${runs - accepted} refused`)
  t.end()
})

test('each value of each field, alone in an otherwise valid message: decode agrees with the spec', (t) => {
  const problems: string[] = []
  let cases = 0
  for (const base of BASES) {
    for (const [field, values] of Object.entries(BOUNDARY)) {
      for (const v of values) {
        const o: Record<string, unknown> = { ...base, [field]: v }
        if (v === undefined) delete o[field]
        cases++
        const p = disagreement(o)
        if (p !== null) problems.push(p)
      }
    }
    for (const version of [1, 2, 10, 2 ** 53 - 1]) {
      for (const link of ['prev', 'rprev']) {
        for (const at of around(version)) {
          cases++
          const p = disagreement({ ...base, version, [link]: at })
          if (p !== null) problems.push(p)
        }
      }
    }
  }
  t.deepEqual(problems, [], `${cases} single-field variations: no disagreement`)
  t.end()
})

test('the spec itself: the limits PROTOCOL.md names, and its verdict on known cases', (t) => {
  t.deepEqual(
    { maxKeyLength: DEFAULT_LIMITS.maxKeyLength, maxIdLength: DEFAULT_LIMITS.maxIdLength, maxValueDepth: DEFAULT_LIMITS.maxValueDepth },
    SPEC_LIMITS,
    'the library\'s default limits are the ones PROTOCOL.md names (4096, 256, 64)',
  )
  const cases: [string, unknown, boolean][] = [
    ['digest entry', { digest: true, source_id: 'A', version: 17 }, true],
    ['digest entry, nothing held (null)', { digest: true, source_id: 'A', version: null }, true],
    ['end of digest', { digest: true, done: true }, true],
    ['seed-era entry with done', { digest: true, source_id: 'A', version: 17, done: true }, true],
    ['update', { key: 'age', value: 100, source_id: 'A', version: 10 }, true],
    ['tombstone', { key: 'age', value: null, source_id: 'A', version: 11, deleted: true }, true],
    ['prev below version', { key: 'k', value: 1, source_id: 'A', version: 3, prev: 2 }, true],
    ['value nested 64 deep', { key: 'k', value: nest(64), source_id: 'A', version: 1 }, true],
    ['value nested 65 deep', { key: 'k', value: nest(65), source_id: 'A', version: 1 }, false],
    ['a reset', { digest: true, reset: true, source_id: 'A', from: 0, to: 10, n: 0 }, false],
    ['negative digest version (nothing held)', { digest: true, source_id: 'A', version: -1 }, true],
    ['fractional negative digest version', { digest: true, source_id: 'A', version: -1.5 }, false],
    ['digest: "yes"', { digest: 'yes', source_id: 'A', version: 1 }, false],
    ['update version 0', { key: 'k', value: 1, source_id: 'A', version: 0 }, false],
    ['empty source_id', { key: 'k', value: 1, source_id: '', version: 1 }, false],
    ['prev equal to version', { key: 'k', value: 1, source_id: 'A', version: 3, prev: 3 }, false],
    ['fractional version', { key: 'k', value: 1, source_id: 'A', version: 1.5 }, false],
    ['version 2^53', { key: 'k', value: 1, source_id: 'A', version: 2 ** 53 }, false],
    ['tombstone with a value', { key: 'k', value: 2, source_id: 'A', version: 2, deleted: true }, false],
    ['fp not hex', { digest: true, source_id: 'A', version: 1, fp: 'xyz' }, false],
    ['entry without source_id or done', { digest: true, version: 3 }, false],
  ]
  for (const [what, o, ok] of cases) {
    t.equal(isValid(o), ok, `spec: ${what}: ${ok ? 'valid' : 'refused'}`)
    t.equal(disagreement(o), null, `decode agrees: ${what}`)
  }
  t.end()
})

const lines: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom('{"key":"k","value":1,"source_id":"p","version":1e400}', '{"digest":true,"done":true', 'null', '[]', '"x"', '{"__proto__":{"x":1}}', '{}'),
  fc.nat(3000).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.nat(200_000).map((n) => JSON.stringify({ key: 'big', value: 'x'.repeat(n), source_id: 'p', version: 5 })),
  fc.json().map((j) => j.slice(0, Math.max(0, j.length - 3))), // truncated
)

test('raw bytes through the codec: no crash, no error, and the next good line still applies', async (t) => {
  let runs = 0
  await fc.assert(
    fc.asyncProperty(fc.array(lines, { maxLength: 12 }), fc.nat(), async (junk, cut) => {
      runs++
      const g = node('bytes')
      const s = g.createStream()
      const wire = new PassThrough()
      const dec = createDecoder({ maxLineLength: 64 * 1024 })
      let errors = 0
      for (const x of [wire, dec, s]) x.on('error', () => errors++)
      wire.pipe(dec).pipe(s)
      const text = junk.join('\n') + '\n{"key":"good","value":1,"source_id":"p","version":3}\n'
      // Deliver in two chunks cut at an arbitrary byte.
      const bytes = Buffer.from(text)
      const at = cut % (bytes.length + 1)
      wire.write(bytes.subarray(0, at))
      wire.write(bytes.subarray(at))
      await quiet(5)
      return errors === 0 && g.get('good').value === 1
    }),
    { numRuns: 200, seed: 13 },
  )
  t.pass(`${runs} byte streams: the node survived each, and applied the good line after the junk`)
  t.end()
})

test('memory stays bounded under a flood of invalid input and digest spam', async (t) => {
  const root = resolve(import.meta.dirname, '../..')
  const script = `
    import { Gossip, base } from './lib/index.ts'
    const g = new Gossip('mem', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
    const s = g.createStream()
    s.resume()
    const heap = () => { global.gc(); return process.memoryUsage().heapUsed }
    const feed = async (n, make) => {
      for (let i = 0; i < n; i++) if (!s.write(make(i))) await new Promise((r) => s.once('drain', r))
      await new Promise((r) => setImmediate(r))
    }
    await feed(20000, (i) => ({ key: 'warm', value: i, source_id: 'x', version: -1 }))
    const before = heap()
    await feed(200000, (i) => (i % 3 === 0 ? { junk: i } : i % 3 === 1 ? { digest: true, source_id: 'spam' + i, version: i, gc: 1 } : { digest: true, done: true, reply: true }))
    const after = heap()
    console.log(JSON.stringify({ before, after, sources: g.clock.size, invalid: g.stats.invalid }))
  `
  // No time limit of its own: the measurement is of memory, and the test
  // runner's per-file limit stops a process that never ends.
  const r = await new Promise<{ stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('close', () => done({ stdout, stderr }))
  })
  const line = r.stdout.trim().split('\n').pop() ?? ''
  let m: { before: number; after: number; sources: number; invalid: number } | null = null
  try {
    m = JSON.parse(line)
  } catch {
    t.fail(`no measurement: ${r.stderr.slice(-500)}`)
  }
  if (m !== null) {
    const growth = (m.after - m.before) / 1e6
    t.ok(growth < 16, `heap grew ${growth.toFixed(1)} MB over 200,000 hostile objects`)
    t.ok(m.sources <= 2, `digest spam made the node track ${m.sources} sources`)
    t.ok(m.invalid >= 86_666, `${m.invalid} refusals counted`)
  }
  t.end()
})
