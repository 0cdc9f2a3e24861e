import test from 'tape'
import { once } from 'node:events'
import {
  createDecoder,
  createEncoder,
  type DecoderOptions,
  type DecoderStats,
  type NdjsonDecoder,
} from '../../lib/codec/ndjson.ts'

const MiB = 1024 * 1024

interface Run {
  objects: unknown[]
  invalid: Array<[reason: string, sample: string]>
  errors: unknown[]
  stats: DecoderStats
}

/** Feed `chunks` to a decoder, respecting backpressure, and collect everything it emits. */
async function decode(chunks: Iterable<Buffer | string>, options?: DecoderOptions, d?: NdjsonDecoder): Promise<Run> {
  const dec = d ?? createDecoder(options)
  const run: Run = { objects: [], invalid: [], errors: [], stats: dec.stats }
  dec.on('data', (o: unknown) => run.objects.push(o))
  dec.on('invalid', (reason, sample) => run.invalid.push([reason, sample]))
  dec.on('error', (err: unknown) => run.errors.push(err))
  const ended = once(dec, 'end')
  for (const c of chunks) if (!dec.write(c)) await once(dec, 'drain')
  dec.end()
  await ended
  run.stats = dec.stats
  return run
}

/** `buf` cut into `n` nearly equal pieces. */
function pieces(buf: Buffer, n: number): Buffer[] {
  const out: Buffer[] = []
  const size = Math.ceil(buf.length / n)
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size))
  return out
}

const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s) : s)
const longLine = (bytes: number): Buffer => Buffer.from('{"x":"' + 'a'.repeat(bytes - 8) + '"}')

interface BadCase {
  name: string
  /** The input, which includes the good line `good` somewhere after the bad one. */
  chunks: (good: Buffer) => Buffer[]
  reason: RegExp
  options?: DecoderOptions
  /** The bad line may also decode to an object (instead of being dropped). */
  mayParse?: boolean
}

const simple = (name: string, line: string | Buffer, reason: RegExp, mayParse = false): BadCase => ({
  name,
  chunks: (good) => [Buffer.concat([b(line), b('\n')]), good],
  reason,
  mayParse,
})

const MALFORMED = /^malformed JSON/
const twoMiB = longLine(2 * MiB)

