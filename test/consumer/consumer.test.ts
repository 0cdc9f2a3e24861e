/**
 * The package as a newcomer meets it: `npm pack`, install the tarball into a
 * fresh app without network (`npm ci --offline`, from the npm cache that
 * this repository's `npm ci` filled), compile a strict TypeScript app
 * against the published declarations, and run it: the README's first
 * snippet, two nodes over loopback TCP with a log on disk, the examples
 * copied as they are, `require()` from CommonJS, and the CLI. The
 * WebSocket classes users pass to `connectWebSocket` (the `ws` package's,
 * the DOM's) are compiled against the declarations, with no cast.
 *
 * The package is packed from a copy of the repository's package files (with
 * its node_modules linked), so prepack's build writes dist/ there, not in
 * the repository, where bin/simple-scuttle.js would prefer a stale build to
 * the sources. Everything lives under one temporary folder, removed at the
 * end; every child process has a timeout.
 */
import test from 'tape'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { consumerLock, type Lockfile, type PackedPackage } from './lockfile.ts'

const root = resolve(import.meta.dirname, '../..')
const work = mkdtempSync(join(tmpdir(), 'simple-scuttle-consumer-test-'))
const staging = join(work, 'package')
const packed = join(work, 'packed')
const app = join(work, 'app')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * The environment of a fresh shell: without the npm_* variables of the
 * `npm test` that may have started us (npm_config_local_prefix would make
 * npm treat this repository as the project), but with the same cache.
 */
function freshEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !/^npm_config_(cache|userconfig|globalconfig|registry)$/i.test(k)) continue
    if (k === 'INIT_CWD') continue
    env[k] = v
  }
  return { ...env, FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' }
}

function run(file: string, args: string[], cwd: string, timeoutMs: number, input?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(file, args, { cwd, env: freshEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      done({ code, stdout, stderr: stderr + (err !== null && err.killed ? `\n(killed after ${timeoutMs} ms)` : '') })
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** npm as the one that runs us (or the one on PATH). */
function npm(args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const cli = process.env.npm_execpath
  if (cli !== undefined && /\.[cm]?js$/.test(cli)) return run(process.execPath, [cli, ...args], cwd, timeoutMs)
  return run('npm', args, cwd, timeoutMs)
}

const node = (args: string[], timeoutMs: number, input?: string) => run(process.execPath, args, app, timeoutMs, input)
const tail = (r: Run) => `exit ${r.code}\n${(r.stderr || r.stdout).slice(-3000)}`

let installed = false

test('npm pack, then npm ci --offline of the tarball into a fresh app', async (t) => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackedPackage & { files: string[] }
  mkdirSync(staging)
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', ...manifest.files]) {
    if (f === 'dist' || !existsSync(join(root, f))) continue
    cpSync(join(root, f), join(staging, f), { recursive: true })
  }
  symlinkSync(join(root, 'node_modules'), join(staging, 'node_modules'), 'dir')
  mkdirSync(packed)
  const pack = await npm(['pack', '--pack-destination', packed], staging, 180_000)
  t.equal(pack.code, 0, `npm pack (prepack builds dist/) exits 0${pack.code === 0 ? '' : ': ' + tail(pack)}`)
  const tarballs = readdirSync(packed).filter((f) => f.endsWith('.tgz'))
  t.deepEqual(tarballs, [`${manifest.name}-${manifest.version}.tgz`], 'one tarball, named after the package')
  if (tarballs.length !== 1) return t.end()
  const tarball = join(packed, tarballs[0]!)

  const listing = await run('tar', ['-tzf', tarball], work, 30_000)
  const files = new Set(listing.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')))
  for (const f of ['package.json', 'LICENSE', 'README.md', 'bin/simple-scuttle.js', 'dist/index.js', 'dist/index.d.ts', 'dist/net.d.ts', 'dist/store.d.ts', 'dist/security.d.ts', 'dist/cli/main.js']) {
    t.ok(files.has(f), `the tarball holds ${f}`)
  }
  t.notOk([...files].some((f) => f.startsWith('test/') || f.startsWith('node_modules/')), 'and no tests or node_modules')

  // The published declarations keep internals out (stripInternal).
  const gossipDts = readFileSync(join(staging, 'dist/stream/gossip.d.ts'), 'utf8')
  t.notOk(/_replica/.test(gossipDts), 'Gossip\'s declaration has no _replica')
  t.notOk(/_binding/.test(readFileSync(join(staging, 'dist/stream/peer-stream.d.ts'), 'utf8')), 'PeerStream\'s declaration has no _binding')

  const repoLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile
  const packedManifest = JSON.parse(readFileSync(join(staging, 'package.json'), 'utf8')) as PackedPackage
  const integrity = 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64')
  // The registry npm is configured with (tarball addresses in the app's lockfile).
  const registry = (await npm(['config', 'get', 'registry'], work, 30_000)).stdout.trim()
  const { dependencies, lock } = consumerLock(repoLock, packedManifest, relative(app, tarball), integrity, ['typescript', '@types/node', '@types/ws'], /^https?:\/\//.test(registry) ? registry : undefined)
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies }, null, 2) + '\n')
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n')
  const install = await npm(['ci', '--offline', '--no-audit', '--no-fund'], app, 180_000)
  t.equal(install.code, 0, `npm ci --offline exits 0${install.code === 0 ? '' : ': ' + tail(install)}`)
  for (const dep of Object.keys(packedManifest.dependencies ?? {})) {
    t.ok(existsSync(join(app, 'node_modules', dep, 'package.json')), `the package's dependency ${dep} is installed with it`)
  }
  installed = install.code === 0
  t.end()
})

