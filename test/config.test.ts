import test from 'tape'
import { ConfigError, Gossip, base } from '../lib/index.ts'
import { normalizeConfig, type GossipConfig } from '../lib/config.ts'

const withResolve = (extra: object = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, ...extra })

test('config: defaults filled, validated and frozen', (t) => {
  const c = normalizeConfig(withResolve())
  t.equal(c.mtu, 10, 'mtu 10')
  t.equal(c.max_history, 10, 'max_history 10')
  t.equal(c.order, 'depth', 'depth by default')
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.limits), 'frozen')
  const g = new Gossip('A', withResolve({ mtu: 25 }))
  t.equal(g.config.mtu, 25, 'exposed on the node')
  t.end()
})

test('config: each bad field is a ConfigError that says what is wrong', (t) => {
  const cases: [object, RegExp][] = [
    [{ mtu: -1 }, /mtu must be a positive integer/],
    [{ mtu: 1.5 }, /mtu must be a positive integer/],
    [{ max_history: 'ten' }, /max_history must be a positive integer/],
    [{ order: 'sideways' }, /order must be 'depth' or 'breadth'/],
    [{ sort: 3 }, /sort must be a function/],
    [{ random: 'x' }, /random must be a function/],
    [{ generation: '' }, /generation must be a non-empty string/],
    [{ limits: { maxKeyLength: 0 } }, /limits.maxKeyLength must be a positive integer/],
  ]
  for (const [extra, re] of cases) {
    t.throws(() => normalizeConfig(withResolve(extra) as never), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), JSON.stringify(extra))
  }
  t.end()
})

test('config: the id must be a usable string', (t) => {
  t.throws(() => new Gossip('', withResolve()), /non-empty string/, 'empty id')
  t.throws(() => new Gossip(5 as never, withResolve()), /non-empty string/, 'number id')
  t.throws(() => new Gossip('a\u0000b', withResolve()), /non-empty string/, 'NUL in id')
  t.end()
})

test('set refuses keys and values that cannot travel', (t) => {
  const g = new Gossip('A', withResolve())
  t.throws(() => g.set('k', undefined as never), /undefined is not a JSON value/, 'undefined')
  t.throws(() => g.set('k', 10n as never), /bigint/, 'BigInt')
  t.throws(() => g.set('k', NaN), /not representable/, 'NaN')
  const cyc: Record<string, unknown> = {}
  cyc.me = cyc
  t.throws(() => g.set('k', cyc as never), /cyclic/, 'cycle')
  t.throws(() => g.set({} as never, 1), /key must be a string/, 'object key')
  t.equal(g.set(7, 'seven'), true, 'a number key is its string')
  t.equal(g.get('7').value, 'seven', 'stored under "7"')
  t.deepEqual([...g.keys()], ['7'], 'nothing else was stored')
  t.end()
})

test('max_history: every falsy value means the default, as the seed says', (t) => {
  for (const v of [undefined, null, 0, false, '', Number.NaN]) {
    const g = new Gossip('x', withResolve({ max_history: v }))
    t.equal(g.config.max_history, 10, `max_history ${String(v)} -> 10`)
  }
  t.throws(() => new Gossip('x', withResolve({ max_history: -3 })), /^ConfigError: config\.max_history must be a positive integer or Infinity, got -3$/, 'a truthy bad value is still refused')
  t.end()
})

