/** The node's flag parser: defaults, every flag, and a clear message for each bad one. */
import test from 'tape'
import { USAGE, parseCliArgs, parseHostPort, type CliOptions } from '../../lib/cli/args.ts'

function options(argv: string[]): CliOptions {
  const r = parseCliArgs(argv)
  if (!r.ok) throw new Error(`expected ${JSON.stringify(argv)} to parse, got: ${r.error}`)
  return r.options
}

function error(argv: string[]): string {
  const r = parseCliArgs(argv)
  if (r.ok) throw new Error(`expected ${JSON.stringify(argv)} to be refused`)
  return r.error
}

test('defaults: only --id given', (t) => {
  t.deepEqual(options(['--id', 'a']), {
    id: 'a',
    port: 0,
    host: '127.0.0.1',
    peers: [],
    cluster: undefined,
    interval: 1000,
    fanout: 2,
    mtu: 100,
    data: undefined,
    durability: 'batch',
    repair: false,
    grace: 86_400_000,
    tls: undefined,
    json: false,
    help: false,
  })
  t.end()
})

test('TLS flags: certificates, a secret, or a secret file', (t) => {
  t.deepEqual(options(['--id', 'a', '--tls-cert', 'a.crt', '--tls-key=a.key', '--tls-ca', 'ca.crt']).tls, {
    kind: 'certificate',
    certFile: 'a.crt',
    keyFile: 'a.key',
    caFile: 'ca.crt',
  })
  t.deepEqual(options(['--id', 'a', '--secret', 's3cret']).tls, { kind: 'secret', secret: 's3cret' })
  t.deepEqual(options(['--id', 'a', '--secret-file', '/etc/cluster.key']).tls, { kind: 'secret-file', secretFile: '/etc/cluster.key' })
  t.match(USAGE, /--tls-cert <file>/, 'the usage lists --tls-cert')
  t.match(USAGE, /--secret-file <file>/, 'and --secret-file')
  t.end()
})

test('TLS flags: incomplete or conflicting combinations give one clear message', (t) => {
  const cases: [string[], string][] = [
    [['--tls-cert', 'a.crt'], '--tls-cert, --tls-key and --tls-ca go together; missing --tls-key and --tls-ca'],
    [['--tls-cert', 'a.crt', '--tls-key', 'a.key'], '--tls-cert, --tls-key and --tls-ca go together; missing --tls-ca'],
    [['--tls-ca', 'ca.crt'], '--tls-cert, --tls-key and --tls-ca go together; missing --tls-cert and --tls-key'],
    [['--secret', 'x', '--secret-file', 'f'], '--secret and --secret-file cannot be combined: give the secret one way'],
    [
      ['--secret', 'x', '--tls-cert', 'a', '--tls-key', 'b', '--tls-ca', 'c'],
      '--secret cannot be combined with --tls-cert: use certificates or a cluster secret, not both',
    ],
    [['--secret-file', 'f', '--tls-ca', 'c'], '--secret-file cannot be combined with --tls-ca: use certificates or a cluster secret, not both'],
    [['--secret', ''], '--secret must not be empty'],
    [['--secret', '  '], '--secret must not be empty'],
    [['--secret-file', ''], '--secret-file must not be empty'],
    [['--tls-cert', '', '--tls-key', 'b', '--tls-ca', 'c'], '--tls-cert must not be empty'],
    [['--secret'], '--secret needs a value'],
    [['--tls-key'], '--tls-key needs a value'],
    [['--secret', 'a', '--secret', 'b'], '--secret given more than once'],
    [['--tls-ca', 'a', '--tls-ca', 'b', '--tls-cert', 'c', '--tls-key', 'd'], '--tls-ca given more than once'],
  ]
  for (const [argv, message] of cases) t.equal(error(['--id', 'a', ...argv]), message, JSON.stringify(argv))
  t.end()
})

test('persistence flags', (t) => {
  const o = options(['--id', 'a', '--data', '/tmp/x', '--durability', 'write', '--grace', '5000'])
  t.equal(o.data, '/tmp/x', '--data')
  t.equal(o.durability, 'write', '--durability')
  t.equal(o.grace, 5000, '--grace')
  t.equal(error(['--id', 'a', '--durability', 'sometimes']), '--durability must be write, batch or none, got "sometimes"', 'bad durability')
  t.equal(error(['--id', 'a', '--data', '']), '--data must not be empty', 'empty data folder')
  t.equal(
    error(['--id', 'a', '--durability', 'write']),
    '--durability needs --data <dir>: without it the node keeps its state in memory only',
    '--durability without --data is refused',
  )
  t.equal(error(['--id', 'a', '--durability', 'none', '--port', '0']), '--durability needs --data <dir>: without it the node keeps its state in memory only', 'whatever the mode')
  t.equal(options(['--id', 'a', '--data', 'd', '--durability', 'none']).durability, 'none', 'with --data it is taken')
  t.equal(options(['--id', 'a', '--data', '/tmp/x', '--repair']).repair, true, '--repair')
  t.equal(error(['--id', 'a', '--repair']), '--repair needs --data: it repairs the log in that folder', '--repair without --data')
  t.equal(error(['--id', 'a', '--data', '/tmp/x', '--repair=yes']), '--repair does not take a value', '--repair takes no value')
  t.match(USAGE, /--repair {13}with --data: load a damaged log/, 'the usage lists --repair')
  t.end()
})

