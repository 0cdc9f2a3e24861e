import test from 'tape'
import { ConfigError, Gossip, base } from '../lib/index.ts'
import { normalizeConfig } from '../lib/config.ts'

const withResolve = (extra: object = {}) => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, ...extra })

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

test('max_history and mtu: every falsy value means the default, as the seed says', (t) => {
  for (const v of [undefined, null, 0, false, '', Number.NaN]) {
    const g = new Gossip('x', { ...base.config, resolve: base.resolution.lww_vs_current_vers, max_history: v as never, mtu: v as never })
    t.equal(g.config.max_history, 10, `max_history ${String(v)} -> 10`)
    t.equal(g.config.mtu, 10, `mtu ${String(v)} -> 10`)
  }
  t.throws(() => new Gossip('x', { ...base.config, resolve: base.resolution.lww_vs_current_vers, max_history: -3 }), /max_history must be a positive integer, got -3/, 'a truthy bad value is still refused')
  t.end()
})

test('config.now that returns no finite number is refused at construction; mtu Infinity makes streams with a finite buffer', (t) => {
  const cfg = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
  t.throws(() => new Gossip('a', { ...cfg, now: () => Number.NaN }), /config\.now must return a finite number of ms, returned NaN/, 'NaN')
  t.throws(() => new Gossip('a', { ...cfg, now: (() => '5') as unknown as () => number }), /config\.now must return a finite number/, 'a string')
  const g = new Gossip('a', { ...cfg, mtu: Infinity })
  t.ok(g.createStream() && g.createWireStream(), 'an unbounded mtu: object and wire streams are made')
  t.ok(g.set('k', 1), 'and writes go')
  g.destroy()
  t.end()
})
