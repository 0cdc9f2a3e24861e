/**
 * The CLI with secured links, as child processes on loopback: nodes with
 * the same cluster secret (given as text or in a file) replicate; a node
 * with another secret, or a plain one, is refused; mutual TLS through the
 * `connect` command; TLS files that cannot be used exit 2. Every child is
 * killed at the end, whatever happened.
 */
import test from 'tape'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'
import * as fs from 'node:fs'
import * as os from 'node:os'
import { join } from 'node:path'
import { makeTestPki } from '../support/certs.ts'

const tmp = fs.mkdtempSync(join(os.tmpdir(), 'scuttle-cli-tls-'))

/** A node process with `--json`, read line by line. */
class Cli extends CliProcess {
  nextJson(pred: (m: Record<string, any>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, any>> {
    return waitFor(() => this.json().find(pred), timeoutMs, `${what} (stderr: ${this.stderr.slice(-500)})`)
  }

  listening(): Promise<Record<string, any>> {
    return this.nextJson((m) => m.event === 'listening', 'listening', 20_000)
  }

  /** Send `get key` until the node holds a value; resolves with the get result. */
  async valueAt(key: string, timeoutMs = 15_000): Promise<Record<string, any>> {
    let asked = 0
    return waitFor(
      () => {
        const gets = this.json().filter((m) => m.cmd === 'get' && m.key === key)
        const found = gets.find((m) => m.found)
        if (found) return found
        if (gets.length === asked) {
          asked++
          this.send(`get ${key}`)
        }
        return undefined
      },
      timeoutMs,
      `${key} at a node`,
    )
  }

  async quit(): Promise<number | null> {
    this.send('quit')
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

const base = ['--json', '--interval', '100']

test('--secret: two nodes replicate a set; another secret and a plain node are refused', async (t) => {
  const secretFile = join(tmp, 'cluster.secret')
  fs.writeFileSync(secretFile, 'blue-whale-42\n')
  const a = new Cli(['--id', 'a', ...base, '--secret', 'blue-whale-42'])
  const listening = await a.listening()
  t.equal(listening.tls, 'secret', 'the node reports TLS-PSK links')
  const b = new Cli(['--id', 'b', ...base, '--secret-file', secretFile, '--peer', `127.0.0.1:${listening.port}`])
  await b.listening()
  const conn = await b.nextJson((m) => m.event === 'connect', 'connect event')
  t.deepEqual([conn.id, conn.direction], ['a', 'out'], 'b (secret from a file, trailing newline ignored) connects to a')

  a.send('set greeting {"text": "hello"}')
  const got = await b.valueAt('greeting')
  t.deepEqual([got.value, got.source_id], [{ text: 'hello' }, 'a'], "b holds a's value")

  const c = new Cli(['--id', 'c', ...base, '--secret', 'another-secret', '--peer', `127.0.0.1:${listening.port}`])
  const refusedAtA = await a.nextJson((m) => m.event === 'refused', 'refusal at a')
  t.equal(refusedAtA.reason, 'wrong cluster secret (PSK identity "simple-scuttle")', 'a refuses c: wrong cluster secret')
  const refusedAtC = await c.nextJson((m) => m.event === 'refused', 'refusal at c')
  t.equal(refusedAtC.reason, 'wrong cluster secret', 'c refuses a too')
  await c.nextJson((m) => m.event === 'log' && /wrong cluster secret; retrying in \d+ ms/.test(m.message), 'retry log at c')
  t.pass('c logs why and retries')
  c.send('get greeting')
  const atC = await c.nextJson((m) => m.cmd === 'get', 'get at c')
  t.equal(atC.found, false, 'c received nothing')

  const p = new Cli(['--id', 'p', ...base, '--peer', `127.0.0.1:${listening.port}`])
  await a.nextJson((m) => m.event === 'refused' && m.reason === 'the peer does not speak TLS (plain TCP?)', 'plain refusal')
  t.pass('a refuses a plain node')
  a.send('peers')
  const peers = await a.nextJson((m) => m.cmd === 'peers', 'peers')
  t.deepEqual(
    peers.peers.map((x: { id: string }) => x.id),
    ['b'],
    'a is connected to b only',
  )
  for (const n of [a, b, c, p]) t.equal(await n.quit(), 0, 'quit exits 0')
  // Each refusal at the listener is one line: the 'refused' event, not also a 'log' line.
  const refusals = a.json().filter((m) => m.event === 'refused')
  const mentions = a.json().filter((m) => /wrong cluster secret|does not speak TLS/.test(JSON.stringify(m)))
  t.ok(refusals.length >= 2, `a refused ${refusals.length} links`)
  t.equal(mentions.length, refusals.length, 'and printed each refusal once')
  t.end()
})

test('text mode: the listener prints a TLS refusal on one stderr line, and its repeats are counted, not printed', async (t) => {
  const a = new Cli(['--id', 'a', '--interval', '100', '--secret', 'blue-whale-42'])
  const port = Number(await waitFor(() => /listening on 127\.0\.0\.1:(\d+)/.exec(a.lines.join('\n'))?.[1], 20_000, 'listening line'))
  const c = new Cli(['--id', 'c', ...base, '--secret', 'another-secret', '--peer', `127.0.0.1:${port}`])
  // c redials with backoff: wait until it was refused three times.
  await waitFor(() => c.json().filter((m) => m.event === 'log' && /wrong cluster secret; retrying/.test(String(m.message))).length >= 3, 20_000, 'three refusals seen by c')
  t.equal(await c.quit(), 0, 'c quits')
  a.send('quit')
  t.equal(await a.exited, 0, 'a quits')
  const lines = a.stderr.split('\n').filter((l) => l.includes('wrong cluster secret'))
  t.equal(lines.length, 1, 'a printed one line about the wrong secret for three refusals within 10 s')
  t.match(lines[0], /^refused 127\.0\.0\.1:\d+: wrong cluster secret \(PSK identity "simple-scuttle"\)$/, 'naming the address and the reason')
  t.end()
})

test('mutual TLS: the connect command dials with the node\'s certificates', async (t) => {
  const pki = makeTestPki()
  try {
    const files = (name: 'a' | 'b') => {
      const n = name === 'a' ? pki.nodeA : pki.nodeB
      fs.writeFileSync(join(tmp, `${name}.crt`), n.cert)
      fs.writeFileSync(join(tmp, `${name}.key`), n.key)
      return ['--tls-cert', join(tmp, `${name}.crt`), '--tls-key', join(tmp, `${name}.key`), '--tls-ca', join(pki.dir, 'cluster-ca.crt')]
    }
    const a = new Cli(['--id', 'a', ...base, ...files('a')])
    const { port, tls } = await a.listening()
    t.equal(tls, 'certificate', 'the node reports mutual TLS')
    const b = new Cli(['--id', 'b', ...base, ...files('b')])
    await b.listening()
    b.send(`connect 127.0.0.1:${port}`)
    await b.nextJson((m) => m.event === 'connect' && m.id === 'a', 'connect event')
    b.send('set colour "green"')
    const got = await a.valueAt('colour')
    t.equal(got.value, 'green', "a holds b's value")
    for (const n of [a, b]) t.equal(await n.quit(), 0, 'quit exits 0')
  } finally {
    pki.remove()
  }
  t.end()
})

test('TLS files that cannot be used exit 2 with the reason', async (t) => {
  const empty = join(tmp, 'empty.secret')
  fs.writeFileSync(empty, '\n')
  const notPem = join(tmp, 'not.pem')
  fs.writeFileSync(notPem, 'hello')
  const missing = join(tmp, 'missing.crt')
  const pki = makeTestPki()
  fs.writeFileSync(join(tmp, 'ok.crt'), pki.nodeA.cert)
  fs.writeFileSync(join(tmp, 'ok.key'), pki.nodeA.key)
  const good = ['--tls-cert', join(tmp, 'ok.crt'), '--tls-key', join(tmp, 'ok.key')]
  const cases: [string[], RegExp][] = [
    [['--secret-file', empty], /--secret-file .*empty\.secret is empty/],
    [['--secret-file', tmp], /cannot read --secret-file .*: is a folder/],
    [['--tls-cert', missing, '--tls-key', notPem, '--tls-ca', notPem], /cannot read --tls-cert .*missing\.crt: no such file/],
    [['--tls-cert', notPem, '--tls-key', notPem, '--tls-ca', join(pki.dir, 'cluster-ca.crt')], /tls: cannot load the certificate, key or CA/],
    [['--tls-cert', notPem], /--tls-cert, --tls-key and --tls-ca go together/],
    // A CA file that holds no certificate (the CA's key, or not PEM at all): refused naming the file.
    [[...good, '--tls-ca', join(pki.dir, 'cluster-ca.key')], /--tls-ca .*cluster-ca\.key holds no certificate .*private key/],
    [[...good, '--tls-ca', notPem], /--tls-ca .*not\.pem holds no certificate/],
  ]
  for (const [args, message] of cases) {
    const cli = new Cli(['--id', 'x', ...args])
    t.equal(await cli.exited, 2, `${args[0]}: exit 2`)
    t.match(cli.stderr, message, `says ${message}`)
    t.equal(cli.lines.join(''), '', 'nothing on stdout (it never listened)')
  }
  pki.remove()
  t.end()
})

test.onFinish(() => {
  killAll()
  fs.rmSync(tmp, { recursive: true, force: true })
})
process.on('exit', () => {
  killAll()
})
