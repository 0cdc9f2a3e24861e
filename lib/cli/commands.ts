/**
 * The node's command language: one line in, one result object out.
 *
 * `runCommand` never throws and never prints: a bad line gives
 * `{ok: false, cmd, error}`. `formatResult` turns a result into human text or
 * one JSON line. The only side effects are on the `Gossip` (set, del) and the
 * `Network` (connect).
 */
import { createHash } from 'node:crypto'
import type { JsonValue } from '../core/types.ts'
import { sortKeys } from '../protocol/canonical.ts'
import type { StoreStatus } from '../store/log-store.ts'
import type { Gossip } from '../stream/gossip.ts'
import { connect, type Dialer } from '../transport/tcp.ts'
import type { Network } from '../transport/network.ts'
import type { TlsOptions } from '../transport/tls.ts'
import { parseHostPort } from './args.ts'
import { memberCounts, memberRow, membersText } from './members.ts'
import { escapeUnsafe, safeJson, shown } from '../transport/safe-text.ts'

export interface CommandContext {
  readonly gossip: Gossip
  readonly network: Network
  /** Outbound peers by "host:port", so that one address is dialled once. */
  readonly dialers: Map<string, Dialer>
  /** TLS for dialled peers, the same as the node's listener; undefined for plain TCP. */
  readonly tls: TlsOptions | undefined
  /** The node's log (with --data): `stats` shows whether it takes writes. */
  readonly store?: { status(): StoreStatus }
}

/** A command that did its work; the other fields depend on `cmd`. */
export interface CommandOk {
  ok: true
  cmd: string
  [field: string]: unknown
}

/** A command that changed nothing, and why. */
export interface CommandError {
  ok: false
  cmd: string
  error: string
}

export type CommandResult = CommandOk | CommandError

export const COMMANDS: readonly string[] = [
  'set <key> <value>   write a value (JSON if it parses, else the text as a string)',
  'get <key>           read a value',
  'del <key>           delete a key (a tombstone that replicates)',
  'keys                list the live keys',
  'peers               list connected peers',
  'members             list cluster members and their state (with --seed/--members)',
  'connect <host:port> keep a connection to a peer',
  'stats               counts, bytes and a hash of the state',
  'help                this list',
  'quit                close the network and exit',
]

/** Create the context for a node; `tls` secures the links it dials; `store` is its log, if any. */
export function commandContext(gossip: Gossip, network: Network, tls?: TlsOptions, store?: { status(): StoreStatus }): CommandContext {
  return store === undefined ? { gossip, network, dialers: new Map(), tls } : { gossip, network, dialers: new Map(), tls, store }
}

/** Keep a connection to `host:port` (once per address); returns the dialer and whether it is new. */
export function dialOnce(ctx: CommandContext, host: string, port: number): { dialer: Dialer; fresh: boolean } {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  const known = ctx.dialers.get(address)
  if (known !== undefined) return { dialer: known, fresh: false }
  const dialer = connect(ctx.network, { host, port, tls: ctx.tls })
  ctx.dialers.set(address, dialer)
  return { dialer, fresh: true }
}

/**
 * sha256 (hex) of the node's live records, as JSON of the `[key, version,
 * source_id, value]` tuples sorted by key, object keys in values sorted
 * (their order is not part of a value: signatures and fingerprints ignore
 * it, and a relay may change it). Two nodes hold the same live state
 * exactly when their hashes are equal. Tombstones are left out: the
 * node that wrote one keeps it, the others forget it after the grace period.
 */
export function stateHash(gossip: Gossip): string {
  const rows = [...gossip.records()]
    .filter((r) => r.deleted !== true)
    .map((r) => [r.key, r.version, r.source_id, sortKeys(r.value)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex')
}

/**
 * The first token of `text` and the rest (trimmed at the start). A token is a
 * run of non-space characters, or a JSON string literal (for keys with
 * spaces: `get "a key"`). Null when `text` is blank or the literal is broken.
 */
function token(text: string): [string, string] | null {
  const s = text.trimStart()
  if (s === '') return null
  if (s[0] === '"') {
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '\\') i++
      else if (s[i] === '"') {
        try {
          return [JSON.parse(s.slice(0, i + 1)) as string, s.slice(i + 1).trimStart()]
        } catch {
          return null
        }
      }
    }
    return null
  }
  const m = /^(\S+)\s*([\s\S]*)$/.exec(s)!
  return [m[1], m[2]]
}

