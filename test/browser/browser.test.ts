/**
 * Browser nodes in real Chromium (headless, Debian's package) against a
 * Node node over loopback WebSockets, with the esbuild bundle: convergence
 * of two pages and a Node node; a reload that resumes from IndexedDB
 * without fetching again what it held; a socket dropped mid-exchange; a
 * page that sends garbage. Waits are on page state (waitForFunction) and
 * node state, never sleeps.
 */
import test from 'tape'
import type { Browser, Page } from 'playwright-core'
import type { Connection } from 'simple-scuttle/net'
import { chromiumMissing, dump, launch, testServer, type TestServer } from './support.ts'
import { waitFor } from '../support/streams.ts'

const missing = chromiumMissing()
const T = 30_000

async function openPage(browser: Browser, server: TestServer): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (err) => console.log(`# page error: ${err.message}`))
  await page.goto(server.origin)
  await page.waitForFunction(() => (globalThis as any).ready === true, null, { timeout: T })
  return page
}

function start(page: Page, opts: { id: string; url: string; db?: string; token?: string; maxFrame?: number }): Promise<{ loaded: number; generation: string }> {
  return page.evaluate((o) => (globalThis as any).startNode(o), opts)
}

const keyCount = (page: Page, n: number) => page.waitForFunction((n) => (globalThis as any).node.gossip.keys().length >= n, n, { timeout: T })

