/**
 * Updates a node refuses every time it is offered them (its resolve throws,
 * they fail verification, their versions are too far ahead of its clock):
 * the refetch they trigger happens once, a resync cut at the MTU goes on past
 * them, and the exchange ends. Over direct object streams the whole
 * exchange is synchronous, so a loop here would hang the process: each run
 * is cut off (and fails) after a bounded number of objects instead.
 */
import test from 'tape'
import { Gossip, base, type GossipConfig } from 'simple-scuttle'
import { generateSigningKeys, signer, verifier } from 'simple-scuttle/security'

const keys = generateSigningKeys()
const CUTOFF = 200_000

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

async function run(t: test.Test, name: string, refuserExtra: Partial<GossipConfig>, writerExtra: Partial<GossipConfig>, count: number, starter: 'writer' | 'refuser') {
  const writer = new Gossip('alice', { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 10, ...writerExtra })
  const refuser = new Gossip('bob', { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 10, ...refuserExtra })
  let objects = 0
  let hung = false
  for (const g of [writer, refuser]) {
    g.on('data', () => {
      if (++objects === CUTOFF) {
        hung = true
        writer.unpipe(refuser)
        refuser.unpipe(writer)
      }
    })
  }
  const refusals: string[] = []
  refuser.on('invalid', (reason: string) => refusals.push(reason))
  writer.pipe(refuser).pipe(writer)
  writer.set('first', 0)
  writer.gossip()
  await turns(5)
  for (let i = 0; i < count; i++) writer.set('k' + i, i)
  await turns(5)
  ;(starter === 'writer' ? writer : refuser).gossip()
  await turns(50)
  t.notOk(hung, `${name}, ${count} refused records, ${starter} starts: the exchange ends (${objects} objects)`)
  t.ok(refusals.length >= count && refusals.length <= 3 * (count + 1), `each refused a bounded number of times (${refusals.length} refusals)`)
  if (count > 0) t.equal(refuser.get('k0').version, -Infinity, 'and none taken')
  // The refuser still hears the writer's other news once it can take it.
  return { writer, refuser }
}

test('a resolve that throws on every update of a source: no loop', async (t) => {
  const throwing: GossipConfig['resolve'] = (_g, u) => {
    if (u.source_id === 'alice') throw new Error('refused')
    return true
  }
  for (const starter of ['writer', 'refuser'] as const) for (const n of [9, 30, 200]) await run(t, 'resolve throws', { resolve: throwing }, {}, n, starter)
})

test('updates that fail verification on every offer: no loop', async (t) => {
  for (const starter of ['writer', 'refuser'] as const) await run(t, 'unsigned writer, verifying reader', { verify: verifier({ alice: keys.publicKey }) }, {}, 30, starter)
})

test('versions too far ahead of the reader\'s clock: no loop', async (t) => {
  const skewed = { now: () => Date.now() + 1_000_000 }
  for (const starter of ['writer', 'refuser'] as const) await run(t, 'writer 1,000 s ahead', {}, skewed, 30, starter)
})

test('after refusals, updates the reader can take still flow on the same link', async (t) => {
  let refusing = true
  const { writer, refuser } = await run(t, 'resolve throws, then stops', { resolve: (_g, u) => { if (refusing && u.source_id === 'alice') throw new Error('not now'); return true } }, { sign: signer(keys.privateKey) }, 30, 'writer')
  refusing = false
  writer.set('good', 'yes')
  writer.gossip()
  await turns(50)
  t.equal(refuser.get('good').value, 'yes', 'a later update is taken')
})