test('every flag, in both --flag value and --flag=value forms', (t) => {
  const o = options([
    '--id=node-1',
    '--port',
    '4000',
    '--host',
    '0.0.0.0',
    '--peer',
    '127.0.0.1:4001',
    '--peer=example.org:4002',
    '--peer',
    '[::1]:4003',
    '--cluster',
    'blue',
    '--interval=250',
    '--fanout',
    '3',
    '--mtu',
    '50',
    '--json',
  ])
  t.equal(o.id, 'node-1')
  t.equal(o.port, 4000)
  t.equal(o.host, '0.0.0.0')
  t.deepEqual(o.peers, [
    { host: '127.0.0.1', port: 4001 },
    { host: 'example.org', port: 4002 },
    { host: '::1', port: 4003 },
  ])
  t.equal(o.cluster, 'blue')
  t.equal(o.interval, 250)
  t.equal(o.fanout, 3)
  t.equal(o.mtu, 50)
  t.equal(o.json, true)
  t.equal(options(['--id', 'a', '--port', '65535']).port, 65535, 'the highest port')
  t.equal(options(['--id', 'a', '--wire', '2']).wire, 2, '--wire 2 offers frames')
  t.equal(options(['--id', 'a', '--wire=1']).wire, 1, '--wire=1')
  t.equal(options(['--id', 'a']).wire, undefined, 'no --wire: the network default (1)')
  t.end()
})

test('--help needs no --id, and -h is the same', (t) => {
  t.equal(options(['--help']).help, true)
  t.equal(options(['-h']).help, true)
  t.match(USAGE, /--peer <host:port>/, 'the usage lists the flags')
  t.end()
})

test('bad flags give one clear message each', (t) => {
  const cases: [string[], string][] = [
    [[], '--id is required'],
    [['--port', '1'], '--id is required'],
    [['--id'], '--id needs a value'],
    [['--id', ''], '--id must be non-empty, without spaces, got ""'],
    [['--id', 'a b'], '--id must be non-empty, without spaces, got "a b"'],
    [['--id', 'x'.repeat(257)], '--id must be at most 256 characters'],
    [['--id', 'a', '--port', 'abc'], '--port must be an integer between 0 and 65535, got "abc"'],
    [['--id', 'a', '--port', '65536'], '--port must be an integer between 0 and 65535, got "65536" (out of range)'],
    [['--id', 'a', '--port', '-1'], '--port must be an integer between 0 and 65535, got "-1" (out of range)'],
    [['--id', 'a', '--port=-1'], '--port must be an integer between 0 and 65535, got "-1" (out of range)'],
    [['--id', 'a', '--port', '-1.5'], '--port must be an integer between 0 and 65535, got "-1.5"'],
    [['--id', 'a', '--grace', '-5'], '--grace must be an integer between 1 and 9007199254740991, got "-5" (out of range)'],
    [['--id', 'a', '--port'], '--port needs a value'],
    [['--id', 'a', '--port', '--json'], '--port needs a value'],
    [['--id', 'a', '--cluster', '-1'], '--cluster needs a value'],
    [['--id', 'a', '--port', '1.5'], '--port must be an integer between 0 and 65535, got "1.5"'],
    [['--id', 'a', '--peer', 'x'], '--peer must be host:port, got "x"'],
    [['--id', 'a', '--peer', 'x:'], '--peer needs a port between 1 and 65535, got "x:"'],
    [['--id', 'a', '--peer', 'x:0'], '--peer needs a port between 1 and 65535, got "x:0"'],
    [['--id', 'a', '--peer', 'x:70000'], '--peer needs a port between 1 and 65535, got "x:70000"'],
    [['--id', 'a', '--peer', ':4000'], '--peer must be host:port, got ":4000"'],
    [['--id', 'a', '--interval', '0'], '--interval must be an integer between 1 and 3600000, got "0" (out of range)'],
    [['--id', 'a', '--fanout', 'two'], '--fanout must be an integer between 1 and 10000, got "two"'],
    [['--id', 'a', '--mtu', '0'], '--mtu must be an integer between 1 and 1000000, got "0" (out of range)'],
    [['--id', 'a', '--wire', '3'], '--wire must be an integer between 1 and 2, got "3" (out of range)'],
    [['--id', 'a', '--wire', 'binary'], '--wire must be an integer between 1 and 2, got "binary"'],
    [['--id', 'a', '--host', ''], '--host must not be empty'],
    [['--id', 'a', '--cluster', ' '], '--cluster must not be empty'],
    [['--id', 'a', '--verbose'], 'unknown flag --verbose'],
    [['--id', 'a', '-x'], 'unknown flag -x'],
    [['--id', 'a', 'extra'], 'unexpected argument extra'],
    [['--id', 'a', '--json=yes'], '--json does not take a value'],
    [['--id', 'a', '--port', '1', '--port', '2'], '--port given more than once'],
    [['--id', 'a', '--id', 'b'], '--id given more than once'],
  ]
  for (const [argv, message] of cases) t.equal(error(argv), message, JSON.stringify(argv))
  t.end()
})

