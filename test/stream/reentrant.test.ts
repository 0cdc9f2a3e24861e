/**
 * Writes made from inside a user function that a write calls (a history
 * listener deriving one key from another, a listener correcting a value)
 * take versions of their own and reach peers in version order.
 */
import test from 'tape'
import { connect, node, quiet, sameState, until } from '../support/streams.ts'

test('a set inside a history listener takes a later version and reaches the peer, in order, without rounds', async (t) => {
  const now = () => 0
  const a = node('A', { now })
  const b = node('B', { now })
  a.history.on('update', (u) => {
    if (u.key === 'x') a.set('x_copy', u.value)
  })
  connect(a, b)
  a.gossip()
  await quiet()
  const invalid: unknown[] = []
  b.on('invalid', (e: unknown) => invalid.push(e))
  a.set('x', 1)
  const x = a.record('x')!
  const copy = a.record('x_copy')!
  t.equal(x.version, 1, 'the outer write has version 1')
  t.equal(copy.version, 2, 'the write made by the listener has version 2, not 1 again')
  t.equal(a.clock.get('A'), 2, 'the clock covers both')
  await until(() => b.get('x_copy').value === 1 && b.get('x').value === 1, 10_000, 'both keys at B')
  t.deepEqual([b.get('x').version, b.get('x_copy').version], [1, 2], 'B holds both at their versions')
  t.deepEqual(invalid, [], 'B found nothing invalid')
  t.equal(b.clock.get('A'), 2, "B's clock of A covers both, from pushes alone")
  a.set('y', 3)
  t.equal(a.record('y')!.version, 3, 'the next write follows both')
  t.end()
})

test('a listener that corrects the value just written has the last word', async (t) => {
  const g = node('G', { now: () => 1_000 })
  g.history.on('update', (u) => {
    if (typeof u.value === 'number' && u.value > 100) g.set(u.key, 100)
  })
  g.set('speed', 150)
  t.equal(g.get('speed').value, 100, 'the correction wins')
  t.ok(g.get('speed').version > 1_000_000, 'and carries the later version')
  t.end()
})

test('a write refused by a user function leaves a gap, and the writes after it keep unique versions', async (t) => {
  const g = node('C', {
    now: () => 0,
    sort: (p, q) => {
      if (p.key === 'bad' || q.key === 'bad') throw new Error('no')
      return p.version - q.version
    },
  })
  g.set('ok', 1)
  t.throws(() => g.set('bad', 2), /sort threw/, 'the refused write throws')
  g.set('after', 3)
  t.deepEqual([g.record('ok')!.version, g.record('after')!.version], [1, 3], 'the refused version is not reused')
  t.equal(g.get('bad').value, null, 'the refused write is absent')
  t.equal(g.clock.get('C'), 3, 'the clock moved past the gap')
  t.end()
})

test('records read back are frozen, the record itself as well as its value', async (t) => {
  const state: Record<string, unknown> = {}
  const g = node('G', {}, state)
  g.set('x', { n: 1 })
  const r = g.record('x')!
  t.ok(Object.isFrozen(r), 'record() is frozen')
  t.ok(Object.isFrozen(g.history.memory[0]), 'the history entry is frozen')
  t.ok(Object.isFrozen(state.x), 'the record written through to the state object is frozen')
  t.throws(() => {
    'use strict'
    ;(r as { version: number }).version = 0
  }, TypeError, 'assigning to it throws')
  t.end()
})

/** A state object that clamps numbers over 100 by writing the key again through `g` (the seed's proxy over a store). */
function clampingState(g: () => ReturnType<typeof node>): Record<string, unknown> {
  return new Proxy({} as Record<string, unknown>, {
    set(target, key: string, rec: { value?: unknown }) {
      target[key] = rec
      if (typeof rec?.value === 'number' && rec.value > 100) g().set(key, 100)
      return true
    },
  })
}

/** Every record a node holds is in its source's log and no other record is: the sizes agree per source. */
function logsMatch(g: ReturnType<typeof node>): boolean {
  const replica = (g as unknown as { replica: { clock: { values(): Iterable<{ id: string; log: { size: number } }> } } }).replica
  for (const src of replica.clock.values()) {
    if (src.log.size !== g.records().filter((r) => r.source_id === src.id).length) return false
  }
  return true
}

