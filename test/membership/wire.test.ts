/**
 * Membership and the wire format: links that carry cluster membership
 * speak ndjson (wire 1), whatever the network offers, since membership
 * lines share the byte stream with the replica's. A network of `wire: 2`
 * that joins a cluster says so, once per process, with a warning that
 * names the option; its links work, on wire 1.
 */
import test from 'tape'
import { Network, join } from '../../lib/net.ts'
import { memberNet, untilAllAlive } from './support/nets.ts'
import { node } from '../support/streams.ts'

test('join() on a network of wire 2: one clear warning per process; the members link and replicate over wire 1', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  try {
    const a = await memberNet('a', { network: { wire: 2 } })
    const b = await memberNet('b', { seeds: [a.addr], network: { wire: 2 } })
    await untilAllAlive([a, b], false, 20_000, 'a and b hold each other alive')
    a.gossip.set('k', 1)
    await new Promise<void>((done) => {
      const check = () => (b.gossip.get('k').value === 1 ? done() : setTimeout(check, 5))
      check()
    })
    const wires = [...a.net.peers, ...b.net.peers].map((p) => (p as unknown as { stream: { wire: number } }).stream.wire)
    t.ok(wires.length >= 2 && wires.every((w) => w === 1), `the membership links speak wire 1 (${wires.join(', ')})`)
    // A third network of wire 2 joining in the same process: no second warning.
    const c = new Network(node('c'), { wire: 2 })
    const m = join(c, { advertise: '127.0.0.1:1', seeds: [], opener: () => ({ ready: new Promise(() => {}), cancel: () => {} }) })
    m.stop()
    await c.close()
    await new Promise((done) => setImmediate(done))
    const about = warnings.filter((w) => /wire/.test(w))
    t.equal(about.length, 1, `one warning for the two networks of wire 2 that joined (${warnings.length} warnings in all)`)
    t.match(about[0] ?? '', /join\(\).*wire: 2.*membership.*ndjson \(wire 1\)/, `it names the option and what the links speak: ${about[0]}`)
    await Promise.all([a.net.close(), b.net.close()])
  } finally {
    process.off('warning', onWarning)
  }
  t.end()
})
