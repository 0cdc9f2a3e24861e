/**
 * After a node lost its data (a known id shows up with a new generation),
 * records our clock covers but we do not hold come back: each session's
 * next two exchanges carry fingerprints, and a source that differs both
 * times is sent in full. A new generation costs a digest with
 * fingerprints, not every record: a peer inventing generations of known ids
 * cannot make the cluster send its whole state.
 */
import test from 'tape'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'

const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}
let now = 1_000_000
const cfg = (extra: Partial<GossipConfig> = {}): GossipConfig => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, now: () => now, ...extra })

/** y and p joined by object streams; returns y's stream (y starts the exchanges) and p's. */
function join(y: Gossip, p: Gossip) {
  const sy = y.createStream({ peer: { id: p.id } })
  const sp = p.createStream({ peer: { id: y.id } })
  sy.pipe(sp).pipe(sy)
  return { sy, sp }
}

/** A record of `id` in generation `gen`, as its node would write it. */
function foreign(id: string, gen: string, version: number) {
  return { key: `${id}-${gen}`, value: gen, source_id: id, gen, version }
}

test('a record covered but not held comes back within two exchanges of a new generation, not only at the next fingerprint interval', async (t) => {
  let refusing = true
  const p = new Gossip('p', cfg())
  const y = new Gossip('y', cfg({ accept: (rec) => !(refusing && rec.key === 'r') }))
  const { sy } = join(y, p)
  p.set('r', 'the record')
  now += 10
  p.set('s', 'after it')
  sy.gossip()
  await turns()
  t.equal(y.get('s').value, 'after it', 'y took the record after r')
  t.equal(y.get('r').version, -Infinity, 'y turned r down')
  t.equal(y.clock.get('p'), p.clock.get('p'), 'and its clock covers it')
  refusing = false
  for (let i = 0; i < 3; i++) {
    now += 1000
    sy.gossip()
    await turns()
  }
  t.equal(y.get('r').version, -Infinity, 'ordinary exchanges do not bring it: the clock covers it (fingerprints are a minute apart)')
  // Node z lost its data and came back in a new generation.
  y.write(foreign('z', 'g1', now))
  now += 1000
  y.write(foreign('z', 'g2', now))
  for (let i = 0; i < 2; i++) {
    now += 1000
    sy.gossip()
    await turns()
  }
  t.equal(y.get('r').value, 'the record', 'two exchanges after the new generation, r is back')
  p.destroy()
  y.destroy()
})

test('a new generation invented by a peer costs fingerprints, not a resend of every record', async (t) => {
  const p = new Gossip('p', cfg())
  const y = new Gossip('y', cfg())
  const { sy, sp } = join(y, p)
  for (let i = 0; i < 500; i++) p.set('k' + i, i)
  sy.gossip()
  await turns()
  t.equal(y.records().length, 500, 'y holds p\'s 500 records')
  y.write(foreign('z', 'g1', now))
  now += 1000
  const sentBefore = sp.stats.updatesSent
  for (let g = 2; g < 6; g++) {
    y.write(foreign('z', 'g' + g, now))
    now += 20_000
    for (let i = 0; i < 2; i++) {
      sy.gossip()
      await turns()
    }
  }
  t.ok(sp.stats.updatesSent - sentBefore <= 20, `four invented generations: p sent y ${sp.stats.updatesSent - sentBefore} records (a full resend is 500 each)`)
  p.destroy()
  y.destroy()
})
