/** The entry point `simple-scuttle/core` (lib/core.ts): what an embedder needs without the stream layer. */
import test from 'tape'
import * as core from '../lib/core.ts'
import { DEFAULT_LIMITS, NodeFlow, Replica, Session, flowSettings, resolution, seededRandom, sort, type DeltaOrder, type JsonValue, type Limits, type PeerLabel, type RandomFn, type Rec, type SessionPort, type Versioned } from '../lib/core.ts'
import { DEFAULT_LIMITS as fromValidate } from '../lib/protocol/validate.ts'
import * as resolve from '../lib/core/resolve.ts'

test('core exports DEFAULT_LIMITS, the built-in resolutions, sort and compareValues', (t) => {
  t.equal(core.DEFAULT_LIMITS, fromValidate)
  t.equal(core.resolution, resolve.resolution)
  t.equal(core.sort, resolve.sort)
  t.equal(core.compareValues, resolve.compareValues)
  t.end()
})

test('a Session over a Replica embeds with core alone: two nodes converge, with flow control', (t) => {
  let now = 0
  const random: RandomFn = seededRandom(3)
  const order: DeltaOrder = 'depth'
  const limits: Limits = DEFAULT_LIMITS
  const mk = (id: string) => new Replica({ id, resolve: resolution.lww_vs_current_vers, sort, maxHistory: 10, time: () => now })
  const ra = mk('a')
  const rb = mk('b')
  const qa: unknown[] = []
  const qb: unknown[] = []
  const port = (q: unknown[]): SessionPort => ({ send: (m) => void q.push(JSON.parse(JSON.stringify(m))), room: () => true, invalid: (r) => t.fail(`invalid: ${r}`), wantExchange: () => {} })
  const fa = new NodeFlow(flowSettings({ desired: 10, initial: 0.2, timer: false }), () => now)
  const fb = new NodeFlow(flowSettings({ desired: 0, initial: 5, timer: false }), () => now)
  const peer: PeerLabel = {}
  const sa = new Session(ra, port(qb), { mtu: 1, order, random, limits, maxDigestEntries: 1000, flow: fa, peer })
  const sb = new Session(rb, port(qa), { mtu: 1, order, random, limits, maxDigestEntries: 1000, flow: fb, peer })
  for (let i = 0; i < 5; i++) {
    ra.writeLocal(`k${i}`, i, false)
    rb.writeLocal(`j${i}`, i as JsonValue, false)
  }
  const pump = () => {
    for (let n = 0; (qa.length > 0 || qb.length > 0) && n < 10_000; n++) {
      while (qa.length > 0) sa.receive(qa.shift(), true)
      while (qb.length > 0) sb.receive(qb.shift(), true)
    }
  }
  for (let round = 0; round < 12; round++) {
    sa.start()
    pump()
    sb.start()
    pump()
    now += 1000
  }
  const got: Versioned = ra.get('j4')
  t.equal(got.value, 4, 'a holds b\'s writes')
  t.equal(rb.get('k4').value, 4, 'b holds a\'s writes')
  const rec: Rec | undefined = rb.record('k4')
  t.equal(rec?.source_id, 'a')
  t.ok(fa.allowed > 0.2, `a's allowed rate grew from b's spare capacity (${fa.allowed})`)
  t.end()
})