if (missing !== null) {
  test(`browser tests: ${missing}`, { skip: true }, () => {})
} else {
  let browser: Browser
  test('launch Chromium', async (t) => {
    browser = await launch()
    t.ok(browser.version(), `Chromium ${browser.version()} (headless)`)
  })

  test('two pages and one Node node converge on writes from all three', async (t) => {
    const server = await testServer('server')
    try {
      const a = await openPage(browser, server)
      const b = await openPage(browser, server)
      await start(a, { id: 'tab-a', url: server.wsUrl })
      await start(b, { id: 'tab-b', url: server.wsUrl })
      await a.evaluate(() => { for (let i = 0; i < 50; i++) (globalThis as any).node.gossip.set(`a${i}`, { from: 'tab-a', i }) })
      await b.evaluate(() => { for (let i = 0; i < 50; i++) (globalThis as any).node.gossip.set(`b${i}`, { from: 'tab-b', i }) })
      for (let i = 0; i < 50; i++) server.gossip.set(`n${i}`, { from: 'server', i })
      await keyCount(a, 150)
      await keyCount(b, 150)
      await waitFor(() => server.gossip.keys().length === 150, T, 'the Node node holds 150 keys')
      const [da, db] = [await a.evaluate(() => (globalThis as any).dump()), await b.evaluate(() => (globalThis as any).dump())]
      t.equal(da, dump(server.gossip), 'tab A holds exactly the Node node\'s records')
      t.equal(db, dump(server.gossip), 'tab B too')
      t.equal(server.network.peers.length, 2, 'the Node node sees both tabs as peers')
      await a.close()
      await b.close()
    } finally {
      await server.close()
    }
  })

  test('a page reloads and resumes from IndexedDB without fetching again what it held', async (t) => {
    const server = await testServer('server')
    try {
      for (let i = 0; i < 200; i++) server.gossip.set(`s${i}`, { i })
      const page = await openPage(browser, server)
      const first = await start(page, { id: 'tab-r', url: server.wsUrl, db: 'reload-test' })
      t.equal(first.loaded, 0, 'a new database: nothing loaded')
      await page.evaluate(() => { for (let i = 0; i < 20; i++) (globalThis as any).node.gossip.set(`t${i}`, i) })
      await keyCount(page, 220)
      await waitFor(() => server.gossip.keys().length === 220, T, 'the server holds the tab\'s writes')
      t.equal(await page.evaluate(() => (globalThis as any).node.remoteUpdates), 200, 'the first visit received the 200 records once')
      await page.evaluate(() => (globalThis as any).node.store.flush())
      const redundantBefore = server.gossip.stats.redundant
      await page.reload()
      await page.waitForFunction(() => (globalThis as any).ready === true, null, { timeout: T })
      // While the tab is away, the server gets 5 new records.
      for (let i = 0; i < 5; i++) server.gossip.set(`new${i}`, { i })
      const second = await start(page, { id: 'tab-r', url: server.wsUrl, db: 'reload-test' })
      t.equal(second.loaded, 220, 'the reloaded tab loaded its 220 records from IndexedDB')
      t.equal(second.generation, first.generation, 'and kept its generation')
      await keyCount(page, 225)
      await page.waitForFunction(() => (globalThis as any).node.connects >= 1, null, { timeout: T })
      // One more exchange each way after the catch-up, so that anything resent would have arrived by now.
      server.gossip.set('last', 1)
      await page.waitForFunction(() => (globalThis as any).node.gossip.get('last').value === 1, null, { timeout: T })
      t.equal(await page.evaluate(() => (globalThis as any).node.remoteUpdates), 6, 'after the reload it received exactly the 6 new records, nothing it held')
      t.equal(server.gossip.stats.redundant - redundantBefore, 0, 'and sent the server nothing it already held')
      t.equal(await page.evaluate(() => (globalThis as any).dump()), dump(server.gossip), 'same state as the server')
      await page.close()
    } finally {
      await server.close()
    }
  })

  test('the server drops the socket mid-exchange; the page reconnects and converges', async (t) => {
    const server = await testServer('server', { mtu: 50 })
    try {
      const filler = 'x'.repeat(300)
      for (let i = 0; i < 8000; i++) server.gossip.set(`k${i}`, { i, filler })
      // The server cuts the link as it pushes its first 512 KiB (of 2.6 MB): the tab then holds part of the state.
      let cutAt = -1
      server.network.on('connect', (peer) => {
        const conn = peer as Connection
        let sent = 0
        conn.stream!.on('data', (chunk: Buffer) => {
          sent += chunk.length
          if (cutAt < 0 && sent > 512 * 1024) {
            cutAt = sent
            conn.close('dropped by the test')
          }
        })
      })
      const page = await openPage(browser, server)
      await start(page, { id: 'tab-d', url: server.wsUrl })
      await page.evaluate(() => { for (let i = 0; i < 100; i++) (globalThis as any).node.gossip.set(`tab${i}`, i) })
      await page.waitForFunction(() => (globalThis as any).node.disconnects.length >= 1, null, { timeout: T })
      const cut = await page.evaluate(() => (globalThis as any).node.disconnects[0])
      t.ok(cut.keys < 8000, `the server cut the link after sending ${cutAt} bytes; the tab held ${cut.keys} of 8000 records (${cut.reason})`)
      await page.waitForFunction(() => (globalThis as any).node.connects >= 2, null, { timeout: T })
      t.pass('the tab reconnected by itself')
      await keyCount(page, 8100)
      await waitFor(() => server.gossip.keys().length === 8100, T, 'the server holds the tab\'s 100 writes')
      t.equal(await page.evaluate(() => (globalThis as any).dump()), dump(server.gossip), 'and holds exactly the server\'s state')
      const stats = await page.evaluate(() => (globalThis as any).node.gossip.stats)
      // What the tab held when it reconnected: the bytes it had received before the cut were all
      // applied by then (at the disconnect event some may still wait in its input buffer).
      const held = await page.evaluate(() => (globalThis as any).node.keysAtConnect[1])
      // A response cut before its end moves no clock (PROTOCOL.md, clock advancement): what the
      // tab got of it since its last part marker comes again, nothing from before the cut response.
      t.ok(stats.redundant <= held, `records the tab received twice: ${stats.redundant}, at most what it got of the cut response (it held ${held} keys when it reconnected, ${cut.keys} at the disconnect event)`)
      // The same holds the other way: the tab's 100 records come again only if the response that carried them was cut too.
      t.ok(server.gossip.stats.redundant <= 100, `records the server received twice: ${server.gossip.stats.redundant}, at most the tab's 100 of the cut exchange`)
      await page.close()
    } finally {
      await server.close()
    }
  })

  test('a page that sends garbage is refused and counted while the others go on', async (t) => {
    const server = await testServer('server', { netOpts: { invalidBudget: 100 } })
    try {
      const invalid: string[] = []
      server.network.on('invalid', (_p, reason) => invalid.push(reason))
      const a = await openPage(browser, server)
      const b = await openPage(browser, server)
      const evil = await openPage(browser, server)
      await start(a, { id: 'tab-a', url: server.wsUrl })
      await start(b, { id: 'tab-b', url: server.wsUrl })
      await waitFor(() => server.network.peers.length === 2, T, 'two tabs connected')
      const closed = evil.evaluate((url) => new Promise<number>((resolve) => {
        const ws = new WebSocket(url, ['simple-scuttle'])
        ws.onopen = () => {
          ws.send(JSON.stringify({ hello: 1, id: 'tab-evil', cluster: 'simple-scuttle', time: Date.now() }) + '\n')
          let junk = ''
          for (let i = 0; i < 300; i++) junk += (i % 2 ? 'not json {' : '[1,2,3]') + '\n'
          ws.send(junk)
        }
        ws.onclose = (ev) => resolve(ev.code)
      }), server.wsUrl)
      const code = await closed
      t.pass(`the garbage page's socket was closed (code ${code})`)
      t.ok(server.network.stats.invalid >= 1, 'the Node node cut it off at the invalid budget (stats.invalid)')
      // The frame that crossed the budget is decoded to its end; nothing after it is read.
      t.ok(invalid.length > 100 && invalid.length <= 300, `${invalid.length} invalid objects counted (the budget is 100; the frame held 300), then the link was closed`)
      t.ok(invalid.includes('malformed JSON') && invalid.includes('expected an object, got an array'), 'with their reasons')
      await a.evaluate(() => (globalThis as any).node.gossip.set('after-garbage', 'from a'))
      await b.waitForFunction(() => (globalThis as any).node.gossip.get('after-garbage').value === 'from a', null, { timeout: T })
      t.equal(server.network.peers.length, 2, 'the two honest tabs are still connected and replicating')
      await Promise.all([a.close(), b.close(), evil.close()])
    } finally {
      await server.close()
    }
  })

  test('values beginning with U+FEFF cross both ways unchanged, the tab\'s frames cut inside them', async (t) => {
    const server = await testServer('server')
    const BOM = '\ufeff'
    const values = [`${BOM}x`, BOM.repeat(40), `${BOM}${BOM}é${BOM}`]
    try {
      const page = await openPage(browser, server)
      // Frames of 7 bytes: the tab cuts its lines at character boundaries, many of them just before a U+FEFF.
      await start(page, { id: 'tab-bom', url: server.wsUrl, maxFrame: 7 })
      await page.evaluate((vals) => vals.forEach((v, i) => (globalThis as any).node.gossip.set(`tab${i}`, v)), values)
      values.forEach((v, i) => server.gossip.set(`server${i}`, v))
      await keyCount(page, 6)
      await waitFor(() => server.gossip.keys().length === 6, T, 'the server holds 6 keys')
      t.deepEqual(values.map((_, i) => server.gossip.get(`tab${i}`).value), values, 'the server holds the tab\'s values exactly')
      t.deepEqual(await page.evaluate((n) => Array.from({ length: n }, (_, i) => (globalThis as any).node.gossip.get(`server${i}`).value), values.length), values, 'the tab holds the server\'s values exactly')
      await page.close()
    } finally {
      await server.close()
    }
  })

  test('close Chromium', async (t) => {
    await browser.close()
    t.pass('closed')
  })
}
