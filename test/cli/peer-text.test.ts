/**
 * Text from peers never reaches the operator's terminal raw in text mode:
 * ids, keys, values, source ids, member addresses and the reasons that
 * quote them are shown with control characters (C0, DEL, C1), line and
 * paragraph separators and bidi controls escaped, so a peer can neither
 * drive the terminal nor forge a line of the node's log. `--json` output
 * stays JSON.
 */
import test from 'tape'
import * as net from 'node:net'
import { formatResult } from '../../lib/cli/commands.ts'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

/** Any character a terminal or a log reader may act on, besides the newline that ends a line. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
const FORGED = 'refused 10.0.0.9:7001: wrong cluster secret (forged)'
const EVIL_ID = `x\n${FORGED}\n\u001b]0;owned\u0007\u001b[2J\u001b[31mred`
const EVIL_KEY = 'k\u001b[2J\u001b[H\u009b1m\u2028\u202eevil'

test('formatResult in text mode: peer strings in keys, get, peers and members come out escaped', (t) => {
  const outs = [
    formatResult({ ok: true, cmd: 'keys', keys: [EVIL_KEY, 'plain', '"quoted'] }, false),
    formatResult({ ok: true, cmd: 'get', key: EVIL_KEY, found: true, value: { t: 'a\u2028b\u007f\u0085' }, version: 5, source_id: EVIL_ID }, false),
    formatResult({ ok: true, cmd: 'get', key: EVIL_KEY, found: false, value: null, version: null, deleted: false }, false),
    formatResult({ ok: true, cmd: 'set', key: EVIL_KEY, value: '\u202e', version: 1, applied: true }, false),
    formatResult({ ok: true, cmd: 'del', key: EVIL_KEY, existed: true, version: 2 }, false),
    formatResult({ ok: true, cmd: 'peers', peers: [{ id: EVIL_ID, address: '127.0.0.1:1', direction: 'in', bytesIn: 1, bytesOut: 2 }] }, false),
    formatResult({ ok: true, cmd: 'members', members: [{ id: EVIL_ID, state: 'alive', address: 'h\u001b[2J:1', generation: 1, heartbeat: 2, phi: 0, self: false }] }, false),
  ]
  for (const out of outs) {
    t.notOk(UNSAFE.test(out), `no raw control character: ${JSON.stringify(out).slice(0, 80)}`)
    t.notOk(out.includes('\n'), 'one line')
  }
  t.equal(outs[0], `${JSON.stringify(EVIL_KEY).replace(/\u009b|\u2028|\u202e/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))} plain "\\"quoted"`, 'keys: an unsafe key quoted and escaped, a plain one as it is')
  t.ok(outs[1].endsWith(`from ${JSON.stringify(EVIL_ID)})`), 'get: the source id quoted')
  t.ok(outs[1].includes('{"t":"a\\u2028b\\u007f\\u0085"}'), 'get: a value as JSON with the separator, DEL and C1 escaped too')
  t.ok(outs[6].startsWith(`${JSON.stringify(EVIL_ID)} alive "h\\u001b[2J:1" generation 1`), 'members: id and address quoted')
  t.equal(formatResult({ ok: true, cmd: 'get', key: 'k', found: true, value: 1, version: 5, source_id: 'a b' }, false), 'k = 1 (version 5 from a b)', 'plain text is left as it is')
  t.end()
})

test('a CLI node in text mode: a peer\'s id, keys and invalid objects reach its output escaped', async (t) => {
  const cli = new CliProcess(['--id', 'victim', '--interval', '200'])
  const line = await waitFor(() => cli.lines.find((l) => l.startsWith('listening on ')), 20_000, 'listening line')
  const port = Number(/:(\d+)$/.exec(line)![1])
  const s = net.connect(port, '127.0.0.1')
  s.on('error', () => {})
  s.resume()
  await new Promise((r) => s.once('connect', r))
  s.write(JSON.stringify({ hello: 1, id: EVIL_ID, cluster: 'simple-scuttle', time: Date.now() }) + '\n')
  s.write(JSON.stringify({ key: EVIL_KEY, value: 1, source_id: 'evil', version: Date.now() * 1000 }) + '\n')
  s.write(JSON.stringify({ key: 'k2', value: 1, source_id: 'evil', version: 'not a number' }) + '\n')
  s.write(JSON.stringify({ digest: true, done: true }) + '\n')
  await waitFor(() => cli.stderr.includes('invalid object'), 10_000, 'the invalid object logged')
  cli.send('keys')
  await waitFor(() => cli.lines.find((l) => l.startsWith('"k')), 10_000, 'the keys answer')
  s.destroy()
  await waitFor(() => cli.stderr.includes('disconnected: '), 10_000, 'the disconnect line')
  cli.proc.kill('SIGTERM')
  await cli.exited
  const all = cli.stderr + cli.lines.join('\n')
  t.notOk(UNSAFE.test(all), 'no raw control character in stdout or stderr')
  t.notOk(cli.stderr.split('\n').some((l) => l.startsWith(FORGED)), 'no forged line')
  t.ok(cli.stderr.includes(`connected: ${JSON.stringify(EVIL_ID)} (`), 'the connected line quotes the id')
  t.ok(cli.stderr.includes(`disconnected: ${JSON.stringify(EVIL_ID)}: `), 'the disconnected line quotes the id')
  t.ok(/invalid object: update version/.test(cli.stderr), 'the invalid object is logged')
  t.end()
})

process.on('exit', () => killAll())
