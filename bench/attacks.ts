/**
 * Resource use of a node under three attacks, measured from outside:
 *
 *   node --import tsx bench/attacks.ts [--lib <folder of an older lib/>]
 *
 * - connections: 1,500 connections that send a hello and then nothing, and
 *   500 that send nothing at all; then an honest peer tries to connect.
 * - slow readers: the node holds 200,000 keys; 1,500 peers say hello, ask
 *   for everything, and never read.
 * - invalid flood: one peer sends 1,000,000 lines of `{}`.
 *
 * For each: the victim's RSS and CPU seconds before and after, its log
 * lines, whether it dropped the attackers, whether an honest peer got in.
 * The victim runs with a file descriptor limit of `--nofile` (default 1,024,
 * a common default: ulimit -n).
 * Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as net from 'node:net'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { resolve } from 'node:path'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const lib = resolve(arg('lib', resolve(import.meta.dirname, '../lib')))
const nofile = Number(arg('nofile', '1024'))
const root = resolve(import.meta.dirname, '..')

interface Stats {
  rss: number
  cpu: number
  logs: number
  invalid: number
  peers: number
}

class Victim {
  readonly proc: ChildProcess
  private waiting: ((s: Stats) => void)[] = []
  port = 0
  ready: Promise<void>
  exited = false
  constructor(keys: number) {
    this.proc = spawn('bash', ['-c', `ulimit -n ${nofile}; exec "${process.execPath}" --import tsx bench/attack-victim.ts --lib "${lib}" --keys ${keys}`], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
    this.proc.on('exit', () => (this.exited = true))
    this.ready = new Promise((done) => {
      createInterface({ input: this.proc.stdout! }).on('line', (line) => {
        const o = JSON.parse(line)
        if (o.port !== undefined) {
          this.port = o.port
          done()
        } else this.waiting.shift()?.({ ...o, ...this.fromProc() })
      })
    })
  }
  stats(): Promise<Stats | null> {
    if (this.exited) return Promise.resolve(null)
    return new Promise((done) => {
      this.waiting.push(done)
      this.proc.stdin!.write('stats\n')
      setTimeout(() => done(null), 5000)
    })
  }
  kill(): void {
    this.proc.kill('SIGKILL')
  }
  /** RSS and CPU seconds read from /proc, outside the victim: it may have no descriptor left to read them itself. */
  private fromProc(): { rss: number; cpu: number } | Record<string, never> {
    try {
      const pid = this.proc.pid
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return { rss, cpu: (Number(f[11]) + Number(f[12])) / 100 }
    } catch {
      return {}
    }
  }
}

const hello = (id: string) => JSON.stringify({ hello: 1, id, cluster: 'simple-scuttle', time: Date.now() }) + '\n'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function open(port: number): Promise<net.Socket | null> {
  return new Promise((done) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => done(s))
    s.on('error', () => done(null))
  })
}

/** An honest peer's try: connect, hello, and wait for the node's hello back. */
async function honestGetsIn(port: number): Promise<boolean> {
  const s = await open(port)
  if (s === null) return false
  return new Promise((done) => {
    let data = ''
    const t = setTimeout(() => done(false), 3000)
    s.on('data', (d) => {
      data += d
      if (data.includes('"hello"')) {
        clearTimeout(t)
        s.destroy()
        done(true)
      }
    })
    s.on('close', () => done(false))
    s.write(hello('honest'))
  })
}

const mb = (n: number) => (n / 1048576).toFixed(0)
const rows: string[] = []
function row(name: string, before: Stats | null, after: Stats | null, extra: string): void {
  const b = before === null ? '-' : `${mb(before.rss)} MB, ${before.cpu.toFixed(1)} s`
  const a = after === null ? 'node died' : `${mb(after.rss)} MB, ${after.cpu.toFixed(1)} s, ${after.logs} log lines`
  rows.push(`| ${name} | ${b} | ${a} | ${extra} |`)
}

async function connections(): Promise<void> {
  const v = new Victim(1000)
  await v.ready
  const before = await v.stats()
  const socks: net.Socket[] = []
  for (let i = 0; i < 2000; i++) {
    const s = await open(v.port)
    if (s === null) continue
    s.on('error', () => {})
    if (i < 1500) s.write(hello(`flood${i}`))
    socks.push(s)
  }
  await sleep(1000)
  const during = await v.stats()
  const inDuring = await honestGetsIn(v.port)
  await sleep(7000)
  const inAfter = await honestGetsIn(v.port)
  const after = await v.stats()
  const open_ = socks.filter((s) => !s.destroyed).length
  for (const s of socks) s.destroy()
  row('2,000 connections (1,500 silent after a hello)', before, after ?? during, `during: ${during ? mb(during.rss) + ' MB' : 'died'}, honest peer ${inDuring ? 'got in' : 'kept out'}; 8 s later ${inAfter ? 'gets in' : 'still kept out'}; ${open_} attacker sockets still open`)
  v.kill()
}

async function slowReaders(): Promise<void> {
  const v = new Victim(200_000)
  await v.ready
  const before = await v.stats()
  const socks: net.Socket[] = []
  for (let i = 0; i < 1500; i++) {
    const s = await open(v.port)
    if (s === null) continue
    s.on('error', () => {})
    s.pause()
    s.write(hello(`reader${i}`) + '{"digest":true,"done":true}\n')
    socks.push(s)
  }
  await sleep(3000)
  const during = await v.stats()
  await sleep(35_000)
  const after = await v.stats()
  for (const s of socks) s.destroy()
  row('1,500 peers ask for 200k keys and never read', before, after, `RSS 3 s in: ${during ? mb(during.rss) + ' MB' : 'died'}; peers still connected after 38 s: ${after?.peers ?? '-'}`)
  v.kill()
}

async function invalidFlood(): Promise<void> {
  const v = new Victim(1000)
  await v.ready
  const before = await v.stats()
  const s = await open(v.port)
  let sent = 0
  if (s !== null) {
    s.on('error', () => {})
    s.write(hello('flooder'))
    const chunk = '{}\n'.repeat(10_000)
    while (sent < 1_000_000 && !s.destroyed) {
      if (!s.write(chunk)) await new Promise<void>((r) => (s.once('drain', r), s.once('close', r)))
      sent += 10_000
    }
  }
  await sleep(1000)
  const after = await v.stats()
  row('1,000,000 lines of {}', before, after, `lines the flooder got out: ${sent.toLocaleString('en-US')}; invalid objects processed: ${after?.invalid.toLocaleString('en-US') ?? '-'}`)
  s?.destroy()
  v.kill()
}

await connections()
await slowReaders()
await invalidFlood()
console.log(`library: ${lib}; victim file descriptor limit ${nofile}\n`)
console.log('| attack | victim before | victim after | notes |')
console.log('|---|---|---|---|')
for (const r of rows) console.log(r)
process.exit(0)
