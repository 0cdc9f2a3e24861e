/**
 * Log volume does not follow an attacker's connection rate: a peer that
 * connects, says hello, sends one invalid object and hangs up, 400 times,
 * makes a CLI node print a bounded number of lines (connects and
 * disconnects in full up to a budget per 10 s, then one line per kind with
 * a count; invalid objects one line per host every 10 s).
 */
import test from 'tape'
import * as net from 'node:net'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

test('400 short connections with an invalid object each: the node prints a bounded number of lines', async (t) => {
  const v = new CliProcess(['--id', 'v', '--json', '--port', '0'])
  try {
    const port = (await waitFor(() => v.json().find((m) => m.event === 'listening'), 30_000, 'listening')).port as number
    const before = v.lines.length
    let helloBack = 0
    const N = 400
    for (let i = 0; i < N; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          new Promise<void>((done) => {
            const s = net.connect({ host: '127.0.0.1', port }, () => {
              s.write(JSON.stringify({ hello: 1, id: `m${i + j}`, cluster: 'simple-scuttle', time: Date.now() }) + '\n{}\n')
            })
            let got = ''
            s.on('data', (d) => {
              got += d
              if (got.includes('"hello"')) {
                helloBack++
                s.destroy()
              }
            })
            s.on('error', () => {})
            s.on('close', () => done())
          }),
        ),
      )
    }
    t.ok(helloBack > N / 2, `the node answered ${helloBack} of ${N} hellos (the flood reached it)`)
    v.send('stats')
    await waitFor(() => v.json().find((m) => m.cmd === 'stats'), 10_000, 'stats')
    const printed = v.lines.slice(before).filter((l) => !l.includes('"cmd":"stats"'))
    t.ok(printed.length <= 60, `${printed.length} lines printed for ${N} connections (at most 60)`)
    v.send('quit')
    t.equal(await v.exited, 0, 'the node quits normally')
  } finally {
    killAll()
  }
})
