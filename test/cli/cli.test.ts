/**
 * The CLI as child processes on loopback: replication between two nodes,
 * exit codes (0 quit, 2 bad flags, 3 busy port), and a node that outlives
 * its stdin. Every child is killed at the end, whatever happened.
 */
import test from 'tape'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'
import * as net from 'node:net'
import { resolve } from 'node:path'


/** A node process, with helpers for its `--json` output. */
class Cli extends CliProcess {
  /** The first JSON line (after `skip` matching ones) that matches `pred`. */
  nextJson(pred: (m: Record<string, any>) => boolean, skip = 0, timeoutMs = 15_000, what = 'a line'): Promise<Record<string, any>> {
    return waitFor(() => this.json().filter(pred)[skip], timeoutMs, `${what} (stderr: ${this.stderr.slice(-500)})`)
  }

  async port(): Promise<number> {
    return (await this.nextJson((m) => m.event === 'listening', 0, 20_000, 'listening')).port
  }
}

/** Wait for `cli` to exit; SIGKILL it after `ms`. */
async function exitOf(cli: Cli, ms = 15_000): Promise<number | null> {
  const timer = setTimeout(() => cli.proc.kill('SIGKILL'), ms)
  const code = await cli.exited
  clearTimeout(timer)
  return code
}

test('two nodes replicate over --peer; a busy port exits 3; quit exits 0', async (t) => {
  const a = new Cli(['--id', 'a', '--json', '--interval', '100'])
  const portA = await a.port()
  t.ok(portA > 0, `a listens on ${portA}`)
  const listening = await a.nextJson((m) => m.event === 'listening')
  t.deepEqual(listening, { event: 'listening', host: '127.0.0.1', port: portA, id: 'a' }, 'the listening line')

  const b = new Cli(['--id', 'b', '--json', '--interval', '100', '--peer', `127.0.0.1:${portA}`])
  await b.port()
  const conn = await b.nextJson((m) => m.event === 'connect', 0, 15_000, 'connect event')
  t.deepEqual([conn.id, conn.direction], ['a', 'out'], 'b reports its connection to a')

  a.send('set greeting {"text": "hello", "n": 1}')
  const set = await a.nextJson((m) => m.cmd === 'set')
  t.equal(set.ok, true, 'a applied the set')

  let polls = 0
  const got = await waitFor(
    () => {
      const gets = b.json().filter((m) => m.cmd === 'get')
      if (gets.length < polls) return undefined
      const last = gets[gets.length - 1]
      if (last?.found) return last
      polls++
      b.send('get greeting')
      return undefined
    },
    15_000,
    'the value at b',
  )
  t.deepEqual(got.value, { text: 'hello', n: 1 }, `b holds a's value (after ${polls} polls)`)
  t.equal(got.source_id, 'a', 'written by a')

  const busy = new Cli(['--id', 'c', '--port', String(portA)])
  t.equal(await exitOf(busy), 3, 'a node on a busy port exits 3')
  t.match(busy.stderr, new RegExp(`port ${portA} on 127\\.0\\.0\\.1 is already in use`), 'and says which port')

  a.send('quit')
  t.equal(await exitOf(a), 0, 'quit exits 0')
  t.ok(a.json().some((m) => m.cmd === 'quit' && m.ok === true), 'a answered quit')
  const gone = await b.nextJson((m) => m.event === 'disconnect', 0, 15_000, 'disconnect event')
  t.equal(gone.id, 'a', 'b reports that a went away')
  b.send('quit')
  t.equal(await exitOf(b), 0, 'b quits too')
  t.end()
})

test('bad flags exit 2 with the error and the usage on stderr', async (t) => {
  const cases: [string[], string][] = [
    [['--id', 'x', '--port', 'abc'], '--port must be an integer between 0 and 65535, got "abc"'],
    [['--port', '0'], '--id is required'],
    [['--id', 'x', '--peer', 'nowhere'], '--peer must be host:port, got "nowhere"'],
    [['--id', 'x', '--bogus'], 'unknown flag --bogus'],
    [['--id', 'x', '--port', '-1'], '--port must be an integer between 0 and 65535, got "-1" (out of range)'],
    [['--id', 'x', '--durability', 'write'], '--durability needs --data <dir>'],
  ]
  for (const [args, message] of cases) {
    const cli = new Cli(args)
    t.equal(await exitOf(cli), 2, `${args.join(' ')}: exit 2`)
    t.ok(cli.stderr.includes(message), `says: ${message}`)
    t.ok(cli.stderr.includes('Usage: simple-scuttle'), 'and prints the usage')
    t.equal(cli.lines.join(''), '', 'nothing on stdout')
  }
  const help = new Cli(['--help'])
  t.equal(await exitOf(help), 0, '--help exits 0')
  t.ok(help.lines.join('\n').includes('--peer <host:port>'), 'and prints the usage on stdout')
  t.end()
})

