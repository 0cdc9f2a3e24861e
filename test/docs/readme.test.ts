/**
 * The README runs. Its code blocks are extracted and executed:
 *
 * - ```ts and ```js blocks: each is written to a file in a temporary folder
 *   inside the repository (so `simple-scuttle` resolves through tsconfig
 *   paths, to the sources), with what it takes from an earlier block (a
 *   `config`, a `network`...) as a prelude and, for some, a few lines after
 *   it that check what the README says it does. All of them run in one
 *   process, one after the other; the ts ones are also type-checked.
 *   A js block of wire objects goes through the real validator.
 * - ```sh blocks: each command runs (openssl in a temporary folder; the
 *   command-line node, `npx simple-scuttle`, from this repository's sources;
 *   `npm start`), nodes are checked for what the block sets up (listening,
 *   connected to their `--peer`, a write at one read at the other), then
 *   stopped with `quit`.
 *
 * Only ports and hosts are replaced (fixed ports could be taken on this
 * machine, and tests stay on loopback), and placeholders a block names but
 * cannot define (a socket, other nodes' keys). A block that cannot run at all
 * carries `<!-- not run: why -->` just above it. A block this file does not
 * know runs as it is. A drift between the README and the code fails here.
 */
import test from 'tape'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as net from 'node:net'
import { join, resolve } from 'node:path'
import type { Message } from '../../lib/protocol/messages.ts'
import { DEFAULT_LIMITS, decode } from '../../lib/protocol/validate.ts'

const root = resolve(import.meta.dirname, '../..')
const README = readFileSync(join(root, 'README.md'), 'utf8')
/** Failure bound for one child process (a hung block fails the test, it never passes it). */
const PROCESS_LIMIT_MS = 180_000

interface Block {
  lang: string
  text: string
  /** Line of the opening fence (1-based). */
  line: number
  /** Why it is not run, from a `<!-- not run: ... -->` mark just above it. */
  notRun: string | null
}

function readBlocks(md: string): Block[] {
  const lines = md.split('\n')
  const out: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i])
    if (open === null) continue
    let j = i + 1
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++
    let k = i - 1
    while (k >= 0 && lines[k].trim() === '') k--
    const mark = k >= 0 ? /^<!-- not run: (.+?) -->$/.exec(lines[k].trim()) : null
    out.push({ lang: open[1], text: lines.slice(i + 1, j).join('\n'), line: i + 1, notRun: mark === null ? null : mark[1] })
    i = j
  }
  return out
}

const blocks = readBlocks(README)
const label = (b: Block) => `README.md:${b.line} (${b.lang})`

/**
 * Free loopback ports, for the README's fixed ones: below the kernel's
 * ephemeral range (32768 and up), where no other process's outgoing
 * connection or `listen(0)` can take one between this check and the node
 * binding it. Each run starts at a place of its own (its pid) and counts up.
 */
let nextPort = 20_000 + (process.pid % 10_000)
async function freePort(): Promise<number> {
  for (;;) {
    const port = nextPort++
    if (nextPort >= 32_000) nextPort = 20_000
    const server = net.createServer()
    const ok = await new Promise<boolean>((r) => {
      server.once('error', () => r(false))
      server.listen(port, '127.0.0.1', () => r(true))
    })
    if (ok) {
      await new Promise<void>((r) => server.close(() => r()))
      return port
    }
  }
}

// ---- ts and js blocks ------------------------------------------------------

/**
 * What a program block needs to run, keyed by a line that identifies it
 * (each must match exactly one block: a README edit that removes it fails).
 * `ports`: README port -> placeholder name filled with a free port.
 */
interface Plan {
  prelude?: string
  after?: string
  replace?: [string, string][]
  /** Printed by the block (or its `after`) when it did what the README says. */
  expect?: RegExp
}

const PORT_A = '__PORT_A__'
const PORT_B = '__PORT_B__'
const configPrelude = `import { Gossip, base } from 'simple-scuttle'
const config = base.config
`
/** Wait (in the block's process) until `cond` holds; the process's own limit bounds it. */
const until = `const until = async (cond: () => boolean) => { while (!cond()) await new Promise((r) => setTimeout(r, 5)) }
`

