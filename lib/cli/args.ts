/**
 * Command-line flags of the `simple-scuttle` node.
 *
 * `parseCliArgs` is pure: it never reads `process`, prints or exits. Every
 * problem comes back as one sentence naming the flag and what was given.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_LIMITS } from '../protocol/validate.ts'
import { addressProblem } from '../membership/record.ts'
import { MEMBER_LIMITS } from '../membership/types.ts'
import { parseHostPort, type HostPort } from '../transport/host-port.ts'

/**
 * How links are secured, as given on the command line (files are read by
 * main.ts): mutual TLS with certificate files, or a cluster secret given
 * as text or in a file.
 */
export type TlsFlags =
  | { kind: 'certificate'; certFile: string; keyFile: string; caFile: string }
  | { kind: 'secret'; secret: string }
  | { kind: 'secret-file'; secretFile: string }

/** A TCP address to dial. */
export type { HostPort }
export { parseHostPort }

export interface CliOptions {
  /** This node's id (its `source_id` on the wire). Empty only with `help`. */
  id: string
  /** Port to listen on; 0 picks a free one. */
  port: number
  host: string
  /** Peers to keep a connection to, in the order given. */
  peers: HostPort[]
  /**
   * Cluster membership (`--seed`, or `--members` on a first node): members
   * learnt by gossip, failure detection, a bounded view. Absent without it.
   */
  membership?: MembershipFlags
  /** Cluster name; undefined means the network's default. */
  cluster: string | undefined
  /** Gossip round interval, ms. */
  interval: number
  /** Peers contacted per round. */
  fanout: number
  /** Most updates one exchange sends. */
  mtu: number
  /** Folder of the node's log; undefined keeps state in memory only. */
  data: string | undefined
  /** When an applied update is on disk (with `data`). */
  durability: 'write' | 'batch' | 'none'
  /** Open a damaged log by keeping its valid part (with `data`). */
  repair: boolean
  /** Tombstones are forgotten this long after they were applied, ms. */
  grace: number
  /** TLS for every link (listening, --peer and `connect`); undefined means plain TCP. */
  tls: TlsFlags | undefined
  /** Port to accept WebSocket peers on (browsers); absent: none. */
  wsPort?: number
  /** Token WebSocket peers must offer; absent: none. */
  wsToken?: string
  /** Highest wire format offered to TCP peers (2: frames where the peer offers them too); absent: 1, ndjson. */
  wire?: 1 | 2
  /** Most inbound connections at once; absent: the network's default (256). */
  maxConnections?: number
  /** Most inbound connections from one host; absent: the network's default (`maxConnections`). */
  maxConnectionsPerHost?: number
  /** Most sources (node ids and generations) tracked; absent: the default (`limits.maxSources`, 65,536). */
  maxSources?: number
  /** Machine output: one JSON object per line on stdout. */
  json: boolean
  /** Print the usage and exit. */
  help: boolean
}

/** The membership flags. */
export interface MembershipFlags {
  /** Seed addresses to join through, in the order given. */
  seeds: HostPort[]
  /** The address other nodes dial to reach this one; undefined: the listener's. */
  advertise: HostPort | undefined
  /** Outbound links kept to members (the view). */
  view: number
  /** Phi at which a member is declared dead. */
  phi: number
}

export type ParseResult = { ok: true; options: CliOptions } | { ok: false; error: string }

