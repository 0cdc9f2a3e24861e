/**
 * A hostile peer over real loopback sockets: it dials a node (plain TCP, or
 * TLS-PSK with the cluster secret, as a member would), says hello (or
 * not), and then writes whatever lines a test gives it, with backpressure.
 * It reads what the node sends (or, when `read` is false, never reads).
 */
import * as net from 'node:net'
import * as tls from 'node:tls'
import { secureSetup, type TlsOptions } from '../../lib/transport/tls.ts'

export interface HostileOptions {
  port: number
  tls?: TlsOptions
  /** Send a hello first (default true), claiming this id. */
  hello?: boolean
  id?: string
  cluster?: string
  /** Wall clock claimed in the hello, ms. Default Date.now(). */
  time?: number
  /** Read what the node sends (default true). */
  read?: boolean
  /** The wire format claimed in the hello (absent: an older node's hello, ndjson). */
  wire?: number
  /** More hello fields (`{members: 1}` takes part in cluster membership). */
  extraHello?: Record<string, unknown>
}

export class HostileClient {
  readonly received: string[] = []
  bytesIn = 0
  private buffer = ''
  closedReason: string | null = null
  readonly closed: Promise<string>

  private constructor(readonly socket: net.Socket, read: boolean) {
    this.closed = new Promise((done) => {
      socket.on('close', () => {
        this.closedReason ??= 'closed'
        done(this.closedReason)
      })
    })
    socket.on('error', (err) => (this.closedReason = err.message))
    if (!read) {
      socket.pause()
      return
    }
    socket.on('data', (d: Buffer) => {
      this.bytesIn += d.length
      if (this.received.length > 10_000) return
      this.buffer += d.toString('utf8')
      const parts = this.buffer.split('\n')
      this.buffer = parts.pop() ?? ''
      for (const p of parts) if (p !== '') this.received.push(p)
    })
  }

  static open(opts: HostileOptions): Promise<HostileClient> {
    return new Promise((resolve, reject) => {
      const onReady = (socket: net.Socket) => {
        const c = new HostileClient(socket, opts.read !== false)
        if (opts.hello !== false) {
          const hello: Record<string, unknown> = { hello: 1, id: opts.id ?? 'evil', cluster: opts.cluster ?? 'simple-scuttle', time: opts.time ?? Date.now(), ...opts.extraHello }
          if (opts.wire !== undefined) hello.wire = opts.wire
          socket.write(JSON.stringify(hello) + '\n')
        }
        resolve(c)
      }
      if (opts.tls === undefined) {
        const s = net.connect({ host: '127.0.0.1', port: opts.port }, () => onReady(s))
        s.once('error', reject)
      } else {
        const s = tls.connect({ ...secureSetup(opts.tls).clientOptions, host: '127.0.0.1', port: opts.port }, () => onReady(s))
        s.once('error', reject)
      }
    })
  }

  /** Write lines (each gets its `\n`), waiting for the socket to drain as it goes. */
  async send(lines: Iterable<string>): Promise<void> {
    let chunk = ''
    for (const l of lines) {
      chunk += l + '\n'
      if (chunk.length >= 64 * 1024) {
        if (!(await this.write(chunk))) return
        chunk = ''
      }
    }
    if (chunk !== '') await this.write(chunk)
  }

  /** Write raw bytes (wire 2 frames, or anything), waiting for the socket to drain. */
  sendBytes(bytes: Buffer): Promise<boolean> {
    return this.write(bytes)
  }

  private write(text: string | Buffer): Promise<boolean> {
    if (this.socket.destroyed) return Promise.resolve(false)
    return new Promise((done) => {
      if (this.socket.write(text)) done(true)
      else {
        const finish = (ok: boolean) => {
          this.socket.off('drain', onDrain)
          this.socket.off('close', onClose)
          done(ok)
        }
        const onDrain = () => finish(true)
        const onClose = () => finish(false)
        this.socket.once('drain', onDrain)
        this.socket.once('close', onClose)
      }
    })
  }

  close(): void {
    this.socket.destroy()
  }
}
