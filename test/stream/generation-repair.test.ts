/**
 * After a node lost its data (a known id shows up with a new generation),
 * records our clock covers but we do not hold come back at the next
 * exchange (a resync from version 0), also while their source keeps
 * writing. The resync costs every record, so a new generation counts at
 * most once a minute (GENERATION_QUIET_MS): a peer inventing generations
 * of known ids (plain clusters; signed ones refuse its records) makes a
 * node resend its state at most that often.
 */
import test from 'tape'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'
import { GENERATION_QUIET_MS } from '../../lib/core/clock.ts'

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

for (const busy of [false, true])
test(`a record covered but not held comes back at the next exchange after a new generation${busy ? ', its source writing every round' : ''}`, async (t) => {
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
  now += 1000
  if (busy) p.set('busy', now)
  sy.gossip()
  await turns()
  t.equal(y.get('r').value, 'the record', 'one exchange after the new generation, r is back')
  p.destroy()
  y.destroy()
})

test('generations invented by a peer make a node resend its state at most once a minute', async (t) => {
  const p = new Gossip('p', cfg())
  const y = new Gossip('y', cfg())
  const { sy, sp } = join(y, p)
  for (let i = 0; i < 500; i++) p.set('k' + i, i)
  sy.gossip()
  await turns()
  t.equal(y.records().length, 500, 'y holds p\'s 500 records')
  y.write(foreign('z', 'g1', now))
  now += 1000
  now += GENERATION_QUIET_MS
  const sentBefore = sp.stats.updatesSent
  for (let g = 2; g < 6; g++) {
    y.write(foreign('z', 'g' + g, now))
    now += 10_000
    for (let i = 0; i < 2; i++) {
      sy.gossip()
      await turns()
    }
  }
  const sent = sp.stats.updatesSent - sentBefore
  t.ok(sent >= 500 && sent <= 520, `four invented generations within a minute: p sent y ${sent} records, one resend of its 500`)
  p.destroy()
  y.destroy()
})