/** JSON when `text` parses as JSON, else `text` itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const fail = (cmd: string, error: string): CommandResult => ({ ok: false, cmd, error })

/** The one key argument of `cmd`, or an error result. */
function oneKey(cmd: string, rest: string): string | CommandResult {
  const t = token(rest)
  if (t === null) return fail(cmd, rest.trim() === '' ? `${cmd} needs a key: ${cmd} <key>` : `${cmd}: bad quoted key`)
  if (t[1] !== '') return fail(cmd, `${cmd} takes one key, got extra text ${JSON.stringify(t[1])}`)
  return t[0]
}

function noArgs(cmd: string, rest: string): CommandResult | null {
  return rest.trim() === '' ? null : fail(cmd, `${cmd} takes no arguments`)
}

/** Run one command line against the node. */
export function runCommand(ctx: CommandContext, line: string): CommandResult {
  const first = token(line)
  if (first === null) return fail('', 'empty command (try help)')
  const cmd = first[0].toLowerCase()
  try {
    return dispatch(ctx, cmd, first[1])
  } catch (err) {
    return fail(cmd, err instanceof Error ? err.message : String(err))
  }
}

function dispatch(ctx: CommandContext, cmd: string, rest: string): CommandResult {
  const { gossip, network } = ctx
  switch (cmd) {
    case 'set': {
      const t = token(rest)
      if (t === null || t[1] === '') return fail(cmd, 'set needs a key and a value: set <key> <value>')
      const [key, text] = t
      const before = gossip.version
      const value = parseValue(text)
      gossip.set(key, value as JsonValue)
      const rec = gossip.record(key)
      const applied = rec !== undefined && rec.source_id === gossip.id && rec.version > before
      return { ok: true, cmd, key, value, version: rec?.version ?? null, applied }
    }
    case 'get': {
      const key = oneKey(cmd, rest)
      if (typeof key !== 'string') return key
      const rec = gossip.record(key)
      if (rec === undefined || rec.deleted === true) {
        return { ok: true, cmd, key, found: false, value: null, version: rec?.version ?? null, deleted: rec !== undefined }
      }
      return { ok: true, cmd, key, found: true, value: rec.value, version: rec.version, source_id: rec.source_id }
    }
    case 'del': {
      const key = oneKey(cmd, rest)
      if (typeof key !== 'string') return key
      const existed = gossip.get(key).version !== -Infinity
      gossip.del(key)
      return { ok: true, cmd, key, existed, version: gossip.record(key)?.version ?? null }
    }
    case 'keys':
      return noArgs(cmd, rest) ?? { ok: true, cmd, keys: [...gossip.keys()].sort() }
    case 'peers':
      return noArgs(cmd, rest) ?? { ok: true, cmd, peers: peerRows(network) }
    case 'members':
      return noArgs(cmd, rest) ?? { ok: true, cmd, members: network.members().map(memberRow) }
    case 'connect': {
      const t = token(rest)
      if (t === null) return fail(cmd, 'connect needs an address: connect <host:port>')
      if (t[1] !== '') return fail(cmd, 'connect takes one address')
      const hp = parseHostPort(t[0])
      if (typeof hp === 'string') return fail(cmd, `connect: address ${hp}, got ${JSON.stringify(t[0])}`)
      const { dialer, fresh } = dialOnce(ctx, hp.host, hp.port)
      return { ok: true, cmd, address: dialer.address, dialing: fresh, connected: dialer.connected }
    }
    case 'stats':
      return noArgs(cmd, rest) ?? stats(ctx)
    case 'help':
      return { ok: true, cmd, commands: COMMANDS }
    case 'quit':
      return noArgs(cmd, rest) ?? { ok: true, cmd }
    default:
      return fail(cmd, `unknown command ${JSON.stringify(cmd)} (try help)`)
  }
}

function peerRows(network: Network): { id: string; address: string; direction: string; bytesIn: number; bytesOut: number }[] {
  return network.peers.map((p) => ({ id: p.id, address: p.address, direction: p.direction, bytesIn: p.bytesIn, bytesOut: p.bytesOut }))
}