test('mtu: absent (undefined or null) means the default; 0, NaN and anything but a positive integer or Infinity is refused, the value shown as given', (t) => {
  for (const v of [undefined, null]) t.equal(new Gossip('x', withResolve({ mtu: v })).config.mtu, 10, `mtu ${String(v)} -> 10`)
  t.equal(new Gossip('x', withResolve({ mtu: Infinity })).config.mtu, Infinity, 'mtu Infinity: no cut')
  const cases: [unknown, string][] = [
    [0, '0'],
    [Number.NaN, 'NaN'],
    [-1, '-1'],
    [1.5, '1.5'],
    ['10', '"10"'],
    [false, 'false'],
    ['', '""'],
    [-Infinity, '-Infinity'],
  ]
  for (const [v, got] of cases) {
    const message = (() => {
      try {
        new Gossip('x', withResolve({ mtu: v }))
        return 'accepted'
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`
      }
    })()
    t.equal(message, `ConfigError: config.mtu must be a positive integer or Infinity, got ${got}`, `mtu ${got}`)
  }
  t.throws(() => new Gossip('x', withResolve({ max_history: 'x' })), /^ConfigError: config\.max_history must be a positive integer or Infinity, got "x"$/, 'a string is shown quoted')
  t.throws(() => new Gossip('x', withResolve({ order: 'random' })), /^ConfigError: config\.order must be 'depth' or 'breadth', got "random"$/, 'order: quoted too')
  t.end()
})

test('an option that does not exist is a warning naming the nearest one, once per process, never an error', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  try {
    const g = new Gossip('x', withResolve({ mtuu: 5, maxHistory: 3, appField: 'mine' }))
    new Gossip('y', withResolve({ mtuu: 5 }))
    await new Promise((done) => setImmediate(done))
    t.equal(g.config.mtu, 10, 'the misspelt option changed nothing')
    t.deepEqual(warnings, [
      'ConfigWarning: simple-scuttle: config.mtuu is not an option of new Gossip; it is ignored (did you mean mtu?)',
      'ConfigWarning: simple-scuttle: config.maxHistory is not an option of new Gossip; it is ignored (did you mean max_history?)',
      'ConfigWarning: simple-scuttle: config.appField is not an option of new Gossip; it is ignored',
    ])
    warnings.length = 0
    new Gossip('z', { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 5, tombstoneGrace: 1000, flow: null, limits: {} })
    await new Promise((done) => setImmediate(done))
    t.deepEqual(warnings, [], 'known options: no warning')
  } finally {
    process.off('warning', onWarning)
  }
  t.end()
})

test('a key of config.flow that is no option is the same warning, naming the nearest one', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  try {
    const g = new Gossip('x', withResolve({ flow: { desired: 1, alpah: 0.5, maxQueue: 3, timer: false, mine: 1 } }))
    await new Promise((done) => setImmediate(done))
    t.equal(g.config.flow?.alpha, 0.75, 'the misspelt option changed nothing')
    t.deepEqual(warnings, [
      'ConfigWarning: simple-scuttle: config.flow.alpah is not an option of flow control; it is ignored (did you mean alpha?)',
      'ConfigWarning: simple-scuttle: config.flow.maxQueue is not an option of flow control; it is ignored (did you mean maxQueued?)',
      'ConfigWarning: simple-scuttle: config.flow.mine is not an option of flow control; it is ignored',
    ])
    g.destroy()
    warnings.length = 0
    const h = new Gossip('y', withResolve({ flow: { desired: 1, initial: 1, interval: 500, burst: 2, overflow: 'refuse', maxQueued: 5, timer: false, alpha: 0.5, beta: 0.1, phi1: 2, phi2: 2 } }))
    await new Promise((done) => setImmediate(done))
    t.deepEqual(warnings, [], 'every flow option: no warning')
    h.destroy()
  } finally {
    process.off('warning', onWarning)
  }
  t.end()
})

test('config.now that returns no finite number is refused at construction; mtu Infinity makes streams with a finite buffer', (t) => {
  const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
  t.throws(() => new Gossip('a', { ...cfg, now: () => Number.NaN }), /config\.now must return a finite number of ms, returned NaN/, 'NaN')
  t.throws(() => new Gossip('a', { ...cfg, now: (() => '5') as unknown as () => number }), /config\.now must return a finite number/, 'a string')
  t.throws(() => new Gossip('a', { ...cfg, now: () => Date.now() * 1000 }), /config\.now must return ms .*a clock in µs\?/, 'a clock in µs (as the Engine takes) is refused at construction, not at every set')
  t.ok(new Gossip('a', { ...cfg, now: () => Date.now() }).set('k', 1), 'a clock in ms is fine')
  const g = new Gossip('a', { ...cfg, mtu: Infinity })
  t.ok(g.createStream() && g.createWireStream(), 'an unbounded mtu: object and wire streams are made')
  t.ok(g.set('k', 1), 'and writes go')
  g.destroy()
  t.end()
})

test('config.lossy must be a boolean: a string or a number is a ConfigError, not a silent false', (t) => {
  for (const lossy of ['yes', 1, 0, 'true', {}]) {
    t.throws(
      () => normalizeConfig(withResolve({ lossy }) as never),
      (e: unknown) => e instanceof ConfigError && /config\.lossy must be true or false/.test((e as Error).message),
      `lossy: ${JSON.stringify(lossy)}`,
    )
  }
  t.equal(normalizeConfig(withResolve({ lossy: true })).lossy, true, 'true')
  t.equal(normalizeConfig(withResolve({ lossy: false })).lossy, false, 'false')
  t.equal(normalizeConfig(withResolve({ lossy: undefined })).lossy, false, 'undefined: the default')
  t.equal(normalizeConfig(withResolve({ lossy: null })).lossy, false, 'null: the default')
  t.end()
})

test('a key of config.limits that is no limit is the same warning, naming the nearest one, and is ignored', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  try {
    const g = new Gossip('x', withResolve({ limits: { maxKeyLen: 10, maxSources: 5, mine: 'text' } }))
    await new Promise((done) => setImmediate(done))
    t.equal(g.config.limits.maxKeyLength, 4096, 'the misspelt limit changed nothing')
    t.equal(g.config.limits.maxSources, 5, 'the known one is taken')
    t.notOk('maxKeyLen' in g.config.limits || 'mine' in g.config.limits, 'unknown keys are not carried into the limits')
    t.deepEqual(warnings, [
      'ConfigWarning: simple-scuttle: config.limits.maxKeyLen is not a limit; it is ignored (did you mean maxKeyLength?)',
      'ConfigWarning: simple-scuttle: config.limits.mine is not a limit; it is ignored',
    ])
    g.destroy()
    warnings.length = 0
    const h = new Gossip('y', withResolve({ limits: { maxKeyLength: 10, maxIdLength: 10, maxValueDepth: 10, maxValueBytes: 1000, maxSources: 10 } }))
    await new Promise((done) => setImmediate(done))
    t.deepEqual(warnings, [], 'every limit: no warning')
    h.destroy()
  } finally {
    process.off('warning', onWarning)
  }
  t.end()
})
