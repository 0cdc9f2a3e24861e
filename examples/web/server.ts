/**
 * The live page of the cluster demo (`npm start -- --web`): a small HTTP
 * server for examples/web/index.html and app.js, the browser bundle (built
 * from this repository's lib/ at start: run it from the repository), and
 * `/status`, a JSON picture of the
 * cluster that the demo keeps up to date (see `WebStatus`).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..', '..')

/** The browser bundle, built from this repository's lib/ (`npm run build:browser`, a second or so). */
function bundle(): string {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-browser.ts'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  return readFileSync(join(root, 'dist', 'browser', 'simple-scuttle.js'), 'utf8')
}

/** One CLI node as the page draws it. */
export interface WebNode {
  id: string
  /** ws://... of its WebSocket listener, for tabs. */
  ws: string | null
  up: boolean
  keys: number
  records: number
  hash: string
  bytesOut: number
  /** Connected peers (CLI nodes and tabs): bytes each way, and both ways per second lately. */
  peers: { id: string; bytesIn: number; bytesOut: number; rate: number }[]
  /** Board keys (`board/...`) it holds. */
  board: string[]
  /** When it was polled (performance.now()). */
  at?: number
}

export interface WebStatus {
  /** waiting (for a page), connecting, writing, settling, settled, timed out */
  phase: string
  writes: number
  converged: boolean
  nodes: WebNode[]
  /** What happened, oldest first: [seconds since start, text]. */
  events: [number, string][]
}

const FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
}

/** Serve the page; `status()` is read on every poll. Resolves once listening; `firstPage` resolves at the first poll of a page. */
export async function startWebServer(port: number, status: () => WebStatus): Promise<{ url: string; firstPage: Promise<void>; close(): void }> {
  const code = bundle()
  let seen: () => void = () => {}
  const firstPage = new Promise<void>((r) => (seen = r))
  const server = http.createServer((req, res) => {
    let path: string
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname
    } catch {
      return void res.writeHead(400, { Connection: 'close' }).end('bad request\n')
    }
    const send = (type: string, body: string) => {
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' })
      res.end(body)
    }
    if (path === '/status') {
      seen()
      return send('application/json', JSON.stringify(status()))
    }
    if (path === '/simple-scuttle.js') return send('text/javascript; charset=utf-8', code)
    const file = FILES[path]
    if (file === undefined) return void res.writeHead(404).end('not found')
    send(file[1], readFileSync(join(import.meta.dirname, file[0]), 'utf8'))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const addr = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    firstPage,
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}
