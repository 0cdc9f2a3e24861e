/**
 * The browser bundle (scripts/build-browser.ts): one ES module with no
 * Node built-in left in it, its size as the README reports it, and the
 * exports a tab needs. (test/browser/*.test.ts run it in Chromium.)
 */
import test from 'tape'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { buildBrowser } from '../../scripts/build-browser.ts'

test('the browser bundle: no Node built-ins, the size the README gives, the exports a tab needs', async (t) => {
  const b = await buildBrowser()
  t.notOk(/\bfrom\s*"node:|\brequire\("node:|\bimport\("node:/.test(b.code), 'no node: module is imported')
  t.notOk(/\brequire\(/.test(b.code.replace(/__require|"require"/g, '')), 'no require() left')
  const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`
  const readme = readFileSync(resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
  const said = /([\d.]+) kB minified, \*\*([\d.]+) kB minified and gzipped\*\*/.exec(readme)
  const near = (text: string | undefined, n: number) => text !== undefined && Math.abs(Number(text) * 1024 - n) <= Math.max(2048, n * 0.05)
  t.ok(said !== null && near(said[1], b.bytes) && near(said[2], b.gzipBytes), `README gives the size within 5 % (it says ${said?.[1]} kB and ${said?.[2]} kB; the build is ${kB(b.bytes)} minified, ${kB(b.gzipBytes)} min+gzip)`)
  const exported = /export\{([^}]*)\}\s*;?\s*(\/\/.*)?$/.exec(b.code.trim())?.[1] ?? ''
  const names = new Set(exported.split(',').map((e) => e.trim().split(/\s+as\s+/).pop()))
  for (const name of ['Gossip', 'base', 'Network', 'connectWebSocket', 'openIndexedDB', 'WebSocketStream']) t.ok(names.has(name), `exports ${name}`)
  t.ok(b.parts[0]!.name === 'readable-stream', `readable-stream is the largest part (${kB(b.parts[0]!.bytes)})`)
  t.end()
})