const PLANS: Record<string, Plan> = {
  // Two peers in one process.
  "alice.pipe(bob).pipe(alice)          // objects flow directly between streams": {
    expect: /key: 'greeting',\s+value: 'hello',\s+source_id: 'alice',\s+version: \d+/,
  },
  // The codec over a byte stream: `alice` as above, `socket` a TCP socket to bob.
  'alice.pipe(createEncoder()).pipe(socket).pipe(createDecoder()).pipe(alice)': {
    prelude: `import { Gossip, base } from 'simple-scuttle'
import * as net from 'node:net'
${until}const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const alice = new Gossip('alice', config)
const bob = new Gossip('bob', config)
const server = net.createServer((s) => { bob.pipe(createEncoder()).pipe(s).pipe(createDecoder()).pipe(bob) })
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
`,
    after: `alice.set('over', 'the wire')
alice.gossip()
await until(() => bob.get('over').value === 'the wire')
socket.destroy()
server.close()
console.log('README-CHECK codec: bob got alice\\'s write over TCP')
`,
    expect: /README-CHECK codec/,
  },
  // The same with the ndjson package as the serializer (the seed's usage).
  'alice.pipe(ndjson.stringify()).pipe(socket).pipe(ndjson.parse()).pipe(alice)': {
    prelude: `import { Gossip, base } from 'simple-scuttle'
import * as net from 'node:net'
${until}const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const alice = new Gossip('alice', config)
const bob = new Gossip('bob', config)
const server = net.createServer((s) => { bob.pipe(ndjson.stringify()).pipe(s).pipe(ndjson.parse()).pipe(bob) })
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
`,
    after: `alice.set('over', 'ndjson')
alice.gossip()
await until(() => bob.get('over').value === 'ndjson')
socket.destroy()
server.close()
console.log('README-CHECK ndjson: bob got alice\\'s write over TCP')
`,
    expect: /README-CHECK ndjson/,
  },
  // Peers over TCP (the port it dials is its own: the hello refuses it).
  "await listen(network, { port: 7001, host: '127.0.0.1' })": {
    replace: [
      ['port: 7001', `port: ${PORT_A}`],
      ['port: 7002', `port: ${PORT_A}`],
    ],
    after: `console.log('README-CHECK tcp: closed')\n`,
    expect: /README-CHECK tcp/,
  },
  // Mutual TLS, with the files the README's openssl commands make.
  "cert: readFileSync('node-a.crt'),": {
    prelude: `import { Gossip, base } from 'simple-scuttle'
import { Network, listen, connect } from 'simple-scuttle/net'
${until}const gossip = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
const network = new Network(gossip, { interval: 1000, fanout: 2, cluster: 'prod' })
const refused: string[] = []
network.on('refused', (_address, reason) => refused.push(reason))
`,
    replace: [
      ["host: '0.0.0.0'", "host: '127.0.0.1'"],
      ["host: '10.0.0.2'", "host: '127.0.0.1'"],
      ['port: 7001', `port: ${PORT_A}`],
    ],
    // It dialled itself: through the TLS handshake, then refused by the hello.
    after: `await until(() => refused.some((r) => /itself/.test(r)))
await network.close()
console.log('README-CHECK mtls: handshake with the openssl certificates, then', refused.find((r) => /itself/.test(r)))
`,
    expect: /README-CHECK mtls: handshake/,
  },
  // A cluster secret.
  "const tls = { secret: process.env.CLUSTER_SECRET!, identity: 'node-a' } // identity is optional": {
    prelude: `import { Gossip, base } from 'simple-scuttle'
import { Network, listen, connect } from 'simple-scuttle/net'
${until}const gossip = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
const network = new Network(gossip, { interval: 1000, fanout: 2, cluster: 'prod' })
const refused: string[] = []
network.on('refused', (_address, reason) => refused.push(reason))
`,
    replace: [
      ['port: 7001', `port: ${PORT_A}`],
      ['port: 7002', `port: ${PORT_A}`],
    ],
    after: `await until(() => refused.some((r) => /itself/.test(r)))
await network.close()
console.log('README-CHECK psk: handshake with the secret, then', refused.find((r) => /itself/.test(r)))
`,
    expect: /README-CHECK psk: handshake/,
  },
  // Signed updates: the other members' keys are placeholders.
  "import { generateSigningKeys, signer, verifier } from 'simple-scuttle/security'": {
    prelude: `import { Gossip, base } from 'simple-scuttle'
${until}const publicKeyOfB = generateSigningKeys().publicKey
const publicKeyOfC = generateSigningKeys().publicKey
`,
    after: `gossip.set('a/x', 1)
if (typeof gossip.record('a/x')?.sig !== 'string') throw new Error('a local write was not signed')
const b = new Gossip('b', { ...base.config, resolve: base.resolution.lww_vs_current_vers, verify: verifier({ a: keysA.publicKey }) })
gossip.pipe(b).pipe(gossip)
gossip.gossip()
await until(() => b.get('a/x').value === 1)
console.log('README-CHECK signed: a signed write verified at another node')
`,
    expect: /README-CHECK signed/,
  },
  // Persistence: `config` as in the first example.
  "const { gossip, store, loaded, warnings } = openDurable('a', config, { dir: './a-data', durability: 'batch' })": {
    prelude: `import { base } from 'simple-scuttle'
const config = base.config
config.resolve = base.resolution.lww_vs_current_vers
`,
    replace: [['// ... on shutdown:', "// ... on shutdown:\nif (warnings.length > 0) throw new Error(warnings.join('; '))\ngossip.set('kept', loaded + 1)"]],
    after: `const again = openDurable('a', config, { dir: './a-data', durability: 'batch' })
if (again.gossip.get('kept').value !== 1) throw new Error('the write did not survive a restart')
again.store.close()
if (again.gossip.get('k').value !== 1) throw new Error('the first write did not survive a restart')
console.log('README-CHECK persistence: reopened with', again.loaded, 'records')
`,
    expect: /README-CHECK persistence: reopened with 2 records/,
  },
  // Writing a resolve that converges: Right (checked on tombstones), and the two WRONG ones.
  "const priority = (rec) => (typeof rec.value?.priority === 'number' ? rec.value.priority : 0)": {
    prelude: configPrelude + until,
    after: `const a = new Gossip('a', config)
const b = new Gossip('b', config)
const invalid: string[] = []
for (const g of [a, b]) g.on('invalid', (reason) => invalid.push(reason))
a.set('job', { priority: 1 })
b.set('job', { priority: 5 })
a.del('job')
b.set('other', { priority: 2 })
a.set('other', 'a value of another shape')
b.set('gone', 'x')
b.del('gone')
a.pipe(b).pipe(a)
a.gossip()
const same = (k) => JSON.stringify(a.record(k)) === JSON.stringify(b.record(k))
await until(() => a.size === 3 && b.size === 3 && same('job') && same('other') && same('gone'))
if (invalid.length > 0) throw new Error('refused: ' + invalid.join('; '))
if (a.get('job').value.priority !== 5 || a.get('other').value.priority !== 2) throw new Error('the higher priority did not win')
if (a.get('gone').value !== null || b.get('gone').value !== null) throw new Error('the delete of a priority-0 value did not win')
console.log('README-CHECK resolve: both nodes agree, tombstones included:', JSON.stringify(a.get('job').value))
`,
    expect: /README-CHECK resolve: both nodes agree/,
  },
  // In the browser: the WebSocket listener, on its own port and on an existing server; a Node dialler with ws's class (here, to itself).
  "await listenWebSocket(network, { server: httpsServer, path: '/gossip', token }) // wss:// on the page's origin": {
    prelude: `import { Gossip, base } from 'simple-scuttle'
import { Network } from 'simple-scuttle/net'
import * as http from 'node:http'
const network = new Network(new Gossip('ws-node', { ...base.config, resolve: base.resolution.lww_vs_current_vers }))
const httpsServer = http.createServer()
await new Promise<void>((r) => httpsServer.listen(0, '127.0.0.1', r))
process.env.WS_TOKEN = 'readme-token'
${until}const refused: string[] = []
network.on('refused', (_address, reason) => refused.push(reason))
`,
    replace: [
      ['port: 7101', `port: ${PORT_A}`],
      ['ws://127.0.0.1:7101/', `ws://127.0.0.1:${PORT_A}/`],
    ],
    after: `await until(() => refused.some((r) => /itself/.test(r)))
await network.close()
httpsServer.close()
console.log('README-CHECK websocket: both listeners opened and closed; the ws dialler got through the token to the hello:', refused.find((r) => /itself/.test(r)))
`,
    expect: /README-CHECK websocket/,
  },
  // Flow control: the queued write, then refuse mode.
  'desired: 10, // ρ: updates per second this node would like to write': {
    after: `if (node.queued !== 1 || node.allowedRate !== 0.2 || node.get('reading').value !== 1) throw new Error('flow control: not as the README says')
let refused = ''
const strict = new Gossip('strict', { ...base.config, resolve: base.resolution.lww_vs_current_vers, flow: { desired: 1, overflow: 'refuse' } })
strict.set('a', 1)
try {
  strict.set('a', 2)
} catch (err) {
  if (err instanceof FlowError) refused = err.code
}
node.destroy()
console.log('README-CHECK flow: one write queued at τ 0.2; refused with', refused)
`,
    expect: /README-CHECK flow: one write queued at τ 0\.2; refused with ERATE/,
  },
  // The sans-I/O core: one exchange between two engines.
  "import { Engine, seededRandom } from 'simple-scuttle/core'": {
    expect: /3 blue\n1 true/,
  },
  // Cluster membership: a seed node first (in the prelude), on loopback; the block's node joins through it.
  "  seeds: ['10.0.0.1:7001', 'seeds.internal:7001'], // host names are resolved again every minute": {
    prelude: `import * as scuttle from 'simple-scuttle'
import * as snet from 'simple-scuttle/net'
${until}const seedNet = new snet.Network(new scuttle.Gossip('node-a', { ...scuttle.base.config, resolve: scuttle.base.resolution.lww_vs_current_vers }), { interval: 300 })
await snet.listen(seedNet, { port: ${PORT_A}, host: '127.0.0.1' })
snet.join(seedNet, { advertise: '127.0.0.1:${PORT_A}' })
`,
    replace: [
      ["port: 7002, host: '0.0.0.0'", `port: ${PORT_B}, host: '127.0.0.1'`],
      ['`10.0.0.2:${port}`', '`127.0.0.1:${port}`'],
      ["'10.0.0.1:7001'", `'127.0.0.1:${PORT_A}'`],
      ["'seeds.internal:7001'", `'localhost:${PORT_A}'`],
      [
        '// ...',
        `await until(() => network.members().filter((m) => m.state === 'alive').length === 2 && seedNet.members().some((m) => m.id === 'node-b' && m.state === 'alive'))
if (JSON.stringify(seedNet.members().find((m) => m.id === 'node-b')?.metadata) !== '{"zone":"eu-west-1a"}') throw new Error('the metadata did not reach the seed')`,
      ],
    ],
    after: `await until(() => seedNet.members().find((m) => m.id === 'node-b')?.state === 'left')
await seedNet.close()
console.log('README-CHECK membership: joined through the seed, listed alive with its metadata, then left')
`,
    expect: /README-CHECK membership: joined through the seed/,
  },
  'config.resolve = (gossip, update) => gossip.get(update.key).value === null': { prelude: configPrelude },
  'config.resolve = (gossip, update) => update.version > gossip.get(update.key).version': { prelude: configPrelude },
}

