/**
 * The dialling side of WebSocket links against a hostile listener, and
 * dial options it cannot use: a frame over the bound the listener also
 * uses (derived from `maxLineLength`) closes the link (1009) before it is
 * read whole.
 */
import test from 'tape'
import { WebSocket, WebSocketServer } from 'ws'
import { Gossip, base } from 'simple-scuttle'
import { Network, connectWebSocket } from 'simple-scuttle/net'
import { waitFor } from '../support/streams.ts'

const cfg = () => ({ ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100 })

/** A listener that says hello as `id`, then sends one text frame of `size` bytes (no newline); it takes frames of any size itself. */
async function bigFrameListener(id: string, size: number): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1 << 30, handleProtocols: () => 'simple-scuttle' })
  await new Promise<void>((r) => wss.once('listening', () => r()))
  wss.on('connection', (ws) => {
    ws.on('error', () => {})
    ws.send(JSON.stringify({ hello: 1, id, cluster: 'simple-scuttle', time: Date.now() }) + '\n{"digest":true,"done":true}\n')
    ws.send('x'.repeat(size))
  })
  const port = (wss.address() as { port: number }).port
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate()
        wss.close(() => r())
      }),
  }
}

for (const [maxLineLength, label] of [[undefined, 'the default maxLineLength (1 MiB)'], [64 * 1024, 'maxLineLength 64 KiB']] as const) {
  test(`the dialler refuses a frame over the listener's bound (${label}): the link closes (1009) before it is read`, async (t) => {
    const bound = Math.max(maxLineLength ?? 1024 * 1024, 256 * 1024) + 64 * 1024
    const hostile = await bigFrameListener('big', bound + 1)
    const b = new Network(new Gossip('b', cfg()), { interval: 50, backoff: { initial: 1000, max: 1000 }, ...(maxLineLength === undefined ? {} : { maxLineLength }) })
    const reasons: string[] = []
    b.on('disconnect', (_p, reason) => reasons.push(reason))
    try {
      connectWebSocket(b, { url: hostile.url, WebSocket })
      await waitFor(() => reasons.length > 0, 10_000, 'the link closed')
      t.match(reasons[0]!, /1009|max payload/i, `closed for a frame too large (${reasons[0]})`)
    } finally {
      await Promise.all([b.close(), hostile.close()])
    }
    t.end()
  })
}

test('a class that takes no options (a browser\'s) is given maxPayload all the same, and a frame over it ends the link', async (t) => {
  let made: FakeBrowserSocket | null = null
  /** A browser's WebSocket as far as the dialler sees it: it reads any frame whole, and has no terminate. */
  class FakeBrowserSocket {
    readyState = 0
    bufferedAmount = 0
    binaryType = 'blob'
    onopen: ((ev: unknown) => void) | null = null
    onmessage: ((ev: { data: unknown }) => void) | null = null
    onclose: ((ev: { code: number; reason: string; wasClean: boolean }) => void) | null = null
    onerror: ((ev: { type: string; message?: string }) => void) | null = null
    readonly options: unknown
    constructor(_url: string, _protocols?: string | string[], options?: unknown) {
      this.options = options
      made = this
    }
    send(): void {}
    close(code = 1000, reason = ''): void {
      this.readyState = 3
      this.onclose?.({ code, reason, wasClean: true })
    }
  }
  const b = new Network(new Gossip('b', cfg()), { interval: 50, backoff: { initial: 1000, max: 1000 }, maxLineLength: 64 * 1024 })
  try {
    const dialer = connectWebSocket(b, { url: 'ws://127.0.0.1:1/', WebSocket: FakeBrowserSocket })
    const ws = made as unknown as FakeBrowserSocket
    t.deepEqual(ws.options, { maxPayload: 320 * 1024 }, 'the class is offered maxPayload, from maxLineLength')
    ws.readyState = 1
    ws.onopen?.({})
    ws.onmessage?.({ data: JSON.stringify({ hello: 1, id: 'x', cluster: 'simple-scuttle', time: Date.now() }) + '\n' })
    await waitFor(() => dialer.connected, 5000, 'the hello')
    const closed = new Promise<string>((r) => b.once('disconnect', (_p, reason) => r(reason)))
    ws.onmessage?.({ data: 'x'.repeat(320 * 1024 + 1) })
    t.match(await closed, /1009.*maxPayload/, 'a frame over it ends the link')
  } finally {
    await b.close()
  }
  t.end()
})

test('a url that cannot be dialled is an error at the call, naming it', async (t) => {
  const b = new Network(new Gossip('b', cfg()), { interval: 50, backoff: { initial: 10, max: 20 } })
  const cases: [string, RegExp][] = [
    ['ws://', /cannot be parsed as a URL/],
    ['ws://[', /cannot be parsed as a URL/],
    ['ws://a b/', /cannot be parsed as a URL/],
    ['ws://127.0.0.1:99999/', /cannot be parsed as a URL/],
    ['ws://127.0.0.1:0/', /port must be from 1 to 65535/],
    ['ftp://x/', /must be a ws:\/\/ or wss:\/\/ URL/],
    ['x', /must be a ws:\/\/ or wss:\/\/ URL/],
    ['ws://127.0.0.1:7101/#frag', /fragment/],
  ]
  for (const [url, why] of cases) {
    try {
      connectWebSocket(b, { url, WebSocket })
      t.fail(`${url}: accepted`)
    } catch (err) {
      const e = err as Error
      t.ok((e instanceof TypeError || e instanceof RangeError) && why.test(e.message) && e.message.includes(JSON.stringify(url)), `${url}: ${e.name}: ${e.message}`)
    }
  }
  await b.close()
  t.end()
})

test('http:// and https:// urls are dialled as ws:// and wss://, whatever the class takes', async (t) => {
  const urls: string[] = []
  class Recording {
    readyState = 0
    bufferedAmount = 0
    binaryType = 'blob'
    onopen = null
    onmessage = null
    onclose = null
    onerror = null
    constructor(url: string) {
      if (!/^wss?:/.test(url)) throw new SyntaxError(`unsupported scheme in ${url}`)
      urls.push(url)
    }
    send(): void {}
    close(): void {}
  }
  const b = new Network(new Gossip('b', cfg()), { interval: 50, backoff: { initial: 1000, max: 1000 } })
  try {
    connectWebSocket(b, { url: 'http://127.0.0.1:7101/gossip', WebSocket: Recording })
    connectWebSocket(b, { url: 'HTTPS://example.org/g?x=1', WebSocket: Recording })
    t.deepEqual(urls, ['ws://127.0.0.1:7101/gossip', 'wss://example.org/g?x=1'], 'the class is given ws:// and wss://')
  } finally {
    await b.close()
  }
  t.end()
})
