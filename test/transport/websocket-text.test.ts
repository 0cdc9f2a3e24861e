/**
 * Text from a peer is decoded as it was sent: a U+FEFF (a byte order mark)
 * at the start of a value, of a frame, or of a decoded piece is a
 * character like any other, never stripped (TextDecoder strips it unless
 * told `ignoreBOM`).
 */
import test from 'tape'
import { WebSocket } from 'ws'
import { Gossip, base } from 'simple-scuttle'
import { Network, connectWebSocket, listenWebSocket } from 'simple-scuttle/net'
import { standardPort, type StandardWebSocket } from '../../lib/transport/websocket-client.ts'
import { waitFor } from '../support/streams.ts'

/** The `buffer` the browser build uses (a plain .js file, without types). */
const SHIM = '../../scripts/browser-shims/buffer.js'
const { Buffer: ShimBuffer } = (await import(SHIM)) as { Buffer: typeof Buffer }

const cfg = () => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100 })
const BOM = '\ufeff'
const enc = (s: string) => new TextEncoder().encode(s)

test('the standard WebSocket port sends a frame that begins with U+FEFF as it is', (t) => {
  const sent: string[] = []
  const ws = { readyState: 1, bufferedAmount: 0, send: (d: string) => sent.push(d) } as unknown as StandardWebSocket
  const port = standardPort(ws)
  port.sendText(enc(`${BOM}a`))
  port.sendText(enc(`${BOM}${BOM}b\n`))
  t.deepEqual(sent, [`${BOM}a`, `${BOM}${BOM}b\n`], 'every U+FEFF kept')
  t.end()
})

test('the browser build\'s Buffer decodes a leading U+FEFF as a character, as Node\'s does', (t) => {
  const bytes = enc(`${BOM}{"k":1}`)
  t.equal(ShimBuffer.from(bytes).toString('utf8'), `${BOM}{"k":1}`, 'toString() keeps it')
  t.equal(ShimBuffer.from(enc(`x${BOM}y`)).toString('utf8', 1, 4), BOM, 'toString(start, end) keeps it')
  t.equal(Buffer.from(bytes).toString('utf8'), `${BOM}{"k":1}`, 'as Node\'s Buffer does')
  t.end()
})

test('values and keys beginning with U+FEFF cross a WebSocket link both ways unchanged, frames cut inside them', async (t) => {
  const v = new Gossip('v', cfg())
  const b = new Gossip('b', cfg())
  const vnet = new Network(v, { interval: 50 })
  const bnet = new Network(b, { interval: 50 })
  try {
    const { url } = await listenWebSocket(vnet, { port: 0 })
    // Small frames: the dialler cuts its lines at character boundaries, many of them just before a U+FEFF.
    connectWebSocket(bnet, { url, WebSocket, maxFrame: 7 })
    const values = [`${BOM}x`, BOM.repeat(40), `${BOM}${BOM}é${BOM}`]
    values.forEach((val, i) => b.set(`${BOM}b${i}`, val))
    values.forEach((val, i) => v.set(`${BOM}v${i}`, val))
    await waitFor(() => v.keys().length === 6 && b.keys().length === 6, 10_000, 'both hold 6 keys')
    t.deepEqual(values.map((_, i) => v.get(`${BOM}b${i}`).value), values, 'the listener holds the dialler\'s values exactly')
    t.deepEqual(values.map((_, i) => b.get(`${BOM}v${i}`).value), values, 'the dialler holds the listener\'s values exactly')
    t.equal(v.stats.invalid + b.stats.invalid, 0, 'nothing refused')
  } finally {
    await Promise.all([vnet.close(), bnet.close()])
  }
  t.end()
})
