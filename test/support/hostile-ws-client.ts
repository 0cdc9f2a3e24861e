/**
 * A hostile peer over a real loopback WebSocket (the `ws` package's
 * client): the WebSocket twin of hostile-client.ts. It upgrades (offering
 * the subprotocol and a token, or not, from any Origin), says hello (or
 * not), writes whatever lines a test gives it as text frames with
 * backpressure, and reads what the node sends (or, with `read: false`,
 * never reads: its socket is paused, so the node's frames pile up).
 */
import { WebSocket } from 'ws'
import { offeredProtocols } from '../../lib/transport/websocket-client.ts'

export interface HostileWsOptions {
  url: string
  /** Offer this token (default none). */
  token?: string
  /** Offer these subprotocols instead of the client's usual ones. */
  protocols?: string[]
  /** Origin header (default none, as a non-browser client). */
  origin?: string
  /** Send a hello first (default true), claiming this id. */
  hello?: boolean
  id?: string
  cluster?: string
  /** Wall clock claimed in the hello, ms. Default Date.now(). */
  time?: number
  /** Read what the node sends (default true). */
  read?: boolean
  /** Ca for wss:// */
  ca?: Buffer
}

export class HostileWsClient {
  readonly received: string[] = []
  bytesIn = 0
  private buffer = ''
  closedReason: string | null = null
  readonly closed: Promise<string>

  private constructor(readonly ws: WebSocket, read: boolean) {
    this.closed = new Promise((done) => {
      ws.on('close', (code) => {
        this.closedReason ??= `closed (${code})`
        done(this.closedReason)
      })
    })
    ws.on('error', (err) => (this.closedReason = err.message))
    if (!read) {
      ws.pause()
      return
    }
    ws.on('message', (d: Buffer) => {
      this.bytesIn += d.length
      if (this.received.length > 10_000) return
      this.buffer += d.toString('utf8')
      const parts = this.buffer.split('\n')
      this.buffer = parts.pop() ?? ''
      for (const p of parts) if (p !== '') this.received.push(p)
    })
  }

  /** Resolves once the upgrade is accepted; rejects with the HTTP status when it is refused. */
  static open(opts: HostileWsOptions): Promise<HostileWsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(opts.url, opts.protocols ?? offeredProtocols(opts.token), { origin: opts.origin, ca: opts.ca })
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`HTTP ${res.statusCode}`))
        ws.terminate()
      })
      ws.once('error', reject)
      ws.once('open', () => {
        const c = new HostileWsClient(ws, opts.read !== false)
        if (opts.hello !== false) {
          ws.send(JSON.stringify({ hello: 1, id: opts.id ?? 'evil', cluster: opts.cluster ?? 'simple-scuttle', time: opts.time ?? Date.now() }) + '\n')
        }
        resolve(c)
      })
    })
  }

  /** Send lines (each with its `\n`) in frames of up to 64 KiB, waiting for each frame to go out. */
  async send(lines: Iterable<string>): Promise<void> {
    let chunk = ''
    for (const l of lines) {
      chunk += l + '\n'
      if (chunk.length >= 64 * 1024) {
        if (!(await this.frame(chunk))) return
        chunk = ''
      }
    }
    if (chunk !== '') await this.frame(chunk)
  }

  /** One text frame as it is (lines or not). */
  frame(text: string): Promise<boolean> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve(false)
    return new Promise((done) => this.ws.send(text, (err) => done(err === undefined || err === null)))
  }

  close(): void {
    this.ws.terminate()
  }
}
