/**
 * JSON nested far deeper than any message, on the JSON paths of a link
 * that may speak wire 2: the hello (whose fields reach reasons and logs as
 * JSON) and messages a frame carries as JSON text. Each is refused with a
 * reason; the node neither crashes nor stops serving its other peers.
 */
import test from 'tape'
import { Buffer } from 'node:buffer'
import { Network, listen } from '../../lib/net.ts'
import { HostileClient } from '../support/hostile-client.ts'
import { node, waitFor } from '../support/streams.ts'
import { frame, msgpackStr } from '../support/frames.ts'

const DEEP = 100_000
const deep = (inner: string) => '['.repeat(DEEP) + inner + ']'.repeat(DEEP)

async function victim() {
  const v = node('v')
  v.set('x', 1)
  const net = new Network(v, { wire: 2, interval: 50, helloTimeout: 2000 })
  const refused: string[] = []
  const invalid: string[] = []
  net.on('refused', (_addr: string, reason: string) => refused.push(reason))
  v.on('invalid', (reason: string) => invalid.push(reason))
  const { port } = await listen(net, { port: 0, host: '127.0.0.1' })
  return { v, net, port, refused, invalid }
}

test('a hello with a field nested 100,000 deep is refused; the process lives on', async (t) => {
  const w = await victim()
  const crashes: unknown[] = []
  const onCrash = (err: unknown) => crashes.push(err)
  process.on('uncaughtException', onCrash)
  try {
    const clients: HostileClient[] = []
    for (const field of ['cluster', 'id', 'time', 'wire']) {
      const h = await HostileClient.open({ port: w.port, hello: false })
      clients.push(h)
      await h.send([`{"hello":1,"id":"evil","cluster":"simple-scuttle",${JSON.stringify(field)}:${deep('')}}`])
    }
    const all = await waitFor(() => w.refused.length >= 4, 10_000, 'four refusals').then(() => true, () => false)
    for (const h of clients) h.close()
    t.ok(all, `each hello refused (${w.refused.length} of 4)`)
    t.deepEqual(crashes, [], 'nothing thrown out of the socket callbacks')
    t.ok(w.refused.every((r) => r === 'expected a hello object'), `each refused as no hello (${[...new Set(w.refused)].join('; ')})`)
    const good = await HostileClient.open({ port: w.port, wire: 2, time: 0 })
    t.ok(!good.socket.destroyed, 'the node still takes connections')
    good.close()
  } finally {
    process.off('uncaughtException', onCrash)
    await w.net.close()
    w.v.destroy()
  }
  t.end()
})

test('a wire 2 peer\'s message as JSON text nested 100,000 deep is refused and counted; the next one is taken', async (t) => {
  const w = await victim()
  try {
    const h = await HostileClient.open({ port: w.port, wire: 2, id: 'm', time: 0 })
    const good = { key: 'good', value: 1, source_id: 'm', version: 1000, prev: 0 }
    const bad = `{"key":"bad","value":${deep('1')},"source_id":"m","version":999}`
    await h.sendBytes(frame(Buffer.concat([msgpackStr(bad), msgpackStr(JSON.stringify(good))])))
    await waitFor(() => w.invalid.length >= 1 && w.v.get('good').value === 1, 10_000, 'the refusal and the good message')
    t.equal(w.invalid.length, 1, 'one refusal')
    t.match(w.invalid[0], /nested deeper than 100 levels/, `with its reason (${w.invalid[0]})`)
    t.equal(w.v.get('bad').value, null, 'nothing of it applied')
    h.close()
  } finally {
    await w.net.close()
    w.v.destroy()
  }
  t.end()
})
