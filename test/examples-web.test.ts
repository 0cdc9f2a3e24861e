/** The cluster demo's page server (examples/web/server.ts) answers requests it cannot parse, and serves on. */
import test from 'tape'
import * as net from 'node:net'
import { startWebServer, type WebStatus } from '../examples/web/server.ts'

const uncaught: string[] = []
process.on('uncaughtException', (err) => uncaught.push(err.message))

const status = (): WebStatus => ({ phase: 'waiting', writes: 0, converged: false, nodes: [], events: [] })

/** One raw request line; the answer once the server closes the socket (or what came within `boundMs`). */
function rawRequest(port: number, target: string, boundMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let answer = ''
    const bound = setTimeout(() => {
      socket.destroy()
      resolve(answer)
    }, boundMs)
    socket.on('data', (d) => (answer += d.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(bound)
      resolve(answer)
    })
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
  })
}

test('the page server answers 400 to a request target it cannot parse, and serves on', async (t) => {
  const page = await startWebServer(0, status)
  try {
    const port = Number(new URL(page.url).port)
    for (const target of ['//[', 'http://[']) {
      const answer = await rawRequest(port, target)
      t.match(answer, /^HTTP\/1\.1 400 /, `${target}: answered 400`)
    }
    t.deepEqual(uncaught, [], 'nothing was thrown out of the handler')
    const res = await fetch(new URL('/status', page.url))
    t.equal(res.status, 200, 'and /status is still served')
    await res.body?.cancel()
  } finally {
    page.close()
  }
  t.end()
})