/** A js block whose lines are wire objects (each an object literal, maybe with a comment). */
function wireObjects(b: Block): string[] | null {
  if (b.lang !== 'js') return null
  const lines = b.text.split('\n').map((l) => l.replace(/\s*\/\/.*$/, '').trim()).filter((l) => l !== '')
  return lines.length > 0 && lines.every((l) => /^\{.*\}$/.test(l)) ? lines : null
}

function planFor(b: Block): { key: string | null; plan: Plan } {
  const keys = Object.keys(PLANS).filter((k) => b.text.split('\n').some((l) => l.trim() === k.trim()))
  return keys.length === 0 ? { key: null, plan: {} } : { key: keys[0], plan: PLANS[keys[0]] }
}

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_LIMIT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      done({ code, signal, stdout, stderr })
    })
  })
}

const tail = (s: string, n = 1500) => (s.length > n ? '...' + s.slice(-n) : s)

// ---- the temporary folders -------------------------------------------------

const work = mkdtempSync(join(root, '.readme-run-'))
const programs = join(work, 'programs')
const shell = join(work, 'shell')
mkdirSync(programs)
mkdirSync(shell)
test.onFinish(() => {
  for (const c of cliProcesses) c.kill('SIGKILL')
  rmSync(work, { recursive: true, force: true })
})