test('a state object that writes the key being stored: its write supersedes the one it reacted to, at the writer and at a receiver', async (t) => {
  for (const at of ['writer', 'receiver'] as const) {
    let clamp!: ReturnType<typeof node>
    const state = clampingState(() => clamp)
    const a = node('A', { now: () => 0 }, at === 'writer' ? state : undefined)
    const b = node('B', { now: () => 0 }, at === 'receiver' ? state : undefined)
    clamp = at === 'writer' ? a : b
    const heard: string[] = []
    clamp.history.on('update', (u) => heard.push(`${u.source_id}@${u.version}=${JSON.stringify(u.value)}`))
    connect(a, b)
    a.gossip()
    await quiet()
    a.set('speed', 150)
    for (let r = 0; r < 4; r++) {
      a.gossip()
      b.gossip()
      await quiet()
    }
    const held = clamp.record('speed')!
    t.deepEqual([held.source_id, held.value], [clamp.id, 100], `${at}: the clamping write is what the node holds`)
    t.equal((state.speed as { version: number }).version, held.version, `${at}: the state object holds the same record`)
    t.deepEqual([a.get('speed'), b.get('speed')], [held, held].map((r) => ({ version: r.version, value: 100 })), `${at}: both nodes hold it`)
    t.ok(logsMatch(a) && logsMatch(b), `${at}: no record is left in a source log without its key`)
    t.deepEqual(heard, [`${clamp.id}@${held.version}=100`], `${at}: history heard only of the write that stands`)
  }
  t.end()
})

test('a resolve that writes the key it decides on: that write stands, no record is orphaned', async (t) => {
  // Merges a conflicting remote number into a local write once (then takes the higher version as usual).
  const merged = new Set<string>()
  const resolve = (g: { id: string; record(k: string): { source_id: string; value: unknown; version: number } | undefined; set(k: string, v: unknown): void }, u: { key: string; source_id: string; value: unknown; version: number }) => {
    const cur = g.record(u.key)
    if (cur === undefined) return true
    if (u.source_id !== g.id && cur.source_id === g.id && !merged.has(g.id) && typeof cur.value === 'number' && typeof u.value === 'number') {
      merged.add(g.id)
      g.set(u.key, cur.value + u.value)
      return true
    }
    return u.version > cur.version || (u.version === cur.version && u.source_id > cur.source_id)
  }
  const a = node('A', { now: () => 0, resolve: resolve as never })
  const b = node('B', { now: () => 0, resolve: resolve as never })
  a.set('x', 1)
  b.set('x', 10)
  connect(a, b)
  for (let r = 0; r < 6; r++) {
    a.gossip()
    b.gossip()
    await quiet()
  }
  t.ok(logsMatch(a) && logsMatch(b), 'every record held is in its log, and only those')
  t.deepEqual(a.get('x'), b.get('x'), 'the nodes agree')
  t.ok(merged.has('A') && merged.has('B'), 'both merged once (the case under test happened)')
  t.end()
})

test('a listener that gossips before its write is announced: the announcement still links below its version', async (t) => {
  for (const variant of ['twice', 'derived'] as const) {
    const a = node('A', { now: () => 0 })
    const b = node('B', { now: () => 0 })
    const refused: unknown[] = []
    b.on('invalid', (reason: string, o: unknown) => refused.push([reason, o]))
    const pushes: Array<{ version: number; prev: number }> = []
    a.on('data', (o: { key?: string; version: number; prev?: number }) => {
      if (o.key !== undefined && typeof o.prev === 'number') pushes.push({ version: o.version, prev: o.prev })
    })
    a.history.on('update', (u) => {
      if (u.source_id !== 'A') return
      if (variant === 'twice' && u.key === 'x') {
        a.gossip()
        a.gossip()
      }
      if (variant === 'derived') {
        if (u.key === 'x') a.set('x2', 2)
        a.gossip()
      }
    })
    connect(a, b)
    a.gossip()
    await quiet()
    a.set('x', 1)
    await quiet()
    for (let r = 0; r < 3; r++) {
      a.gossip()
      b.gossip()
      await quiet()
    }
    t.ok(pushes.length > 0, `${variant}: A pushed linked updates (the case under test happened)`)
    t.ok(pushes.every((p) => p.prev < p.version), `${variant}: every push links below its own version`)
    t.deepEqual(refused, [], `${variant}: B refused nothing from honest A`)
    t.ok(sameState([a, b]), `${variant}: they converge`)
  }
  t.end()
})

test('a value frozen only at its top, written into a stream, is frozen through: it cannot change behind its version', async (t) => {
  const b = node('B', { now: () => 0 })
  const inner = { n: 1 }
  const s = b.createStream()
  s.write({ key: 'x', value: Object.freeze({ inner }), source_id: 'Z', version: 5 })
  await quiet()
  t.deepEqual(b.get('x').value, { inner: { n: 1 } }, 'applied')
  t.ok(Object.isFrozen(inner), 'the nested object is frozen where it is')
  t.throws(() => {
    'use strict'
    inner.n = 2
  }, TypeError, 'so the writer cannot change it later')
  t.end()
})

test('a state object given at construction: its values are checked as JSON and frozen where they are', async (t) => {
  const inner = { n: 1 }
  const g = node('S', {}, { x: { value: { inner }, version: 3 } })
  t.deepEqual(g.get('x'), { version: 3, value: { inner: { n: 1 } } }, 'taken')
  t.ok(Object.isFrozen(inner), 'frozen through')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.throws(() => node('T', {}, { y: { value: cyclic, version: 1 } }), /state\["y"\]\.value/, 'a value that is no JSON is a TypeError naming the key')
  t.end()
})