export const USAGE = `Usage: simple-scuttle --id <id> [options]

A key/value node that replicates its state with its peers (Scuttlebutt gossip).
Commands are read from stdin, one per line (type "help" for the list).

Options:
  --id <id>            this node's unique id (required)
  --port <n>           TCP port to listen on; 0 picks a free one (default 0)
  --host <addr>        address to listen on (default 127.0.0.1)
  --peer <host:port>   a peer to connect to; repeat for several
  --seed <host:port>   join a cluster through this seed (repeat for several;
                       host names are resolved again every minute); turns
                       on cluster membership: members learnt by gossip,
                       failure detection, a bounded view of links
  --members            cluster membership without seeds (the first node)
  --advertise <h:p>    the address other members dial to reach this node
                       (default the listening address)
  --view <n>           outbound links kept to members (default 6)
  --phi <n>            phi at which a silent member is declared dead (default 8)
  --cluster <name>     cluster name; peers of another cluster are refused
  --interval <ms>      gossip round interval (default 1000)
  --fanout <n>         peers contacted per round (default 2)
  --mtu <n>            most updates one exchange sends (default 100)
  --data <dir>         keep state in an append-only log in <dir> (survives restarts)
  --durability <mode>  with --data: write (fsync each update), batch (fsync
                       every 10 ms, default) or none
  --repair             with --data: load a damaged log by keeping its valid
                       part (what is dropped is reported)
  --grace <ms>         keep tombstones of deleted keys this long (default 86400000)
  --wire <1|2>         2: binary frames with peers that offer them too, ndjson
                       with the others (not with --seed or --members: links
                       that carry membership speak ndjson); 1: ndjson always
                       (default 1)
  --max-connections <n>
                       most inbound connections at once (default 256)
  --max-connections-per-host <n>
                       most of them from one address, so that one host cannot
                       take every slot (default: --max-connections)
  --max-sources <n>    most writers (node ids and their generations) this node
                       keeps track of; records of one more are refused
                       (default 65536)
  --tls-cert <file>    mutual TLS: this node's certificate (PEM), signed by the CA
  --tls-key <file>     mutual TLS: its private key (PEM)
  --tls-ca <file>      mutual TLS: the cluster CA (PEM); peers must present a
                       certificate it signed (the three --tls-* go together)
  --secret <text>      encrypt and authenticate every link with a cluster
                       secret (TLS-PSK); every node needs the same one
  --secret-file <file> the cluster secret, read from a file (not shown by ps);
                       --secret* and --tls-* exclude each other
  --ws-port <n>        also accept WebSocket peers (browsers) on this port; 0
                       picks a free one; wss:// with --tls-cert and --tls-key
  --ws-token <text>    WebSocket peers must offer this token (required with
                       --secret*, as browsers cannot use the cluster secret)
  --json               machine output: one JSON object per line on stdout
  -h, --help           print this help

Exit codes: 0 normal, 1 unexpected error, 2 bad flags (unreadable TLS files
included), 3 cannot listen, 4 cannot open the data folder.`

const SPEC = {
  id: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  peer: { type: 'string', multiple: true },
  seed: { type: 'string', multiple: true },
  members: { type: 'boolean' },
  advertise: { type: 'string' },
  view: { type: 'string' },
  phi: { type: 'string' },
  cluster: { type: 'string' },
  interval: { type: 'string' },
  fanout: { type: 'string' },
  mtu: { type: 'string' },
  data: { type: 'string' },
  durability: { type: 'string' },
  repair: { type: 'boolean' },
  grace: { type: 'string' },
  wire: { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-host': { type: 'string' },
  'max-sources': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  'ws-port': { type: 'string' },
  'ws-token': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

class FlagError extends Error {}

/** An integer in [min, max] written in plain decimal digits, or a FlagError. */
export function intFlag(name: string, raw: string, min: number, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = /^-?\d+$/.test(raw) ? ' (out of range)' : ''
    throw new FlagError(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}${range}`)
  }
  return n
}

/** Flags whose value is a number: `--port -1` is a value there, not a flag. */
const NUMERIC_FLAGS = new Set(['port', 'interval', 'fanout', 'mtu', 'grace', 'ws-port', 'wire', 'view', 'phi', 'max-connections', 'max-connections-per-host', 'max-sources'])

/**
 * `--port -1` as `--port=-1`, so that a negative number reaches `intFlag`
 * and is refused as out of range; node:util's parseArgs would take `-1` for
 * a flag and say that `--port` has no value.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const flag = /^--([a-z-]+)$/.exec(argv[i]!)?.[1]
    const next = argv[i + 1]
    if (flag !== undefined && NUMERIC_FLAGS.has(flag) && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${flag}=${next}`)
      i++
    } else out.push(argv[i]!)
  }
  return out
}