test('the README has the blocks this test knows, and each is run or marked', (t) => {
  const kinds = new Set(blocks.map((b) => b.lang))
  // The html block (a tab's page) runs in Chromium: test/browser/readme.test.ts.
  t.deepEqual([...kinds].filter((k) => !['ts', 'js', 'sh', 'html', ''].includes(k)), [], 'only ts, js, sh, html and plain (output) blocks')
  for (const key of Object.keys(PLANS)) {
    const n = blocks.filter((b) => b.text.split('\n').some((l) => l.trim() === key.trim())).length
    t.equal(n, 1, `one block has the line: ${key}`)
  }
  const marked = blocks.filter((b) => b.notRun !== null)
  for (const b of marked) t.comment(`not run: ${label(b)}: ${b.notRun}`)
  t.ok(blocks.filter((b) => b.lang !== '' && b.notRun === null).length >= 15, `${blocks.filter((b) => b.lang !== '' && b.notRun === null).length} blocks to run`)
  t.end()
})

test('README: the js block of wire objects goes through the validator', (t) => {
  const lists = blocks.filter((b) => b.notRun === null).map(wireObjects).filter((l): l is string[] => l !== null)
  t.ok(lists.length >= 1, 'found')
  for (const line of lists.flat()) {
    let obj: unknown
    try {
      obj = new Function(`return (${line})`)()
    } catch (err) {
      t.fail(`${line}: not an object literal (${(err as Error).message})`)
      continue
    }
    const reason = decode(obj, DEFAULT_LIMITS, [] as Message[])
    t.equal(reason, null, `accepted: ${line}`)
  }
  t.end()
})

