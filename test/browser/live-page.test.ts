/**
 * The live page of the cluster demo (`npm start -- --web`) in Chromium:
 * it loads, draws the three CLI nodes and this tab, shows a node killed
 * (down) and restarted, and convergence; a write on its board reaches every
 * CLI node, and the nodes' board writes reach the tab. Screenshots are
 * taken while a node is down and at the end (UPDATE_SCREENSHOTS=1 writes
 * the second to docs/live-page.png, the README's picture).
 */
import test from 'tape'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { chromiumMissing, launch } from './support.ts'

const root = resolve(import.meta.dirname, '..', '..')
const missing = chromiumMissing()
const T = 60_000

const isPng = (b: Buffer) => b.subarray(1, 4).toString() === 'PNG' && b.length > 10_000

if (missing !== null) {
  test(`live page: ${missing}`, { skip: true }, () => {})
} else {
  test('the live page shows the cluster: nodes, a kill and a restart, convergence, and a shared board', async (t) => {
    const demo = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster.ts', '--web', '--duration', '6', '--rate', '100', '--keys', '300'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    demo.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((r) => demo.on('exit', (code) => r(code)))
    const shots = mkdtempSync(join(tmpdir(), 'live-page-'))
    const browser = await launch()
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: demo.stdout }).on('line', (line) => {
          const m = /^live page: (http:\/\/\S+)$/.exec(line)
          if (m) resolve(m[1]!)
        })
        exited.then(() => reject(new Error(`the demo exited: ${stderr}`)))
      })
      t.pass(`the demo serves its page at ${url}`)
      const page = await browser.newPage({ viewport: { width: 1200, height: 760 } })
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(url)
      await page.waitForSelector('.node[data-kind="tab"]', { timeout: T })
      t.equal(await page.locator('.node[data-kind="cli"]').count(), 3, 'three CLI nodes drawn')
      t.pass('this tab is linked into the cluster and drawn as a node')

      await page.waitForSelector('.node[data-kind="cli"][data-state="down"]', { timeout: T })
      const down = await page.locator('.node[data-state="down"]').getAttribute('data-id')
      t.equal(down, 'node-2', 'the killed node is shown down')
      const whileDown = await page.screenshot()
      writeFileSync(join(shots, 'node-down.png'), whileDown)
      t.ok(isPng(whileDown), 'screenshot while node-2 is down')

      await page.waitForSelector('#converged[data-converged="yes"]', { timeout: T })
      await page.waitForSelector('#phase[data-phase="settled"]', { timeout: T })
      const states = await page.$$eval('.node[data-kind="cli"]', (els) => els.map((e) => [e.getAttribute('data-state'), e.getAttribute('data-keys'), e.getAttribute('data-lag')]))
      t.ok(states.every(([s]) => s === 'up'), 'every node is up again')
      t.ok(states.every(([, k, lag]) => k === states[0]![1] && lag === '0'), `every node holds the same ${states[0]![1]} keys, lag 0`)
      const events = await page.locator('#events').innerText()
      t.match(events, /killed node-2/, 'the page tells the kill')
      t.match(events, /restarted node-2 from its log/, 'the restart')
      t.match(events, /converged: every node holds the same/, 'and the convergence')

      await page.fill('#key', 'greeting')
      await page.fill('#value', 'hello from a tab')
      await page.click('#write button')
      await page.waitForSelector('#board tr[data-key="greeting"][data-held-by="node-0 node-1 node-2"]', { timeout: T })
      t.pass('the tab\'s board write reached every CLI node')
      await page.waitForSelector('#board tr[data-key^="node-"]', { timeout: T })
      t.pass('a CLI node\'s board write reached the tab')
      t.deepEqual(errors, [], 'no error on the page')

      const end = await page.screenshot()
      writeFileSync(join(shots, 'settled.png'), end)
      t.ok(isPng(end), `screenshots in ${shots}`)
      if (process.env.UPDATE_SCREENSHOTS === '1') writeFileSync(join(root, 'docs', 'live-page.png'), end)
    } finally {
      await browser.close()
      demo.kill('SIGINT')
      await exited
      if (process.env.KEEP_SCREENSHOTS !== '1') rmSync(shots, { recursive: true, force: true })
    }
  })
}
