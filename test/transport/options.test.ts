/** Network, listen and connect check their arguments: a clear error naming the value, or a warning for an unknown option. */
import test from 'tape'
import * as nodeFs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Network, connect, connectWebSocket, join, listen, listenWebSocket, type Listener } from '../../lib/net.ts'
import type { Gossip } from '../../lib/index.ts'
import { node } from '../support/streams.ts'
import { warningsOf } from '../support/warnings.ts'

/** `${name}: ${message}` of what `f` throws or rejects with, or 'no error' (a listener it made is closed). */
async function failure(f: () => unknown): Promise<string> {
  try {
    const made = await f()
    await (made as Listener | undefined)?.close?.()
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`
  }
  return 'no error'
}

test('listen and listenWebSocket: a port that is no integer from 0 to 65535 is a RangeError, never a pipe name', async (t) => {
  const net = new Network(node('a'))
  // A string was taken by Node as the name of a Unix socket to create: one in a folder of our own.
  const pipe = path.join(nodeFs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-port-')), 'abc')
  for (const [port, shown] of [[pipe, JSON.stringify(pipe)], ['8000', '"8000"'], [99999, '99999'], [-1, '-1'], [1.5, '1.5'], [NaN, 'NaN']] as const) {
    t.equal(await failure(() => listen(net, { port: port as number })), `RangeError: listen: port must be an integer from 0 to 65535, got ${shown}`, `listen port ${shown}`)
    t.equal(await failure(() => listenWebSocket(net, { port: port as number })), `RangeError: listenWebSocket: port must be an integer from 0 to 65535, got ${shown}`, `listenWebSocket port ${shown}`)
  }
  t.notOk(nodeFs.existsSync(pipe), 'no Unix socket was created')
  const any = await listen(net, { port: undefined as unknown as number })
  t.ok(any.port > 0, 'port undefined: a free port, as 0')
  await net.close()
  t.end()
})

test('connect: a missing host or port says what is missing; a host no dial could reach is a TypeError; a port out of range is a RangeError', async (t) => {
  const net = new Network(node('a'))
  const cases: [object, string][] = [
    [{ host: '127.0.0.1' }, 'TypeError: connect: port is missing: give { host: "127.0.0.1", port }, the peer\'s TCP port (1 to 65535)'],
    [{ port: 4000 }, "TypeError: connect: host is missing: give { host, port }, the peer's address and TCP port"],
    [{ host: '', port: 4000 }, 'TypeError: connect: host must be a non-empty string, got ""'],
    [{ host: '[', port: 4000 }, 'TypeError: connect: host "[" is neither an IP address nor a host name'],
    [{ host: '[::1]', port: 4000 }, 'TypeError: connect: host "[::1]" is in brackets: give an IPv6 address without them (host: "::1")'],
    [{ host: 'peer:4000', port: 4000 }, 'TypeError: connect: host "peer:4000" is neither an IP address nor a host name'],
    [{ host: 'ws://peer', port: 4000 }, 'TypeError: connect: host "ws://peer" is neither an IP address nor a host name'],
    [{ host: 'a b', port: 4000 }, 'TypeError: connect: host "a b" is neither an IP address nor a host name'],
    [{ host: `${'a'.repeat(254)}`, port: 4000 }, 'TypeError: connect: host "' + 'a'.repeat(254) + '" is longer than a host name may be (253 characters)'],
    [{ host: '127.0.0.1', port: 0 }, 'RangeError: connect: port must be an integer from 1 to 65535, got 0'],
    [{ host: '127.0.0.1', port: '4000' }, 'RangeError: connect: port must be an integer from 1 to 65535, got "4000"'],
    [{ host: '127.0.0.1', port: 70000 }, 'RangeError: connect: port must be an integer from 1 to 65535, got 70000'],
  ]
  for (const [opts, message] of cases) {
    t.equal(await failure(() => connect(net, opts as { host: string; port: number }).stop()), message, JSON.stringify(opts))
  }
  await net.close()
  t.end()
})

test('new Network: the first argument must be a Gossip; an unknown option is a warning naming the nearest one', async (t) => {
  for (const [arg, shown] of [[{}, 'an object'], [undefined, 'undefined'], ['a', '"a"']] as const) {
    t.equal(
      await failure(() => new Network(arg as unknown as Gossip)),
      `TypeError: new Network(gossip, options): the first argument must be a Gossip (new Gossip(id, config)), got ${shown}`,
      `new Network(${shown})`,
    )
  }
  let net: Network | undefined
  const seen = await warningsOf(() => (net = new Network(node('a'), { intervall: 5, fanOut: 3, mine: 1 } as object)))
  t.deepEqual(seen, [
    'ConfigWarning: simple-scuttle: Network option intervall is not an option of new Network; it is ignored (did you mean interval?)',
    'ConfigWarning: simple-scuttle: Network option fanOut is not an option of new Network; it is ignored (did you mean fanout?)',
    'ConfigWarning: simple-scuttle: Network option mine is not an option of new Network; it is ignored',
  ])
  t.equal(net!.scheduler.interval, 1000, 'the misspelt option changed nothing')
  await net!.close()
  const known = await warningsOf(() => void new Network(node('b'), { interval: 50, fanout: 1, cluster: 'c', backoff: {} }).close())
  t.deepEqual(known, [], 'known options: no warning')
  t.end()
})

test('new Network: a bad number, wire or cluster names the option and shows the value given', (t) => {
  const g = node('opts-values')
  const error = (opts: object) => {
    try {
      new Network(g, opts).close()
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`
    }
    return 'no error'
  }
  t.equal(error({ maxConnections: 0 }), 'RangeError: Network option maxConnections must be a positive number, got 0')
  t.equal(error({ helloTimeout: '5s' }), 'RangeError: Network option helloTimeout must be a positive number, got "5s"')
  t.equal(error({ maxLineLength: -1 }), 'RangeError: Network option maxLineLength must be a positive number, got -1')
  t.equal(error({ idleTimeout: Number.NaN }), 'RangeError: Network option idleTimeout must be a positive number, got NaN')
  t.equal(error({ wire: 3 }), 'RangeError: Network option wire must be 1 or 2, got 3')
  t.equal(error({ cluster: '' }), 'TypeError: Network option cluster must be a non-empty string, got ""')
  t.equal(error({ cluster: 7 }), 'TypeError: Network option cluster must be a non-empty string, got 7')
  t.equal(error({ interval: 0 }), 'RangeError: interval must be a positive number of ms, got 0')
  t.equal(error({ interval: '1s' }), 'RangeError: interval must be a positive number of ms, got "1s"')
  // A number as a string, or a wait no timer can hold (Node fires those after 1 ms), is no interval.
  t.equal(error({ interval: '1000' }), 'RangeError: interval must be a positive number of ms, got "1000"')
  t.equal(error({ interval: Infinity }), 'RangeError: interval must be a positive number of ms up to 2147483647 (the longest timer), got Infinity')
  t.equal(error({ interval: 2 ** 31 }), 'RangeError: interval must be a positive number of ms up to 2147483647 (the longest timer), got 2147483648')
  t.equal(error({ interval: 2 ** 31 - 1 }), 'no error', 'the longest timer is an interval')
  t.equal(error({ fanout: 1.5 }), 'RangeError: fanout must be a positive integer, got 1.5')
  // A backoff that would redial at once, or never, is refused before any dial.
  t.equal(error({ backoff: 5 }), 'TypeError: new Network: backoff must be an object { initial, max, factor }, got 5')
  t.equal(error({ backoff: { initial: 0 } }), 'RangeError: new Network: backoff.initial must be above 0 ms, got 0')
  t.equal(error({ backoff: { initial: '100' } }), 'RangeError: new Network: backoff.initial must be a finite number, got "100"')
  t.equal(error({ backoff: { factor: 0.5 } }), 'RangeError: new Network: backoff.factor must be at least 1, got 0.5')
  t.equal(error({ backoff: { max: Infinity } }), 'RangeError: new Network: backoff.max must be a finite number, got Infinity')
  t.equal(error({ backoff: { initial: 500, max: 200 } }), 'RangeError: new Network: backoff.max must be at least backoff.initial (500 ms), got 200')
  t.equal(error({ backoff: { initial: 50, max: 50, factor: 1 } }), 'no error', 'a constant backoff is taken')
  t.equal(error({ helloTimeout: 100, maxLineLength: 4096, cluster: 'c' }), 'no error', 'good values are taken')
  t.end()
})