test('records refused for a moment are fetched again within seconds after both wall clocks step back (the refetch backoff is not stretched by the step)', async (t) => {
  const HOUR = 3_600_000
  for (const step of [240_000, HOUR]) {
    let wall = 1_700_000_000_000
    let back = 0
    let refusing = true
    const clock = () => wall - back
    const writer = new Gossip('alice', { ...base.config, resolve: base.resolution.lww_vs_current_vers, now: clock })
    const reader = new Gossip('bob', { ...base.config, now: clock, resolve: (g, u) => { if (refusing && u.source_id === 'alice') throw new Error('not now'); return base.resolution.lww_vs_current_vers(g, u) } })
    reader.on('invalid', () => {})
    const a = writer.createStream({ peer: { id: 'bob' } })
    const b = reader.createStream({ peer: { id: 'alice' } })
    a.pipe(b).pipe(a)
    for (let i = 0; i < 5; i++) writer.set('k' + i, i)
    writer.gossip()
    await turns(5)
    t.equal(reader.get('k0').version, -Infinity, 'refused while the reader\'s resolve throws')
    // The reader recovers; both clocks step back (NTP, or one host). Records written before the step are
    // within maxOffset (5 min) of the clocks after a 4-minute step; an hour's step makes them too far ahead.
    refusing = false
    back = step
    let took = Infinity
    for (let s = 1; s <= 3700; s++) {
      wall += 1000
      writer.gossip()
      reader.gossip()
      await turns(3)
      if (reader.get('k4').value === 4) {
        took = s
        break
      }
    }
    if (step === HOUR) {
      // Versions come within maxOffset of the clocks 55 minutes after the step; the next refetch is at most the backoff's minute later.
      t.ok(took > 3300 && took <= 3300 + 61, `an hour's step: taken ${took} s after it, within a minute of the versions coming within maxOffset (at 3,300 s), not an hour later`)
    } else t.ok(took <= 3, `a ${step / 60_000}-minute step: all taken after ${took} s (not ${step / 1000} s)`)
    writer.destroy()
    reader.destroy()
  }
})

test('what resolve and verify return: booleans decide, other values by truthiness (resolve) or refused with a reason (verify), a Promise refused', (t) => {
  const reasons: string[] = []
  const make = (resolve: GossipConfig['resolve'], extra: Partial<GossipConfig> = {}) => {
    const g = new Gossip('v', { ...base.config, resolve, ...extra })
    g.on('invalid', (reason: string) => reasons.push(reason))
    return g
  }
  const up = (key: string) => ({ key, value: 1, source_id: 'w', version: 10 })
  const truthy = make(() => 1 as unknown as boolean)
  truthy.write(up('a'))
  t.equal(truthy.get('a').value, 1, 'resolve returning 1: taken, as the seed\'s truthiness has it')
  const undef = make(() => undefined as unknown as boolean)
  undef.write(up('b'))
  t.equal(undef.get('b').version, -Infinity, 'resolve returning undefined: not taken')
  const asyncResolve = make((async () => true) as unknown as GossipConfig['resolve'])
  asyncResolve.write(up('c'))
  t.equal(asyncResolve.get('c').version, -Infinity, 'an async resolve: not taken')
  t.ok(reasons.some((r) => /config\.resolve returned a Promise/.test(r)), 'and reported as such')
  t.throws(() => asyncResolve.set('d', 1), /config\.resolve returned a Promise/, 'a local set with an async resolve throws the same')
  const oddVerify = make(base.resolution.lww_vs_current_vers, { verify: () => 1 as unknown as boolean })
  oddVerify.write(up('e'))
  t.equal(oddVerify.get('e').version, -Infinity, 'verify returning 1: refused (only true accepts)')
  t.ok(reasons.some((r) => /config\.verify returned 1, not true or false/.test(r)), 'with a reason that says what it returned')
  t.end()
})

test('a listener that throws: reported to listenerError when someone listens, else one process warning per node', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => {
    if (w.name === 'ListenerErrorWarning') warnings.push(w.message)
  }
  process.on('warning', onWarning)
  const quietNode = new Gossip('quiet', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  quietNode.history.on('update', () => {
    throw new Error('persist failed')
  })
  quietNode.set('a', 1)
  quietNode.set('b', 2)
  t.equal(quietNode.get('b').value, 2, 'the writes went on')
  t.equal(quietNode.stats.listenerErrors, 2, 'both counted')
  const heard: string[] = []
  const listened = new Gossip('listened', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  listened.on('listenerError', (err: Error, event: string) => heard.push(`${event}: ${err.message}`))
  listened.history.on('update', () => {
    throw new Error('persist failed')
  })
  listened.set('a', 1)
  await new Promise((r) => setImmediate(r))
  process.off('warning', onWarning)
  t.equal(warnings.length, 1, 'one warning for the node nobody listens to, not one per error')
  t.match(warnings[0] ?? '', /'history.update' listener of node "quiet" threw \(persist failed\)/, 'naming the event, the node and the error')
  t.deepEqual(heard, ['history.update: persist failed'], 'the other node reports to its listenerError listener, naming the history event, and warns nothing')
  t.end()
})
