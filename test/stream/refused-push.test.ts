/**
 * A push the peer does not take (its `resolve` threw once, or the object
 * never reached it) on a sound link still arrives, whichever side starts
 * the exchanges: the writer sends it again once the peer's reply shows it
 * missing, and the refuser asks for it again with an exchange of its own.
 */
import test from 'tape'
import { Transform } from 'readable-stream'
import { Gossip, base, type GossipConfig, type Rec } from '../../lib/index.ts'

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

/** x and y joined as object streams or wire streams, each hop dropping the objects `drop` picks. */
function join(x: Gossip, y: Gossip, wire: boolean, drop: (o: unknown) => boolean = () => false) {
  const sx = wire ? x.createWireStream({ peer: { id: y.id } }) : x.createStream({ peer: { id: y.id } })
  const sy = wire ? y.createWireStream({ peer: { id: x.id } }) : y.createStream({ peer: { id: x.id } })
  const hop = () =>
    new Transform({
      objectMode: !wire,
      transform(o, _e, cb) {
        if (!wire && drop(o)) return cb()
        cb(null, o)
      },
    })
  sx.pipe(hop()).pipe(sy).pipe(hop()).pipe(sx)
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

test('object streams: a push lost on a sound link (a bug, a broken hop) is sent again once the reply shows it missing', async (t) => {
  const writer = new Gossip('w', cfg())
  const reader = new Gossip('r', cfg())
  let dropped = 0
  const { sx } = join(writer, reader, false, (o) => (o as { key?: string }).key === 'x' && dropped++ === 0)
  writer.set('first', 1)
  sx.gossip()
  await turns(20)
  clock++
  writer.set('x', 'pushed')
  await turns(20)
  t.equal(dropped, 1, 'the push of x was lost')
  t.equal(reader.get('x').version, -Infinity, 'the reader lacks x')
  sx.gossip()
  await turns(20)
  t.equal(reader.get('x').value, 'pushed', 'one exchange later, x arrived')
  t.equal(reader.clock.get('w'), writer.clock.get('w'), 'and the reader\'s clock caught up')
  writer.destroy()
  reader.destroy()
})