test('connect, connectWebSocket and join: options that are not an object, a bad url or advertise are clear errors; unknown keys are warnings', async (t) => {
  const net = new Network(node('dial-keys'))
  const { WebSocket } = await import('ws')
  t.equal(await failure(() => connectWebSocket(net, undefined as unknown as { url: string })), 'TypeError: connectWebSocket: options must be { url }, got undefined')
  for (const [url, shown] of [[undefined, 'undefined'], ['', '""'], ['127.0.0.1:7000', '"127.0.0.1:7000"'], ['ftp://x', '"ftp://x"']] as const) {
    t.equal(
      await failure(() => connectWebSocket(net, { url: url as unknown as string, WebSocket })),
      `TypeError: connectWebSocket: url must be a ws:// or wss:// URL (http:// and https:// are taken as ws:// and wss://), got ${shown}`,
      `url ${shown}`,
    )
  }
  t.equal(await failure(() => join(net, undefined as unknown as { advertise: string })), 'TypeError: join: options must be { advertise, seeds }, got undefined')
  t.equal(await failure(() => join(net, {} as { advertise: string })), 'TypeError: join: advertise must be "host:port", where other nodes dial this one, got undefined')
  t.equal(await failure(() => join(net, { advertise: '127.0.0.1:1', seeds: '127.0.0.1:2' as unknown as string[] })), 'TypeError: join: seeds must be an array of "host:port" strings, got "127.0.0.1:2"')
  t.equal(await failure(() => join(net, { advertise: '127.0.0.1:1', view: 0 })), 'RangeError: membership view must be a positive integer, got 0')
  const seen = await warningsOf(() => {
    connect(net, { host: '127.0.0.1', port: 9, timeout: 5 } as object as { host: string; port: number }).stop()
    connectWebSocket(net, { url: 'ws://127.0.0.1:9/', WebSocket, tokn: 'x' } as object as { url: string }).stop()
  })
  t.deepEqual(seen, [
    'ConfigWarning: simple-scuttle: connect option timeout is not an option of connect; it is ignored',
    'ConfigWarning: simple-scuttle: connectWebSocket option tokn is not an option of connectWebSocket; it is ignored (did you mean token?)',
  ])
  const net2 = new Network(node('join-keys'))
  const joined = await warningsOf(() => void join(net2, { advertise: '127.0.0.1:1', seed: ['127.0.0.1:2'] } as object as { advertise: string }))
  t.deepEqual(joined, ['ConfigWarning: simple-scuttle: join option seed is not an option of join; it is ignored (did you mean seeds?)'])
  await net.close()
  await net2.close()
  t.end()
})
