/**
 * A push the peer does not take (its `resolve` threw once) on a sound link
 * still arrives, whichever side starts the exchanges: the refuser asks for
 * it again (a resync from its clock) with an exchange of its own.
 */
import test from 'tape'
import { Gossip, base, type GossipConfig, type Rec, type ResolveHost } from '../../lib/index.ts'

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}
let clock = 1_000
const cfg = (extra: Partial<GossipConfig> = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, now: () => clock, ...extra })

/** A resolve that throws the first time it sees `key`, then decides as last-write-wins. */
function throwsOnce(key: string): GossipConfig['resolve'] & { threw: number } {
  const f = ((g: Gossip, u: Rec) => {
    if (u.key === key && f.threw === 0) {
      f.threw++
      throw new Error('not now')
    }
    return base.resolution.lww_vs_current_vers(g, u)
  }) as GossipConfig['resolve'] & { threw: number }
  f.threw = 0
  return f
}

/** x and y joined as object streams or wire streams. */
function join(x: Gossip, y: Gossip, wire: boolean) {
  const sx = wire ? x.createWireStream({ peer: { id: y.id } }) : x.createStream({ peer: { id: y.id } })
  const sy = wire ? y.createWireStream({ peer: { id: x.id } }) : y.createStream({ peer: { id: x.id } })
  sx.pipe(sy).pipe(sx)
  return { sx, sy }
}

for (const wire of [false, true]) {
  const kind = wire ? 'wire streams' : 'object streams'
  for (const starter of ['writer', 'refuser'] as const) {
    test(`${kind}: a push the reader's resolve refused once arrives, only the ${starter} starting exchanges`, async (t) => {
      const resolve = throwsOnce('x')
      const writer = new Gossip('w', cfg())
      const reader = new Gossip('r', cfg({ resolve }))
      const { sx, sy } = join(writer, reader, wire)
      const start = () => (starter === 'writer' ? sx : sy).gossip()
      writer.set('first', 1)
      start()
      await turns(20)
      t.equal(reader.get('first').value, 1, 'the first exchange done: later writes are pushed')
      clock++
      writer.set('x', 'pushed')
      clock++
      writer.set('y', 'after')
      await turns(20)
      t.equal(resolve.threw, 1, 'the push of x was refused')
      t.equal(reader.get('x').version, -Infinity, 'so the reader lacks x')
      for (let i = 0; i < 3; i++) {
        start()
        await turns(20)
      }
      t.equal(reader.get('x').value, 'pushed', 'x arrived')
      t.equal(reader.get('y').value, 'after', 'y too')
      t.equal(reader.clock.get('w'), writer.clock.get('w'), 'the reader\'s clock of the writer caught up')
      writer.destroy()
      reader.destroy()
    })
  }
}

test('two nodes that refuse each other\'s records for good do not set each other off: one gossip() stays one exchange or so', async (t) => {
  for (const wire of [false, true]) {
    const refuse = (id: string): GossipConfig['resolve'] => (g, u) => {
      if (u.source_id === id) throw new Error('never')
      return base.resolution.lww_vs_current_vers(g, u)
    }
    const a = new Gossip('a', cfg({ resolve: refuse('b') }))
    const b = new Gossip('b', cfg({ resolve: refuse('a') }))
    for (let i = 0; i < 3; i++) a.set('a' + i, i), b.set('b' + i, i)
    const { sx, sy } = join(a, b, wire)
    sx.gossip()
    await turns(200)
    const digests = sx.stats.digestsSent + sy.stats.digestsSent
    t.ok(digests <= 8, `${wire ? 'wire' : 'object'} streams: ${digests} digests in 200 turns of the event loop after one gossip() (a loop sends thousands)`)
    for (let round = 0; round < 10; round++) {
      clock += 1000
      sx.gossip()
      await turns(20)
    }
    const sent = sx.stats.updatesSent + sy.stats.updatesSent
    t.ok(sent <= 30, `ten more rounds: ${sent} updates in all, the refused records are not offered every round`)
    a.destroy()
    b.destroy()
  }
})

/** A resolve that throws on the first `n` offers of `key`. */
function throwsFor(key: string, n: number): (g: ResolveHost, u: Rec) => boolean {
  let left = n
  return (g, u) => {
    if (u.key === key && left > 0) {
      left--
      throw new Error('not yet')
    }
    return base.resolution.lww_vs_current_vers(g, u)
  }
}

for (const wire of [false, true])
  test(`${wire ? 'wire' : 'object'} streams: a record refused several times, and a later one refused once, each arrive within seconds (refetches back off from 1 s), while the writer keeps writing`, async (t) => {
    const writer = new Gossip('w', cfg())
    let resolve = throwsFor('x', 3)
    const reader = new Gossip('r', cfg({ resolve: (g, u) => resolve(g, u) }))
    const { sx } = join(writer, reader, wire)
    const round = async () => {
      clock += 1000
      writer.set('busy', clock)
      sx.gossip()
      await turns(20)
    }
    await round()
    writer.set('x', 'refused three times')
    let rounds = 0
    while (reader.get('x').value === null && rounds < 30) await round(), rounds++
    t.equal(reader.get('x').value, 'refused three times', `x arrived after ${rounds} rounds of 1 s (refetches at 0, 1 and 3 s)`)
    t.ok(rounds <= 8, 'within 8 rounds')
    for (let i = 0; i < 10; i++) await round()
    resolve = throwsFor('z', 1)
    writer.set('z', 'refused once, later')
    rounds = 0
    while (reader.get('z').value === null && rounds < 30) await round(), rounds++
    t.ok(rounds <= 3, `a refusal ten seconds later of another record: it arrived after ${rounds} rounds`)
    await round()
    t.equal(reader.clock.get('w'), writer.clock.get('w'), 'and the reader\'s clock of the writer caught up')
    writer.destroy()
    reader.destroy()
  })

for (const wire of [false, true])
  test(`${wire ? 'wire' : 'object'} streams: a push this node's accept refuses is passed over: its clock of the writer still follows the writer's`, async (t) => {
    const writer = new Gossip('w', cfg())
    const reader = new Gossip('r', cfg({ accept: (rec) => rec.key !== 'secret' }))
    const { sx } = join(writer, reader, wire)
    writer.set('first', 1)
    sx.gossip()
    await turns(20)
    clock += 1000
    writer.set('secret', 'refused for good')
    clock += 1000
    writer.set('after', 'taken')
    await turns(20)
    for (let i = 0; i < 3; i++) {
      clock += 1000
      sx.gossip()
      await turns(20)
    }
    t.equal(reader.get('secret').version, -Infinity, 'the refused record is not held')
    t.equal(reader.get('after').value, 'taken', 'the one after it is')
    t.equal(reader.clock.get('w'), writer.clock.get('w'), 'and the reader\'s clock of the writer is the writer\'s own')
    writer.destroy()
    reader.destroy()
  })
