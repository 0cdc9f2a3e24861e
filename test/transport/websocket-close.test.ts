/**
 * Closing a WebSocket link does not wait without bound for the peer's
 * closing handshake: the dialler (the standard WebSocket client code, on
 * the `ws` class) cuts a socket whose peer never answers its close frame
 * after a grace of one second, measured on the network's timers.
 */
import test from 'tape'
import { createHash } from 'node:crypto'
import * as net from 'node:net'
import { WebSocket } from 'ws'
import { Gossip, base } from 'simple-scuttle'
import { Network, connectWebSocket } from 'simple-scuttle/net'
import { FakeTimers } from '../support/fake-timers.ts'
import { turn, waitFor } from '../support/streams.ts'

const cfg = () => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100 })
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** One unmasked text frame, server to client. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8')
  const head = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff])
  return Buffer.concat([head, payload])
}

/**
 * A WebSocket listener by hand, on loopback: it takes the upgrade, says
 * hello as `id`, then reads nothing and answers nothing, a close frame
 * included. `closed` counts the sockets that ended.
 */
async function deafListener(id: string): Promise<{ url: string; sockets: net.Socket[]; closed: () => number; close(): void }> {
  const sockets: net.Socket[] = []
  let closed = 0
  const server = net.createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.on('close', () => closed++)
    let head = ''
    const onData = (d: Buffer) => {
      head += d.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      socket.off('data', onData)
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(head)?.[1] ?? ''
      const accept = createHash('sha1').update(key + GUID).digest('base64')
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: simple-scuttle\r\n\r\n`)
      socket.write(textFrame(JSON.stringify({ hello: 1, id, cluster: 'simple-scuttle', time: Date.now() }) + '\n{"digest":true,"done":true}\n'))
      socket.on('data', () => {}) // read, and answer nothing
    }
    socket.on('data', onData)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return {
    url: `ws://127.0.0.1:${port}/`,
    sockets,
    closed: () => closed,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

test('the dialler cuts a socket whose peer never answers the close frame, after a grace of 1 s on the network\'s timers', async (t) => {
  const timers = new FakeTimers()
  const deaf = await deafListener('deaf')
  const b = new Network(new Gossip('b', cfg()), { timers })
  try {
    const dialer = connectWebSocket(b, { url: deaf.url, WebSocket })
    await waitFor(() => dialer.connected, 10_000, 'the hello')
    dialer.stop()
    for (let i = 0; i < 20; i++) await turn()
    t.equal(deaf.closed(), 0, 'the socket waits for the closing handshake at first')
    timers.advance(999)
    for (let i = 0; i < 20; i++) await turn()
    t.equal(deaf.closed(), 0, 'for up to a second')
    timers.advance(1)
    await waitFor(() => deaf.closed() === 1, 5000, 'the socket cut')
    t.pass('then it is cut: the peer keeps no socket')
  } finally {
    await b.close()
    deaf.close()
  }
  t.end()
})
