/**
 * Browser tests' harness: Debian's Chromium driven headless by
 * playwright-core (never a downloaded browser), a loopback HTTP server
 * that serves the browser bundle and a test page, and takes WebSocket
 * upgrades for a Node node on the same origin.
 *
 * When Chromium is not installed, `chromiumMissing()` says why, and the
 * tests are skipped with that message (`.ci/run` installs it).
 */
import { existsSync, readFileSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { Gossip, base } from 'simple-scuttle'
import { Network, listenWebSocket } from 'simple-scuttle/net'
import { buildBrowser } from '../../scripts/build-browser.ts'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or null. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `Chromium not found at ${CHROMIUM} (apt-get install chromium, as .ci/run does, or set CHROMIUM_PATH)`
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: 30_000 })
}

let bundle: Promise<string> | null = null
/** The browser bundle, built once per test process. */
export function bundleCode(): Promise<string> {
  bundle ??= buildBrowser().then((b) => b.code)
  return bundle
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>simple-scuttle test page</title><script type="module" src="/page.js"></script>`

export interface TestServer {
  /** http://127.0.0.1:port/ */
  origin: string
  /** ws://127.0.0.1:port/gossip */
  wsUrl: string
  gossip: Gossip
  network: Network
  close(): Promise<void>
}

/** A Node node (`id`) with a WebSocket listener at /gossip, on an HTTP server that also serves the test page. */
export async function testServer(id = 'server', opts: { token?: string; netOpts?: ConstructorParameters<typeof Network>[1]; mtu?: number } = {}): Promise<TestServer> {
  const code = await bundleCode()
  const pageJs = readFileSync(join(import.meta.dirname, 'fixtures', 'page.js'), 'utf8')
  const server = http.createServer((req, res) => {
    const path = URL.canParse(req.url ?? '/', 'http://x') ? new URL(req.url ?? '/', 'http://x').pathname : null
    const body = path === '/' ? PAGE : path === '/page.js' ? pageJs : path === '/simple-scuttle.js' ? code : null
    if (body === null) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'Content-Type': path === '/' ? 'text/html' : 'text/javascript', 'Cache-Control': 'no-store' })
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const gossip = new Gossip(id, { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: opts.mtu ?? 100 })
  const network = new Network(gossip, { interval: 100, ...opts.netOpts })
  const ws = await listenWebSocket(network, { server, path: '/gossip', token: opts.token })
  return {
    origin: `http://127.0.0.1:${port}/`,
    wsUrl: ws.url.replace('localhost', '127.0.0.1'),
    gossip,
    network,
    close: async () => {
      await network.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** Same records (key, version, source, value) as `window.dump()` gives for a page. */
export function dump(g: Gossip): string {
  return JSON.stringify(
    g
      .records()
      .map((r) => [r.key, r.version, r.source_id, r.value])
      .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
  )
}