const badCases: BadCase[] = [
  simple('unquoted key', '{a:1}', MALFORMED),
  simple('truncated object', '{"a":1', MALFORMED),
  simple('object cut after a colon', '{"a":', MALFORMED),
  simple('unterminated string', '{"a":"abc', MALFORMED),
  simple('trailing comma', '{"a":1,}', MALFORMED),
  simple('single quotes', "{'a':1}", MALFORMED),
  simple('two objects on one line', '{"a":1}{"b":2}', MALFORMED),
  simple('trailing garbage', '{"a":1} x', MALFORMED),
  simple('NaN', 'NaN', MALFORMED),
  simple('Infinity', 'Infinity', MALFORMED),
  simple('undefined', 'undefined', MALFORMED),
  simple('byte order mark', '\uFEFF{"a":1}', MALFORMED),
  simple('NUL bytes', Buffer.from([0, 0, 0]), MALFORMED),
  simple('bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0xc0, 0x80]), MALFORMED),
  simple('bare null', 'null', /^expected an object, got null$/),
  simple('true', 'true', /^expected an object, got boolean$/),
  simple('false', 'false', /^expected an object, got boolean$/),
  simple('a number', '42', /^expected an object, got number$/),
  simple('a number that overflows', '1e999', /^expected an object, got number$/),
  simple('a string', '"hello"', /^expected an object, got string$/),
  simple('an empty array', '[]', /^expected an object, got an array$/),
  simple('an array of objects', '[{"a":1}]', /^expected an object, got an array$/),
  simple(
    'arrays nested 100k deep',
    '['.repeat(100_000) + ']'.repeat(100_000),
    /^(malformed JSON|expected an object, got an array$)/,
  ),
  simple('invalid UTF-8 inside a string', Buffer.from([0x7b, 0x22, 0x73, 0x22, 0x3a, 0x22, 0xff, 0xc3, 0x22, 0x7d]), MALFORMED, true),
  {
    name: '2 MiB line in one chunk, maxLineLength 1 MiB',
    chunks: (good) => [Buffer.concat([twoMiB, b('\n')]), good],
    reason: /^line longer than 1048576 bytes$/,
    options: { maxLineLength: MiB },
  },
  {
    name: '2 MiB line in 1000 chunks, maxLineLength 1 MiB',
    chunks: (good) => [...pieces(Buffer.concat([twoMiB, b('\n')]), 1000), good],
    reason: /^line longer than 1048576 bytes$/,
    options: { maxLineLength: MiB },
  },
  {
    name: 'over-long line and a good line in the same chunk',
    chunks: (good) => [Buffer.concat([twoMiB, b('\n'), good])],
    reason: /^line longer than 1048576 bytes$/,
    options: { maxLineLength: MiB },
  },
  {
    name: 'over-long line starting mid-chunk, good line in its last chunk',
    chunks: (good) => {
      const all = Buffer.concat([b('\n\n'), twoMiB, b('\n'), good])
      return [all.subarray(0, 100), all.subarray(100, all.length - 5), all.subarray(all.length - 5)]
    },
    reason: /^line longer than 1048576 bytes$/,
  },
  {
    name: 'one byte over a small limit, split at the newline',
    chunks: (good) => [b('{"a":"12345678"}'), b('\n' + good.toString())],
    reason: /^line longer than 15 bytes$/,
    options: { maxLineLength: 15 },
  },
  {
    name: 'unterminated malformed line at the end of input',
    chunks: (good) => [good, b('{"a":')],
    reason: MALFORMED,
  },
]

test('decoder: every bad line is dropped with a reason and the good line after it decodes', async (t) => {
  t.ok(badCases.length >= 20, `${badCases.length} bad inputs`)
  for (let i = 0; i < badCases.length; i++) {
    const c = badCases[i]
    const good = { ok: i }
    const run = await decode(c.chunks(b(JSON.stringify(good) + '\n')), c.options)
    t.deepEqual(run.errors, [], `${c.name}: no error event`)
    if (c.mayParse && run.invalid.length === 0) {
      t.equal(run.objects.length, 2, `${c.name}: decoded as an object`)
      t.deepEqual(run.objects[1], good, `${c.name}: the good line still decodes`)
      continue
    }
    t.equal(run.invalid.length, 1, `${c.name}: one invalid event`)
    const [reason, sample] = run.invalid[0] ?? ['', '']
    t.match(reason, c.reason, `${c.name}: reason "${reason}"`)
    t.ok(sample.length <= 200, `${c.name}: sample at most 200 characters`)
    t.deepEqual(run.objects, [good], `${c.name}: the good line still decodes`)
    t.deepEqual(
      [run.stats.lines, run.stats.objects, run.stats.invalid],
      [2, 1, 1],
      `${c.name}: stats count both lines`,
    )
  }
})

test('decoder: a bare null line does not end the stream', async (t) => {
  const run = await decode(['{"a":1}\nnull\n{"a":2}\n', 'null\n', '{"a":3}\n'])
  t.deepEqual(run.objects, [{ a: 1 }, { a: 2 }, { a: 3 }], 'objects after null keep flowing')
  t.equal(run.stats.invalid, 2, 'each null counted as invalid')
})

test('decoder: __proto__ is an ordinary own key and pollutes nothing', async (t) => {
  const run = await decode(['{"__proto__": {"polluted": true}, "a": 1}\n'])
  t.equal(run.invalid.length, 0, 'accepted')
  t.equal(run.objects.length, 1, 'emitted')
  const o = run.objects[0] as Record<string, unknown>
  t.equal(Object.getPrototypeOf(o), Object.prototype, 'prototype unchanged')
  t.ok(Object.hasOwn(o, '__proto__'), '__proto__ is an own property')
  t.equal((o as { polluted?: unknown }).polluted, undefined, 'object not polluted')
  t.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype not polluted')
})

test('decoder: CRLF, blank lines and a final unterminated line', async (t) => {
  const run = await decode(['\n', '{"a":1}\r\n', '\r\n  \n\t\n', '{"a":2}\n\n', '{"a":3}'])
  t.deepEqual(run.objects, [{ a: 1 }, { a: 2 }, { a: 3 }], 'all three objects')
  t.deepEqual(run.invalid, [], 'blank lines are not invalid')
  t.deepEqual(run.stats, { lines: 3, objects: 3, invalid: 0, bytes: 33 }, 'stats')
})

test('decoder: strings and Buffers are both accepted', async (t) => {
  const run = await decode(['{"a":', Buffer.from('1}\n'), '{"b":2}\n'])
  t.deepEqual(run.objects, [{ a: 1 }, { b: 2 }], 'decoded')
})

test('decoder: maxLineLength is inclusive, in bytes', async (t) => {
  const exact = '{"s":"€€"}' // 14 bytes
  t.equal(Buffer.byteLength(exact), 14, 'sample is 14 bytes')
  const ok = await decode([exact + '\n'], { maxLineLength: 14 })
  t.deepEqual(ok.objects, [{ s: '€€' }], 'a line of exactly maxLineLength bytes is accepted')
  const bytewise = await decode(pieces(Buffer.from(exact + '\n' + exact + '\n'), 30), { maxLineLength: 14 })
  t.deepEqual(bytewise.objects, [{ s: '€€' }, { s: '€€' }], 'also when fed byte by byte')
  const over = await decode(pieces(Buffer.from(exact + '\n' + '{}\n'), 17), { maxLineLength: 13 })
  t.deepEqual(over.objects, [{}], 'one byte more is dropped')
  t.deepEqual(over.invalid.map((x) => x[0]), ['line longer than 13 bytes'], 'with its reason')
})

test('decoder: the sample of an over-long line is its first 200 characters', async (t) => {
  const line = Buffer.from('{"x":"' + 'é'.repeat(MiB) + '"}\n{"ok":1}\n')
  for (const n of [1, 5000]) {
    const run = await decode(pieces(line, n), { maxLineLength: 1000 })
    t.equal(run.invalid.length, 1, `${n} chunks: one invalid`)
    const sample = run.invalid[0]?.[1] ?? ''
    t.equal(sample, ('{"x":"' + 'é'.repeat(200)).slice(0, 200), `${n} chunks: sample is the line's start`)
    t.deepEqual(run.objects, [{ ok: 1 }], `${n} chunks: decoding resumes`)
  }
})

test('decoder: onInvalid gets the same reason and sample as the event', async (t) => {
  const seen: string[][] = []
  const run = await decode(['[1]\n{"a"\n{}\n'], { onInvalid: (r, s) => seen.push([r, s]) })
  t.deepEqual(seen, run.invalid, 'same calls')
  t.deepEqual(seen, [['expected an object, got an array', '[1]'], ['malformed JSON', '{"a"']], 'reasons and samples')
})

test('decoder: a 100 MiB line in 64 KiB chunks is dropped in bounded memory', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  chunk[0] = 0x7b // '{'
  const count = (100 * MiB) / chunk.length
  const base = process.memoryUsage().rss
  let peak = base
  function* input(): Generator<Buffer> {
    yield Buffer.from('{"first":true}\n')
    for (let i = 0; i < count; i++) {
      if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss)
      yield chunk
    }
    yield Buffer.from('\n{"after":true}\n')
  }
  const run = await decode(input())
  peak = Math.max(peak, process.memoryUsage().rss)
  t.deepEqual(run.objects, [{ first: true }, { after: true }], 'lines around it decode')
  t.deepEqual(run.invalid.map((x) => x[0]), ['line longer than 1048576 bytes'], 'one invalid event')
  t.equal(run.stats.bytes, 100 * MiB + 31, 'every byte counted')
  t.ok(peak - base < 64 * MiB, `rss grew by ${((peak - base) / MiB).toFixed(1)} MiB (< 64 MiB)`)
})