function stats(ctx: CommandContext): CommandResult {
  const { gossip, network } = ctx
  const peers = network.peers
  let records = 0
  for (const _ of gossip.records()) records++
  let keys = 0
  for (const _ of gossip.keys()) keys++
  const { applied, rejected, redundant, invalid, invalidByReason, streams } = gossip.stats
  return {
    ok: true,
    cmd: 'stats',
    id: gossip.id,
    keys,
    records,
    version: gossip.version,
    peers: peers.length,
    bytesIn: peers.reduce((n, p) => n + p.bytesIn, 0),
    bytesOut: peers.reduce((n, p) => n + p.bytesOut, 0),
    applied,
    rejected,
    redundant,
    invalid,
    invalidByReason,
    streams,
    ...(ctx.store === undefined ? {} : { store: ctx.store.status() }),
    ...(network.membership === null ? {} : { members: memberCounts(network) }),
    hash: stateHash(gossip),
  }
}

/**
 * A result as one JSON line (`json`) or as text for people (one line,
 * except `help`). In text, keys, values, ids and addresses (a peer's
 * words) are shown safe for a terminal (`safe-text.ts`).
 */
export function formatResult(r: CommandResult, json: boolean): string {
  if (json) return JSON.stringify(r)
  if (!r.ok) return `error: ${escapeUnsafe(r.error)}`
  const v = safeJson
  const k = (key: unknown) => (typeof key === 'string' && /^[^\s"]+$/.test(key) ? shown(key) : v(key))
  const s = (x: unknown) => shown(String(x))
  switch (r.cmd) {
    case 'set':
      return r.applied ? `ok ${k(r.key)} = ${v(r.value)} (version ${r.version})` : `not applied: ${k(r.key)} holds a winning value`
    case 'get':
      return r.found ? `${k(r.key)} = ${v(r.value)} (version ${r.version} from ${s(r.source_id)})` : `${k(r.key)}: ${r.deleted ? 'deleted' : 'not found'}`
    case 'del':
      return `deleted ${k(r.key)}${r.existed ? '' : ' (it held no value)'}`
    case 'keys': {
      const keys = r.keys as string[]
      return keys.length === 0 ? '(no keys)' : keys.map(k).join(' ')
    }
    case 'peers': {
      const peers = r.peers as ReturnType<typeof peerRows>
      if (peers.length === 0) return '(no peers)'
      return peers.map((p) => `${s(p.id)} ${s(p.address)} ${p.direction} (in ${p.bytesIn} B, out ${p.bytesOut} B)`).join('; ')
    }
    case 'connect':
      return `${r.dialing ? 'dialling' : 'already dialling'} ${s(r.address)}${r.connected ? ' (connected)' : ''}`
    case 'stats':
      return (
        `keys ${r.keys}, records ${r.records}, version ${r.version}, peers ${r.peers}, ` +
        `bytes in ${r.bytesIn} out ${r.bytesOut}, applied ${r.applied}, rejected ${r.rejected}, ` +
        `redundant ${r.redundant}, invalid ${r.invalid}, streams ${r.streams}, ${storeText(r.store as StoreStatus | undefined)}` +
        `${membersStats(r.members as Record<string, number> | undefined)}hash ${r.hash}`
      )
    case 'members':
      return membersText(r.members as Record<string, unknown>[])
    case 'help':
      return 'commands:\n' + (r.commands as string[]).map((c) => '  ' + c).join('\n')
    case 'quit':
      return 'bye'
    default:
      return v(r)
  }
}

/** The store's part of the `stats` line: whether the log takes writes. */
function storeText(s: StoreStatus | undefined): string {
  if (s === undefined) return ''
  return s.degraded ? `store degraded, read-only (${escapeUnsafe(String(s.error))}), ` : 'store ok, '
}

/** The membership part of the `stats` line: member counts by state. */
function membersStats(c: Record<string, number> | undefined): string {
  if (c === undefined) return ''
  return `members ${c.total} (alive ${c.alive}, suspect ${c.suspect}, dead ${c.dead}, left ${c.left}), `
}