test('README: ```sh blocks run: openssl, the command-line nodes, the demo', async (t) => {
  // The certificates first (the README gives the block that starts nodes
  // with them before the commands that make them); then the other blocks,
  // side by side (each on its own ports and files).
  const sh = blocks.filter((b) => b.lang === 'sh' && b.notRun === null)
  const makesCerts = (b: Block) => /openssl req -x509/.test(b.text)
  t.ok(sh.length >= 4 && sh.filter(makesCerts).length === 1, `${sh.length} sh blocks to run, one of them makes the certificates`)
  for (const b of sh.filter(makesCerts)) await runShellBlock(t, b)
  await Promise.all(sh.filter((b) => !makesCerts(b)).map((b) => runShellBlock(t, b)))
  t.end()
})

test('README: ```ts and ```js blocks run (one process, in README order) and the ts ones type-check', async (t) => {
  // Certificates for the mutual TLS example: made by the README's own commands (previous test).
  for (const f of ['node-a.crt', 'node-a.key', 'cluster-ca.crt']) {
    if (existsSync(join(shell, f))) copyFileSync(join(shell, f), join(programs, f))
    else t.fail(`${f} was not made by the README's openssl commands`)
  }
  const progs = blocks.filter((b) => (b.lang === 'ts' || b.lang === 'js') && b.notRun === null && wireObjects(b) === null)
  t.ok(progs.length >= 9, `${progs.length} program blocks`)
  const ports: Record<string, number> = { [PORT_A]: await freePort(), [PORT_B]: await freePort() }
  const files: string[] = []
  const expects: { b: Block; re: RegExp }[] = []
  for (const [i, b] of progs.entries()) {
    const { plan } = planFor(b)
    let text = b.text
    for (const [from, to] of plan.replace ?? []) {
      if (!text.includes(from)) t.fail(`${label(b)}: no "${from}" to replace: update this test with the README`)
      text = text.split(from).join(to)
    }
    let body = (plan.prelude ?? '') + `// ---- ${label(b)}\n` + text + '\n' + (plan.after ?? '')
    for (const [name, port] of Object.entries(ports)) body = body.split(name).join(String(port))
    const file = join(programs, `block-${String(i).padStart(2, '0')}-line-${b.line}.ts`)
    writeFileSync(file, (b.lang === 'js' ? '// @ts-nocheck: a js block\n' : '') + body + '\nexport {}\n')
    files.push(file)
    if (plan.expect !== undefined) expects.push({ b, re: plan.expect })
  }
  const runner = join(programs, 'run-blocks.ts')
  writeFileSync(
    runner,
    `import { pathToFileURL } from 'node:url'
for (const f of process.argv.slice(2)) {
  console.log('@@start ' + f)
  try {
    await import(pathToFileURL(f).href)
    console.log('@@done ' + f)
  } catch (err) {
    console.log('@@error ' + f + ' ' + JSON.stringify(err instanceof Error ? err.stack : String(err)))
  }
}
`,
  )
  writeFileSync(join(programs, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true }, include: ['block-*.ts'] }, null, 2))
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  const [r, types] = await Promise.all([
    run(process.execPath, ['--import', 'tsx', runner, ...files], programs, { CLUSTER_SECRET: 'a secret for the README test' }),
    run(process.execPath, [tsc, '-p', join(programs, 'tsconfig.json')], programs),
  ])
  t.equal(r.code, 0, `the blocks' process exited 0${r.code === 0 ? '' : `: ${tail(r.stderr)}`}`)
  for (const [i, b] of progs.entries()) {
    const f = files[i]
    const error = new RegExp(`^@@error ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (.*)$`, 'm').exec(r.stdout)
    t.ok(r.stdout.includes(`@@done ${f}\n`), `${label(b)} ran${error ? `: ${JSON.parse(error[1])}` : ''}`)
  }
  for (const { b, re } of expects) t.match(r.stdout, re, `${label(b)} did what the README says (${re.source})`)
  t.equal(types.code, 0, `the ts blocks type-check${types.code === 0 ? '' : `:\n${tail(types.stdout + types.stderr, 3000)}`}`)
  t.end()
})