test('a strict TypeScript app (tsc --init, skipLibCheck false) compiles against the published types', async (t) => {
  if (!installed) return t.fail('not installed'), t.end()
  const tsc = join(app, 'node_modules/typescript/bin/tsc')
  const init = await node([tsc, '--init'], 60_000)
  t.equal(init.code, 0, 'tsc --init')
  const tsconfig = join(app, 'tsconfig.json')
  writeFileSync(tsconfig, readFileSync(tsconfig, 'utf8').replace(/"skipLibCheck":\s*true/, '"skipLibCheck": false'))
  // The README's first TypeScript snippet, as it is in the installed package.
  const readme = readFileSync(join(app, 'node_modules/simple-scuttle/README.md'), 'utf8')
  const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(snippet !== undefined && snippet.includes("from 'simple-scuttle'"), 'the README has a first ts snippet that imports the package')
  writeFileSync(join(app, 'readme-first.ts'), snippet ?? '')
  cpSync(join(root, 'test/consumer/app/replicate.ts'), join(app, 'replicate.ts'))
  cpSync(join(root, 'test/consumer/app/require.cjs'), join(app, 'require.cjs'))
  cpSync(join(root, 'test/consumer/app/websocket-ws.ts'), join(app, 'websocket-ws.ts'))
  // The examples, copied as they are.
  for (const f of ['two-peers.ts', 'tcp-peers.ts', 'persist.ts']) cpSync(join(root, 'examples', f), join(app, f))

  const shown = await node([tsc, '-p', '.', '--showConfig'], 60_000)
  let options: Record<string, unknown> = {}
  try {
    options = (JSON.parse(shown.stdout) as { compilerOptions: Record<string, unknown> }).compilerOptions
  } catch {
    t.fail(`tsc --showConfig: ${tail(shown)}`)
  }
  t.equal(options.strict, true, 'strict: true')
  t.equal(options.skipLibCheck, false, 'skipLibCheck: false (the declarations are checked too)')
  t.equal(String(options.module).toLowerCase(), 'nodenext', 'module: nodenext')
  const build = await node([tsc, '-p', '.'], 120_000)
  t.equal(build.code, 0, `tsc compiles the app with no error${build.code === 0 ? '' : ':\n' + build.stdout.slice(0, 4000)}`)
  for (const f of ['readme-first', 'replicate', 'two-peers', 'tcp-peers', 'persist', 'websocket-ws']) t.ok(existsSync(join(app, f + '.js')), `${f}.js emitted`)
  t.end()
})

test('the browser\'s own WebSocket class (lib "dom") is a WebSocketConstructor of simple-scuttle/browser', async (t) => {
  if (!existsSync(join(app, 'tsconfig.json'))) return t.fail('no app tsconfig'), t.end()
  const tsc = join(app, 'node_modules/typescript/bin/tsc')
  cpSync(join(root, 'test/consumer/app/websocket-dom.ts'), join(app, 'websocket-dom.ts'))
  const config = { extends: './tsconfig.json', compilerOptions: { lib: ['esnext', 'dom'], noEmit: true }, files: ['websocket-dom.ts'] }
  writeFileSync(join(app, 'tsconfig.dom.json'), JSON.stringify(config, null, 2) + '\n')
  const build = await node([tsc, '-p', 'tsconfig.dom.json'], 120_000)
  t.equal(build.code, 0, `tsc compiles it with no cast${build.code === 0 ? '' : ':\n' + build.stdout.slice(0, 4000)}`)
  t.end()
})