/** `host:port`, the host in brackets when it is an IPv6 address. */
export function hostPortText(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`
}

function nonEmpty(name: string, raw: string): string {
  if (raw.trim() === '') throw new FlagError(`--${name} must not be empty`)
  return raw
}

/** Rewrites node:util's parse errors as one short sentence about the flag. */
function parseArgsError(err: { code?: string; message: string }): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? ''
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag}`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim()
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(err.message) ? `${flag} does not take a value` : `${flag} needs a value`
    default:
      return err.message
  }
}

function durabilityFlag(raw: string | undefined): CliOptions['durability'] {
  if (raw === undefined) return 'batch'
  if (raw === 'write' || raw === 'batch' || raw === 'none') return raw
  throw new FlagError(`--durability must be write, batch or none, got ${JSON.stringify(raw)}`)
}

type TlsValues = Partial<Record<'tls-cert' | 'tls-key' | 'tls-ca' | 'secret' | 'secret-file', string>>

/** The TLS mode chosen by the flags: all three --tls-* flags, or one --secret flag, or none. */
function tlsFlags(values: TlsValues): TlsFlags | undefined {
  const certFlags = (['tls-cert', 'tls-key', 'tls-ca'] as const).filter((f) => values[f] !== undefined)
  const secretFlags = (['secret', 'secret-file'] as const).filter((f) => values[f] !== undefined)
  if (certFlags.length > 0 && secretFlags.length > 0) {
    throw new FlagError(`--${secretFlags[0]} cannot be combined with --${certFlags[0]}: use certificates or a cluster secret, not both`)
  }
  if (secretFlags.length === 2) throw new FlagError('--secret and --secret-file cannot be combined: give the secret one way')
  if (values.secret !== undefined) return { kind: 'secret', secret: nonEmpty('secret', values.secret) }
  if (values['secret-file'] !== undefined) return { kind: 'secret-file', secretFile: nonEmpty('secret-file', values['secret-file']) }
  if (certFlags.length === 0) return undefined
  const missing = (['tls-cert', 'tls-key', 'tls-ca'] as const).filter((f) => values[f] === undefined)
  if (missing.length > 0) {
    throw new FlagError(`--tls-cert, --tls-key and --tls-ca go together; missing ${missing.map((f) => '--' + f).join(' and ')}`)
  }
  return {
    kind: 'certificate',
    certFile: nonEmpty('tls-cert', values['tls-cert']!),
    keyFile: nonEmpty('tls-key', values['tls-key']!),
    caFile: nonEmpty('tls-ca', values['tls-ca']!),
  }
}