test('text mode; the node outlives its stdin and stops on SIGTERM', async (t) => {
  const cli = new Cli(['--id', 'svc', '--peer', '127.0.0.1:1'])
  const line = await waitFor(() => cli.lines.find((l) => l.startsWith('listening on ')), 20_000, 'listening line')
  const port = Number(/^listening on 127\.0\.0\.1:(\d+)$/.exec(line)?.[1])
  t.ok(port > 0, `text mode prints "${line}"`)
  cli.send('set k some text')
  cli.send('get k')
  await waitFor(() => cli.lines.some((l) => /^k = "some text" \(version \d{13,} from svc\)$/.test(l)), 10_000, 'get result')
  t.pass('results are printed as text')
  await waitFor(() => /127\.0\.0\.1:1: connection refused; retrying in \d+ ms/.test(cli.stderr), 10_000, 'dial log')
  t.pass('an unreachable --peer is logged on stderr, and retried')

  cli.proc.stdin.end()
  await waitFor(() => cli.stderr.includes('stdin closed; the node keeps running'), 10_000, 'stdin closed note')
  const hello = await new Promise<string>((done, fail) => {
    const s = net.connect(port, '127.0.0.1')
    let data = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => {
      data += d
      if (data.includes('\n')) {
        s.destroy()
        done(data.split('\n')[0])
      }
    })
    s.on('error', fail)
  })
  t.match(hello, /"id":"svc"/, 'after stdin ended the node still answers on its port')
  t.equal(cli.exitCode, undefined, 'and has not exited')

  cli.proc.kill('SIGTERM')
  t.equal(await exitOf(cli), 0, 'SIGTERM closes the node with exit 0')
  t.end()
})