test('connection limits: --max-connections and --max-connections-per-host', (t) => {
  const o = options(['--id', 'a', '--max-connections', '64', '--max-connections-per-host=4'])
  t.equal(o.maxConnections, 64, '--max-connections')
  t.equal(o.maxConnectionsPerHost, 4, '--max-connections-per-host')
  const d = options(['--id', 'a'])
  t.deepEqual([d.maxConnections, d.maxConnectionsPerHost], [undefined, undefined], 'absent: the network defaults (256, and no bound of its own per host)')
  t.equal(error(['--id', 'a', '--max-connections', '0']), '--max-connections must be an integer between 1 and 1000000, got "0" (out of range)')
  t.equal(error(['--id', 'a', '--max-connections-per-host', '-1']), '--max-connections-per-host must be an integer between 1 and 1000000, got "-1" (out of range)')
  t.equal(error(['--id', 'a', '--max-connections', 'many']), '--max-connections must be an integer between 1 and 1000000, got "many"')
  t.equal(error(['--id', 'a', '--max-connections']), '--max-connections needs a value')
  t.equal(error(['--id', 'a', '--max-connections', '2', '--max-connections', '3']), '--max-connections given more than once')
  t.match(USAGE, /--max-connections <n>\n +most inbound connections at once/, 'the usage lists --max-connections')
  t.match(USAGE, /--max-connections-per-host <n>\n +most of them from one address/, 'and --max-connections-per-host')
  t.end()
})

test('--max-sources sets limits.maxSources', (t) => {
  t.equal(options(['--id', 'a', '--max-sources', '100000']).maxSources, 100_000, '--max-sources')
  t.equal(options(['--id', 'a']).maxSources, undefined, 'absent: the default')
  t.equal(error(['--id', 'a', '--max-sources', '0']), '--max-sources must be an integer between 1 and 16777216, got "0" (out of range)')
  t.match(USAGE, /--max-sources <n> +most writers/, 'the usage lists it')
  t.end()
})

test('parseHostPort', (t) => {
  t.deepEqual(parseHostPort('localhost:80'), { host: 'localhost', port: 80 })
  t.deepEqual(parseHostPort('[fe80::1]:9'), { host: 'fe80::1', port: 9 })
  t.equal(parseHostPort('::1:80'), 'must be host:port', 'a bare IPv6 address needs brackets')
  t.equal(parseHostPort('a:b'), 'needs a port between 1 and 65535')
  t.end()
})

test('membership flags: --seed (repeatable) or --members turns it on, with --advertise, --view and --phi', (t) => {
  t.equal(options(['--id', 'a']).membership, undefined, 'off without --seed or --members')
  t.deepEqual(options(['--id', 'a', '--members']).membership, { seeds: [], advertise: undefined, view: 6, phi: 8 }, '--members alone: the defaults, no seed')
  t.deepEqual(
    options(['--id', 'a', '--seed', '10.0.0.1:7000', '--seed=[::1]:7001', '--advertise', 'node-a.local:7000', '--view', '4', '--phi=12']).membership,
    { seeds: [{ host: '10.0.0.1', port: 7000 }, { host: '::1', port: 7001 }], advertise: { host: 'node-a.local', port: 7000 }, view: 4, phi: 12 },
    'two seeds in order, an address to advertise, a view of 4, phi 12',
  )
  t.match(error(['--id', 'a', '--seed', 'nowhere']), /^--seed must be host:port, got "nowhere"/, 'a seed without a port')
  t.match(error(['--id', 'a', '--members', '--view', '0']), /--view must be an integer between 1 and 64/, '--view 0')
  t.match(error(['--id', 'a', '--members', '--phi', '-3']), /--phi must be an integer between 1 and 100/, 'a negative --phi')
  t.equal(error(['--id', 'a', '--view', '4']), '--view needs cluster membership: give --seed <host:port> (or --members on the first node)', '--view without membership')
  t.match(error(['--id', 'a', '--members', '--members']), /--members given more than once/, '--members twice')
  t.match(USAGE, /--seed <host:port>/, 'the usage lists --seed')
  t.match(USAGE, /--members /, 'and --members')
  t.end()
})