/** Parse the node's flags (`argv` without the node binary and script). */
export function parseCliArgs(argv: string[]): ParseResult {
  let parsed
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), options: SPEC, strict: true, allowPositionals: false, tokens: true })
  } catch (err) {
    return { ok: false, error: parseArgsError(err as { code?: string; message: string }) }
  }
  const { values, tokens } = parsed
  const seen = new Set<string>()
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === 'peer' || t.name === 'seed') continue
    if (seen.has(t.name)) return { ok: false, error: `--${t.name} given more than once` }
    seen.add(t.name)
  }
  const help = values.help === true
  try {
    const id = values.id ?? ''
    if (!help) {
      if (values.id === undefined) throw new FlagError('--id is required')
      if (id.trim() === '' || /\s/.test(id)) throw new FlagError(`--id must be non-empty, without spaces, got ${JSON.stringify(id)}`)
      if (id.length > DEFAULT_LIMITS.maxIdLength) throw new FlagError(`--id must be at most ${DEFAULT_LIMITS.maxIdLength} characters`)
    }
    const peers = (values.peer ?? []).map((raw) => {
      const hp = parseHostPort(raw)
      if (typeof hp === 'string') throw new FlagError(`--peer ${hp}, got ${JSON.stringify(raw)}`)
      return hp
    })
    const seeds = (values.seed ?? []).map((raw) => {
      const hp = parseHostPort(raw)
      if (typeof hp === 'string') throw new FlagError(`--seed ${hp}, got ${JSON.stringify(raw)}`)
      return hp
    })
    let advertise: HostPort | undefined
    if (values.advertise !== undefined) {
      const hp = parseHostPort(values.advertise)
      if (typeof hp === 'string') throw new FlagError(`--advertise ${hp}, got ${JSON.stringify(values.advertise)}`)
      // Checked as the node's membership record will be: an address its peers would refuse never gets as far as join.
      const text = hostPortText(hp)
      const max = MEMBER_LIMITS.maxAddressLength
      if (text.length > max) throw new FlagError(`--advertise must be at most ${max} characters (a membership record's address), got ${text.length}`)
      const problem = addressProblem(text, max)
      if (problem !== null) throw new FlagError(`--advertise: ${problem}, got ${JSON.stringify(values.advertise)}`)
      advertise = hp
    }
    const options: CliOptions = {
      id,
      port: values.port === undefined ? 0 : intFlag('port', values.port, 0, 65535),
      host: values.host === undefined ? '127.0.0.1' : nonEmpty('host', values.host),
      peers,
      cluster: values.cluster === undefined ? undefined : nonEmpty('cluster', values.cluster),
      interval: values.interval === undefined ? 1000 : intFlag('interval', values.interval, 1, 3_600_000),
      fanout: values.fanout === undefined ? 2 : intFlag('fanout', values.fanout, 1, 10_000),
      mtu: values.mtu === undefined ? 100 : intFlag('mtu', values.mtu, 1, 1_000_000),
      data: values.data === undefined ? undefined : nonEmpty('data', values.data),
      durability: durabilityFlag(values.durability),
      repair: values.repair === true,
      grace: values.grace === undefined ? 86_400_000 : intFlag('grace', values.grace, 1, Number.MAX_SAFE_INTEGER),
      tls: tlsFlags(values),
      json: values.json === true,
      help,
    }
    if (values.durability !== undefined && options.data === undefined) {
      throw new FlagError('--durability needs --data <dir>: without it the node keeps its state in memory only')
    }
    if (options.repair && options.data === undefined) throw new FlagError('--repair needs --data: it repairs the log in that folder')
    if (values.wire !== undefined) options.wire = intFlag('wire', values.wire, 1, 2) as 1 | 2
    if (values['max-connections'] !== undefined) options.maxConnections = intFlag('max-connections', values['max-connections'], 1, 1_000_000)
    if (values['max-connections-per-host'] !== undefined) {
      options.maxConnectionsPerHost = intFlag('max-connections-per-host', values['max-connections-per-host'], 1, 1_000_000)
    }
    if (values['max-sources'] !== undefined) options.maxSources = intFlag('max-sources', values['max-sources'], 1, 16_777_216)
    if (values['ws-port'] !== undefined) options.wsPort = intFlag('ws-port', values['ws-port'], 0, 65535)
    if (values['ws-token'] !== undefined) options.wsToken = nonEmpty('ws-token', values['ws-token'])
    if (options.wsToken !== undefined && options.wsPort === undefined) throw new FlagError('--ws-token needs --ws-port <n>: it guards the WebSocket listener')
    if (options.wsPort !== undefined && options.wsToken === undefined && options.tls !== undefined) {
      const what = options.tls.kind === 'secret' || options.tls.kind === 'secret-file' ? 'a cluster secret (TLS-PSK)' : 'client certificates (--tls-ca)'
      throw new FlagError(`--ws-port on a node that requires ${what} needs --ws-token: browsers cannot present them, so the WebSocket listener would be open to anyone`)
    }
    if (values.members === true || seeds.length > 0) {
      options.membership = {
        seeds,
        advertise,
        view: values.view === undefined ? 6 : intFlag('view', values.view, 1, 64),
        phi: values.phi === undefined ? 8 : intFlag('phi', values.phi, 1, 100),
      }
    } else {
      for (const f of ['advertise', 'view', 'phi'] as const) {
        if (values[f] !== undefined) throw new FlagError(`--${f} needs cluster membership: give --seed <host:port> (or --members on the first node)`)
      }
    }
    return { ok: true, options }
  } catch (err) {
    if (err instanceof FlagError) return { ok: false, error: err.message }
    throw err
  }
}
