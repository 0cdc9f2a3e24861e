/**
 * README, "In the browser": the tab's page runs as written, in Chromium,
 * against the node started by the section's command (with --json added
 * to read it): it receives a key set at the node, and its own write
 * reaches the node.
 */
import test from 'tape'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { bundleCode, chromiumMissing, launch } from './support.ts'

const root = resolve(import.meta.dirname, '..', '..')
const missing = chromiumMissing()
const T = 30_000

function section(): { command: string[]; html: string } {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8')
  const text = readme.slice(readme.indexOf('## In the browser'), readme.indexOf('\n## ', readme.indexOf('## In the browser') + 5))
  const sh = /```sh\n(npx simple-scuttle [^\n]*)\n```/.exec(text)
  const html = /```html\n([\s\S]*?)```/.exec(text)
  if (sh === null || html === null) throw new Error('README "In the browser" lost its sh or html block')
  return { command: sh[1]!.split(/\s+/).slice(2), html: html[1]! }
}

if (missing !== null) {
  test(`README browser snippet: ${missing}`, { skip: true }, () => {})
} else {
  test('README "In the browser": the page runs as written against the command', async (t) => {
    const { command, html } = section()
    const node = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...command, '--json'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] })
    const results: Record<string, unknown>[] = []
    let waiting: (() => void) | null = null
    createInterface({ input: node.stdout }).on('line', (l) => {
      results.push(JSON.parse(l))
      waiting?.()
    })
    const next = async (pred: (r: Record<string, unknown>) => boolean) => {
      for (;;) {
        const r = results.find(pred)
        if (r !== undefined) return r
        await new Promise<void>((w) => (waiting = w))
      }
    }
    const bundle = await bundleCode()
    const server = http.createServer((req, res) => {
      if (req.url === '/simple-scuttle.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle)
      else res.writeHead(200, { 'Content-Type': 'text/html' }).end(html)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const browser = await launch()
    try {
      const listening = await next((r) => r.event === 'listening')
      t.equal(listening.ws, 'ws://127.0.0.1:7101/', `the command listens for WebSockets (${listening.ws})`)
      node.stdin.write('set greeting "from the CLI"\n')
      const page = await browser.newPage()
      const logged: string[] = []
      page.on('console', (m) => logged.push(m.text()))
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      const gotIt = page.waitForEvent('console', { predicate: (m) => m.text() === 'greeting = "from the CLI" from server', timeout: T })
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      await gotIt
      t.pass('the tab logged the node\'s write: greeting = "from the CLI" from server')
      for (let tries = 0; ; tries++) {
        if (tries > 500) throw new Error('the node never got the tab\'s write')
        node.stdin.write('get hello\n')
        const r = await next((x) => x.cmd === 'get' && !('seen' in x))
        r.seen = true
        if (r.found === true) {
          t.equal(r.value, 'from a tab that had 0 records', 'the node holds the tab\'s write')
          break
        }
        await new Promise((r) => setTimeout(r, 20)) // poll the node again
      }
      t.deepEqual(errors, [], 'no error on the page')
    } finally {
      await browser.close()
      server.close()
      node.stdin.write('quit\n')
      await new Promise((r) => node.on('exit', r))
    }
  })
}