// ---- sh blocks ---------------------------------------------------------------

const cliProcesses = new Set<ChildProcessWithoutNullStreams>()

/** A command-line node started as `npx simple-scuttle <args>` would, from this repository's sources. */
class CliNode {
  readonly proc: ChildProcessWithoutNullStreams
  out = ''
  err = ''
  code: number | null | undefined = undefined
  readonly exited: Promise<void>
  constructor(
    readonly args: string[],
    cwd: string,
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'lib/cli/main.ts'), ...args], { cwd })
    cliProcesses.add(this.proc)
    this.proc.stdout.setEncoding('utf8').on('data', (d: string) => (this.out += d))
    this.proc.stderr.setEncoding('utf8').on('data', (d: string) => (this.err += d))
    this.proc.stdin.on('error', () => {})
    this.exited = new Promise((done) =>
      this.proc.on('close', (code) => {
        cliProcesses.delete(this.proc)
        this.code = code
        done()
      }),
    )
  }
  flag(name: string): string | undefined {
    const i = this.args.indexOf(name)
    return i === -1 ? undefined : this.args[i + 1]
  }
  send(line: string): void {
    this.proc.stdin.write(line + '\n')
  }
}

/** Wait until `cond` holds or the node exits; the process limit bounds it. */
async function waitOn(node: CliNode, cond: () => boolean, what: string, every = 10): Promise<void> {
  const limit = Date.now() + PROCESS_LIMIT_MS
  while (!cond()) {
    if (node.code !== undefined) throw new Error(`${what}: the node exited (${node.code}): ${tail(node.err)}`)
    if (Date.now() > limit) throw new Error(`${what}: not within ${PROCESS_LIMIT_MS} ms`)
    await new Promise((r) => setTimeout(r, every))
  }
}

/** Commands of a sh block: continuation lines joined, comments and blank lines dropped. */
function commands(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '')
}