test('decoder: multi-byte characters split across chunks', async (t) => {
  const obj = { s: 'price 5€ 😀 ok', k: '€😀' }
  const buf = Buffer.from(JSON.stringify(obj) + '\n')
  let all = true
  for (let i = 1; i < buf.length; i++) {
    const run = await decode([buf.subarray(0, i), buf.subarray(i)])
    if (run.invalid.length !== 0 || JSON.stringify(run.objects) !== JSON.stringify([obj])) {
      all = false
      t.fail(`split at byte ${i}`)
    }
  }
  t.ok(all, `identical at all ${buf.length - 1} split points`)
  const bytewise = await decode(pieces(buf, buf.length))
  t.deepEqual(bytewise.objects, [obj], 'identical fed one byte at a time')
})

test('decoder: a multi-line message split at every pair of offsets decodes identically', async (t) => {
  const msgs = [{ a: 1, s: 'x€' }, { digest: true, source_id: '😀', version: 3 }, {}]
  const buf = Buffer.from(JSON.stringify(msgs[0]) + '\r\n\n' + JSON.stringify(msgs[1]) + '\n' + JSON.stringify(msgs[2]))
  const want = JSON.stringify(msgs)
  let bad = 0
  let runs = 0
  for (let i = 0; i <= buf.length; i++) {
    for (let j = i; j <= buf.length; j += 3) {
      const run = await decode([buf.subarray(0, i), buf.subarray(i, j), buf.subarray(j)])
      runs++
      if (JSON.stringify(run.objects) !== want || run.invalid.length !== 0) bad++
    }
  }
  t.equal(bad, 0, `all ${runs} splits decode to the same objects`)
})