test('the app runs: README snippet, two nodes over loopback TCP with a log, require() from CommonJS', async (t) => {
  if (!existsSync(join(app, 'replicate.js'))) return t.fail('not built'), t.end()
  const snippet = await node(['readme-first.js'], 30_000)
  t.equal(snippet.code, 0, 'the README snippet exits 0 by itself')
  t.match(snippet.stdout, /key: 'greeting'[\s\S]*value: 'hello'[\s\S]*source_id: 'alice'/, 'bob logs alice\'s update')

  const r = await node(['replicate.js'], 60_000)
  t.equal(r.code, 0, `replicate.js exits 0${r.code === 0 ? '' : ': ' + tail(r)}`)
  let out: Record<string, unknown> = {}
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
  } catch {
    t.fail(`not JSON: ${r.stdout}`)
  }
  t.equal(out.converged, true, 'a and b hold the same records')
  t.equal(out.bRecords, 202, 'b holds a\'s 200 keys, its own key and its tombstone')
  t.equal(out.bKeys, 201, 'of which 201 live keys')
  t.equal(out.fromB, 'hello from b', 'a holds b\'s write')
  t.equal(out.goneAtA, null, 'and b\'s delete')
  t.deepEqual(out.peersOfB, ['a'], 'b was connected to a over TCP')
  t.equal(out.reloaded, 202, 'a reopened from its log holds all 202 records')
  t.equal(out.sameAfterRestart, true, 'the same records as b')

  const cjs = await node(['require.cjs'], 30_000)
  t.equal(cjs.code, 0, `require() of the package works on ${process.version}${cjs.code === 0 ? '' : ': ' + tail(cjs)}`)
  t.match(cjs.stdout, /\{"gossip":"function","network":"function","value":1\}/, 'and gives the same exports')
  t.end()
})

test('the examples, copied into the app as they are, run against the installed package', async (t) => {
  if (!existsSync(join(app, 'two-peers.js'))) return t.fail('not built'), t.end()
  const two = await node(['two-peers.js'], 30_000)
  t.equal(two.code, 0, 'two-peers exits 0')
  t.match(two.stdout, /converged \(\d+ bytes on the wire\)/, 'two-peers converges')
  const tcp = await node(['tcp-peers.js'], 30_000)
  t.equal(tcp.code, 0, 'tcp-peers exits 0')
  t.match(tcp.stdout, /^converged in \d+ ms/m, 'tcp-peers converges')
  const dir = join(work, 'persist-data')
  const first = await node(['persist.js', dir], 30_000)
  const second = await node(['persist.js', dir], 30_000)
  t.equal(first.code, 0, 'persist exits 0')
  t.match(second.stdout, /after restarting: \{"answer":42,"greeting":"hello","runs":2\}/, 'a second run of persist builds on the first')
  t.end()
})

test('the installed CLI: npx simple-scuttle --help, then a short run', async (t) => {
  if (!installed) return t.fail('not installed'), t.end()
  const help = await npm(['exec', '--offline', '--no', '--', 'simple-scuttle', '--help'], app, 60_000)
  t.equal(help.code, 0, `npx simple-scuttle --help exits 0${help.code === 0 ? '' : ': ' + tail(help)}`)
  t.match(help.stdout, /^Usage: simple-scuttle --id <id>/m, 'prints the usage')

  const bin = join(app, 'node_modules/.bin/simple-scuttle')
  const session = await run(bin, ['--id', 'cli', '--port', '0', '--json'], app, 30_000, 'set colour "teal"\nget colour\nstats\nquit\n')
  t.equal(session.code, 0, `a node runs commands from stdin and quits with 0${session.code === 0 ? '' : ': ' + tail(session)}`)
  const lines = session.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  const listening = lines.find((l) => l.event === 'listening')
  t.ok(listening !== undefined && listening.host === '127.0.0.1' && Number(listening.port) > 0, 'it listened on a loopback port')
  const got = lines.find((l) => l.cmd === 'get')
  t.equal(got?.value, 'teal', 'get returns what set wrote')
  const stats = lines.find((l) => l.cmd === 'stats')
  t.equal(stats?.keys, 1, 'stats counts one key')
  t.end()
})

test.onFinish(() => rmSync(work, { recursive: true, force: true }))
process.on('exit', () => rmSync(work, { recursive: true, force: true }))