test('--data: state survives quit and restart; a corrupt log exits 4', async (t) => {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const dir = fs.mkdtempSync(resolve(os.tmpdir(), 'scuttle-cli-data-'))
  const a = new Cli(['--id', 'keeper', '--json', '--data', dir])
  const loaded0 = await a.nextJson((m) => m.event === 'loaded', 0, 20_000, 'loaded')
  t.equal(loaded0.records, 0, 'a fresh folder loads nothing')
  a.send('set colour "blue"')
  a.send('set gone 1')
  a.send('del gone')
  await a.nextJson((m) => m.cmd === 'del', 0, 10_000, 'del result')
  a.send('quit')
  t.equal(await exitOf(a), 0, 'quit exits 0')

  const b = new Cli(['--id', 'keeper', '--json', '--data', dir])
  const loaded = await b.nextJson((m) => m.event === 'loaded', 0, 20_000, 'loaded')
  t.equal(loaded.records, 2, 'the restart loads its 2 records (one a tombstone)')
  b.send('get colour')
  const got = await b.nextJson((m) => m.cmd === 'get', 0, 10_000, 'get result')
  t.equal(got.value, 'blue', 'the value survived')
  b.send('get gone')
  const gone = await b.nextJson((m) => m.cmd === 'get', 1, 10_000, 'second get result')
  t.ok(gone.value === null || gone.value === undefined, 'the deleted key stays deleted')
  b.send('quit')
  t.equal(await exitOf(b), 0, 'quit exits 0')

  const file = resolve(dir, 'log.ndjson')
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  lines[1] = '{"broken'
  fs.writeFileSync(file, lines.join('\n'))
  const c = new Cli(['--id', 'keeper', '--json', '--data', dir])
  t.equal(await exitOf(c), 4, 'a corrupt log exits 4')
  t.match(c.stderr, /line 2 is corrupt/, 'naming the line')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test('--data that is a file, or under a file: exit 4, "not a folder"', async (t) => {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const dir = fs.mkdtempSync(resolve(os.tmpdir(), 'scuttle-cli-file-'))
  const file = resolve(dir, 'a-file')
  fs.writeFileSync(file, 'not a folder\n')
  const a = new Cli(['--id', 'x', '--json', '--data', file])
  t.equal(await exitOf(a), 4, '--data <a file>: exit 4 (cannot open the data folder)')
  t.equal(a.stderr.trim(), `simple-scuttle: cannot use --data ${file}: it is not a folder`, 'says it is not a folder')
  t.equal(a.lines.join(''), '', 'nothing on stdout')
  const b = new Cli(['--id', 'x', '--json', '--data', resolve(file, 'sub')])
  t.equal(await exitOf(b), 4, '--data <a file>/sub: exit 4')
  t.equal(b.stderr.trim(), `simple-scuttle: cannot use --data ${resolve(file, 'sub')}: ${file} is not a folder`, 'names the part that is a file')
  t.equal(fs.readFileSync(file, 'utf8'), 'not a folder\n', 'the file is left as it was')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test('--max-sources: a log naming more sources than the limit exits 4 pointing at the flag; raised, it loads', async (t) => {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const { frameLines } = await import('../../lib/store/log-format.ts')
  const dir = fs.mkdtempSync(resolve(os.tmpdir(), 'scuttle-cli-sources-'))
  const now = Date.now() * 1000
  const payloads = [JSON.stringify({ store: 2, id: 'many', gen: 'g1', file: 'f1' })]
  for (let i = 0; i < 5; i++) payloads.push(JSON.stringify({ key: 'k' + i, value: i, source_id: 'writer' + i, version: now - 1000 + i }))
  fs.writeFileSync(resolve(dir, 'log.ndjson'), Buffer.from(frameLines(payloads)))
  const a = new Cli(['--id', 'many', '--json', '--data', dir, '--max-sources', '3'])
  t.equal(await exitOf(a), 4, '5 sources with --max-sources 3: exit 4')
  t.match(a.stderr, /names more sources than limits\.maxSources allows \(3\).*Raise --max-sources to load it whole/s, 'the error names the flag to raise')
  const b = new Cli(['--id', 'many', '--json', '--data', dir, '--max-sources', '10'])
  await waitFor(() => b.json().find((e) => e.event === 'loaded'), 15_000, 'loaded')
  t.equal(b.json().find((e) => e.event === 'loaded')?.records, 5, 'with --max-sources 10: all 5 records load')
  b.send('quit')
  t.equal(await exitOf(b), 0, 'and the node runs')
  fs.rmSync(dir, { recursive: true, force: true })
  t.end()
})

test.onFinish(() => {
  killAll()
})
process.on('exit', () => {
  killAll()
})

test('refusals are rate-limited by kind: hellos naming a new cluster each time print one line, not one per connection', async (t) => {
  const a = new Cli(['--id', 'a', '--json'])
  const port = await a.port()
  const refusedLines = () => a.json().filter((m) => m.event === 'refused').length
  for (let i = 0; i < 30; i++) {
    await new Promise<void>((done) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(JSON.stringify({ hello: 1, id: 'm' + i, cluster: 'cluster-' + i + '-' + 'x'.repeat(i * 10) }) + '\n'))
      s.on('error', () => done())
      s.on('close', () => done())
      s.resume()
    })
  }
  await waitFor(() => refusedLines() >= 1, 10_000, 'a refused line')
  t.equal(refusedLines(), 1, `30 hellos with 30 different cluster names: ${refusedLines()} refused line within the 10 s window`)
  const line = a.json().find((m) => m.event === 'refused')!
  t.ok(String(line.reason).length < 200, `and the line quotes the peer's cluster name cut short (${String(line.reason).length} characters)`)
  a.send('quit')
  t.equal(await exitOf(a), 0, 'quit exits 0')
  t.end()
})

test('--max-connections and --max-connections-per-host bound inbound links: the next one is refused and logged', async (t) => {
  const all = new Cli(['--id', 'all', '--json', '--max-connections', '1'])
  const host = new Cli(['--id', 'host', '--json', '--max-connections-per-host', '1'])
  const sockets: net.Socket[] = []
  /** A peer that says hello and sends one whole message (never evicted), then stays. */
  const holder = (port: number, id: string) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(JSON.stringify({ hello: 1, id, cluster: 'simple-scuttle', time: Date.now() }) + '\n{"digest":true,"done":true}\n'))
    s.on('error', () => {})
    s.resume()
    sockets.push(s)
  }
  const logged = (cli: Cli, re: RegExp) => cli.json().find((m) => m.event === 'log' && re.test(String(m.message)))
  try {
    const [pAll, pHost] = await Promise.all([all.port(), host.port()])
    holder(pAll, 'h1')
    holder(pHost, 'h2')
    await Promise.all([all.nextJson((m) => m.event === 'connect'), host.nextJson((m) => m.event === 'connect')])
    holder(pAll, 'h3')
    holder(pHost, 'h4')
    const a = await waitFor(() => logged(all, /maxConnections\)/), 15_000, 'the refusal at --max-connections 1')
    t.match(String(a.message), /^refused a connection from 127\.0\.0\.1:\d+: 1 connections are open \(maxConnections\)$/, String(a.message))
    const h = await waitFor(() => logged(host, /maxConnectionsPerHost/), 15_000, 'the refusal at --max-connections-per-host 1')
    t.match(String(h.message), /^refused a connection from 127\.0\.0\.1:\d+: 1 connections from that host are open \(maxConnectionsPerHost\)$/, String(h.message))
    all.send('quit')
    host.send('quit')
    t.deepEqual([await exitOf(all), await exitOf(host)], [0, 0], 'both quit')
  } finally {
    for (const s of sockets) s.destroy()
  }
  t.end()
})