test('encoder: round trip of 300 objects through encoder and decoder', async (t) => {
  const objects: Array<Record<string, unknown>> = []
  for (let i = 0; i < 300; i++) {
    objects.push({
      key: 'k' + i,
      value: i % 3 === 0 ? { nested: [i, 'line\nbreak', null, true] } : 'v€😀' + '\u2028'.repeat(i % 4),
      source_id: 's' + (i % 7),
      version: i + 1,
    })
  }
  objects.push(JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>)
  const enc = createEncoder()
  const dec = createDecoder()
  const out: unknown[] = []
  dec.on('data', (o: unknown) => out.push(o))
  enc.pipe(dec)
  const ended = once(dec, 'end')
  for (const o of objects) if (!enc.write(o)) await once(enc, 'drain')
  enc.end()
  await ended
  t.deepEqual(out, objects, 'equal objects, in order')
  t.equal(enc.stats.objects, objects.length, 'encoder counted every object')
  t.equal(enc.stats.bytes, dec.stats.bytes, 'encoder bytes out equal decoder bytes in')
  t.equal(Object.getPrototypeOf(out[out.length - 1]), Object.prototype, '__proto__ key survives as an own key')
})

test('encoder: unencodable values are skipped with invalid and the stream continues', async (t) => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const inputs: unknown[] = [
    { n: 1 },
    cyclic,
    { big: 10n },
    { toJSON: () => { throw new Error('nope') } },
    { toJSON: () => 42 },
    42,
    'str',
    [1],
    { n: 2 },
  ]
  const enc = createEncoder()
  const reasons: string[] = []
  const errors: unknown[] = []
  enc.on('invalid', (r) => reasons.push(r))
  enc.on('error', (e: unknown) => errors.push(e))
  const dec = createDecoder()
  const out: unknown[] = []
  dec.on('data', (o: unknown) => out.push(o))
  enc.pipe(dec)
  const ended = once(dec, 'end')
  for (const x of inputs) enc.write(x)
  enc.end()
  await ended
  t.deepEqual(out, [{ n: 1 }, { n: 2 }], 'only the encodable objects arrive')
  t.deepEqual(errors, [], 'no error event')
  t.equal(reasons.length, 7, 'one invalid per refused value')
  t.match(reasons[0], /^cannot encode as JSON: Converting circular structure/, 'cycle reason')
  t.match(reasons[1], /^cannot encode as JSON: .*BigInt/, 'BigInt reason')
  t.equal(reasons[2], 'cannot encode as JSON: nope', 'throwing toJSON reason')
  t.equal(reasons[3], 'cannot encode as JSON: toJSON did not give an object', 'non-object toJSON')
  t.deepEqual(
    reasons.slice(4),
    ['expected an object, got number', 'expected an object, got string', 'expected an object, got an array'],
    'non-objects refused',
  )
  t.equal(enc.stats.objects, 2, 'stats count only the written objects')
  t.equal(dec.stats.invalid, 0, 'the decoder saw no bad line')
})

test('encoder: corked writes all arrive in order, invalid ones skipped', async (t) => {
  const enc = createEncoder()
  const chunks: Buffer[] = []
  enc.on('data', (c: Buffer) => chunks.push(c))
  let invalid = 0
  enc.on('invalid', () => invalid++)
  const cyclic: Record<string, unknown> = {}
  cyclic.c = cyclic
  enc.cork()
  for (let i = 0; i < 50; i++) enc.write(i === 25 ? cyclic : { i })
  enc.uncork()
  enc.end()
  await once(enc, 'end')
  const lines = Buffer.concat(chunks).toString().split('\n')
  t.equal(lines.pop(), '', 'output ends with a newline')
  t.deepEqual(
    lines.map((l) => JSON.parse(l)),
    Array.from({ length: 50 }, (_, i) => ({ i })).filter((_, i) => i !== 25),
    'every encodable object, in order',
  )
  t.equal(invalid, 1, 'the cyclic one was refused')
})

test('encoder: a batch that fills the output waits for the reader, then everything flows', async (t) => {
  const enc = createEncoder()
  const pad = 'p'.repeat(200)
  enc.cork()
  for (let i = 0; i < 1000; i++) enc.write({ i, pad })
  enc.uncork()
  let more = true
  let n = 1000
  while (more && n < 5000) more = enc.write({ i: n++, pad })
  t.notOk(more, 'write reports backpressure while nobody reads')
  t.ok(enc.readableLength >= enc.readableHighWaterMark, 'output is full')
  const dec = createDecoder()
  let seen = 0
  let inOrder = true
  dec.on('data', (o: { i: number }) => {
    if (o.i !== seen) inOrder = false
    seen++
  })
  enc.pipe(dec)
  const ended = once(dec, 'end')
  enc.end()
  await ended
  t.equal(seen, n, `all ${n} objects arrive`)
  t.ok(inOrder, 'in order')
})