async function runShellBlock(t: test.Test, b: Block): Promise<void> {
  const cmds = commands(b.text)
  // The README's ports, each replaced by a free one (the same one wherever it appears in the block).
  const ports = new Map<string, number>()
  for (const m of b.text.matchAll(/(?:--port |--ws-port |:)(7\d\d\d)\b/g)) if (!ports.has(m[1])) ports.set(m[1], await freePort())
  const subst = (s: string) => s.replace(/\b7\d\d\d\b/g, (p) => String(ports.get(p) ?? p))
  const nodes: CliNode[] = []
  try {
    for (const raw of cmds) {
      const cmd = subst(raw)
      if (cmd.startsWith('npx simple-scuttle ')) {
        const node = new CliNode(cmd.slice('npx simple-scuttle '.length).split(/\s+/), shell)
        nodes.push(node)
        await waitOn(node, () => /^listening on /m.test(node.out), `${label(b)}: ${raw}`)
        t.pass(`${label(b)}: started: ${raw}`)
        continue
      }
      if (cmd.startsWith('openssl ') && cmd.includes('node-a')) {
        // "then one certificate per node": the same commands for node-b too.
        for (const c of [cmd, cmd.replace(/node-a/g, 'node-b').replace(/IP:10\.0\.0\.1/, 'IP:10.0.0.2')]) {
          const r = await run('sh', ['-c', c], shell)
          t.equal(r.code, 0, `${label(b)}: ${c.length > 100 ? c.slice(0, 100) + '...' : c}${r.code === 0 ? '' : `: ${tail(r.stderr)}`}`)
        }
        continue
      }
      if (cmd.startsWith('printf ') && cmd.includes('node-a')) {
        for (const c of [cmd, cmd.replace(/node-a/g, 'node-b').replace(/IP:10\.0\.0\.1/, 'IP:10.0.0.2')]) {
          const r = await run('sh', ['-c', c], shell)
          t.equal(r.code, 0, `${label(b)}: ${c.slice(0, 100)}`)
        }
        continue
      }
      const r = await run('sh', ['-c', cmd], shell)
      t.equal(r.code, 0, `${label(b)}: ${raw}${r.code === 0 ? '' : `: ${tail(r.stderr + r.stdout)}`}`)
      if (/^npm start\b/.test(raw)) t.match(r.stderr + r.stdout, /converged:\s+yes/, `${label(b)}: the demo cluster converged`)
    }
    // Nodes with --peer connect to it, and a write at one is read at the other.
    for (const node of nodes) {
      const peer = node.flag('--peer')
      if (peer === undefined) continue
      const other = nodes.find((n) => peer.endsWith(':' + n.flag('--port')))
      if (other === undefined) {
        t.fail(`${label(b)}: no node of the block listens on ${peer}`)
        continue
      }
      await waitOn(node, () => /^connected: /m.test(node.err), `${label(b)}: ${node.flag('--id')} connecting to ${peer}`)
      const key = `readme-${node.flag('--id')}`
      other.send(`set ${key} "from ${other.flag('--id')}"`)
      await waitOn(node, () => {
        node.send(`get ${key}`)
        return node.out.includes(`${key} = "from ${other.flag('--id')}"`)
      }, `${label(b)}: ${key} to reach ${node.flag('--id')}`, 100)
      t.pass(`${label(b)}: ${node.flag('--id')} connected to ${other.flag('--id')} and read its write`)
    }
    // Nodes with --seed list every seed's node alive (`members`, text mode).
    for (const node of nodes) {
      const seeds = node.args.flatMap((a, i) => (node.args[i - 1] === '--seed' ? [a] : []))
      for (const seed of seeds) {
        const other = nodes.find((n) => seed.endsWith(':' + n.flag('--port')))
        if (other === undefined) {
          t.fail(`${label(b)}: no node of the block listens on ${seed}`)
          continue
        }
        const alive = new RegExp(`^${other.flag('--id')} alive `, 'm')
        await waitOn(node, () => {
          node.send('members')
          return alive.test(node.out)
        }, `${label(b)}: ${node.flag('--id')} to list ${other.flag('--id')} alive`, 100)
        t.pass(`${label(b)}: ${node.flag('--id')} joined through ${other.flag('--id')} and lists it alive`)
      }
    }
    for (const node of nodes) {
      const data = node.flag('--data')
      if (data !== undefined) t.ok(existsSync(join(shell, data, 'log.ndjson')), `${label(b)}: ${node.flag('--id')} keeps its log in ${data}`)
    }
  } catch (err) {
    t.fail(`${label(b)}: ${(err as Error).message}`)
  } finally {
    for (const node of nodes) node.send('quit')
    await Promise.all(nodes.map((n) => n.exited))
    for (const node of nodes) t.equal(node.code, 0, `${label(b)}: ${node.flag('--id')} stopped with quit, exit 0${node.code === 0 ? '' : `: ${tail(node.err)}`}`)
  }
}
