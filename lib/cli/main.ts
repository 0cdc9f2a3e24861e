/**
 * The `simple-scuttle` node process: a `Gossip` with last-write-wins, a
 * `Network` listening on TCP and dialling its `--peer`s, and a command line
 * on stdin (see `commands.ts`).
 *
 * Output: results on stdout (text, or one JSON object per line with
 * `--json`); network events on stderr as text, or on stdout as
 * `{"event": ...}` lines with `--json`.
 *
 * Lifetime: the node runs until `quit`, SIGINT or SIGTERM, then closes the
 * network (and its log, with --data) and exits 0. The end of stdin does not
 * stop it, so it can run as a service with stdin closed. Exit codes:
 * 0 normal, 1 unexpected error or a failed join (what was opened is
 * closed first), 2 bad flags (TLS files that cannot be read or loaded
 * included), 3 cannot listen, 4 cannot open the data folder (for instance
 * a corrupt log).
 *
 * With `--tls-*` or `--secret*`, the listener and every dialled peer
 * (`--peer`, `connect`) use the same TLS mode.
 */
import * as readline from 'node:readline'
import { base } from '../base.ts'
import { Gossip } from '../stream/gossip.ts'
import { openDurable } from '../store/durable.ts'
import { notAFolder } from '../store/not-a-folder.ts'
import type { LogStore } from '../store/log-store.ts'
import { Network } from '../transport/network.ts'
import { ListenError, listen } from '../transport/tcp.ts'
import { listenWebSocket, type WebSocketListener } from '../transport/websocket.ts'
import type { TlsOptions } from '../transport/tls.ts'
import { USAGE, parseCliArgs, type CliOptions } from './args.ts'
import { commandContext, dialOnce, formatResult, runCommand, type CommandContext } from './commands.ts'
import { joinCluster } from './members.ts'
import { loadTls } from './tls-files.ts'
import { escapeUnsafe } from '../transport/safe-text.ts'
import { reportEvents } from './events.ts'

const EXIT_OK = 0
const EXIT_ERROR = 1
const EXIT_USAGE = 2
const EXIT_LISTEN = 3
const EXIT_DATA = 4

/** Longest wait for the network to close on shutdown, ms. */
const CLOSE_TIMEOUT_MS = 3000

const writeOut = (line: string) => void process.stdout.write(line + '\n')
const writeErr = (line: string) => void process.stderr.write(line + '\n')

/** Write what is buffered on stdout and stderr, then exit with `code`. */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

/**
 * What the node has opened, closed on the way out whatever the way: the
 * data store (its last writes flushed, its LOCK released) and the network.
 */
const opened: { network: Network | null; store: LogStore | null; closing: Promise<boolean> | null } = { network: null, store: null, closing: null }

/** Close what is open, once (later calls get the same promise): the network within CLOSE_TIMEOUT_MS, then the store. True when the network closed in time. */
function closeOpened(): Promise<boolean> {
  opened.closing ??= (async () => {
    let clean = true
    try {
      if (opened.network !== null) clean = await closeNetwork(opened.network)
    } finally {
      opened.store?.close()
    }
    return clean
  })()
  return opened.closing
}

/** Close `network`, waiting at most CLOSE_TIMEOUT_MS. */
async function closeNetwork(network: Network): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), CLOSE_TIMEOUT_MS)))
  const done = await Promise.race([network.close().then(() => true), timeout])
  clearTimeout(timer)
  return done
}

/** The node's output: results, events and notes, in the mode chosen by `--json`. */
class Output {
  /** Set while an interactive prompt is on screen, to redraw it after an event. */
  rl: readline.Interface | null = null

  constructor(private readonly json: boolean) {}

  /** `text` may quote a peer: it is written with its control characters escaped, on one line. */
  event(name: string, fields: Record<string, unknown>, text: string): void {
    if (this.json) return writeOut(JSON.stringify({ event: name, ...fields }))
    text = escapeUnsafe(text)
    if (this.rl === null) return writeErr(text)
    process.stdout.write('\r\x1b[K')
    writeErr(text)
    this.rl.prompt(true)
  }
}

/** The log entering and leaving degraded (read-only) mode. */
function reportStore(store: LogStore, output: Output): void {
  store.on('degraded', (err) =>
    output.event('degraded', { error: err.message, code: store.status().code }, `storage degraded, writes refused until the disk works again: ${err.message}`),
  )
  store.on('recovered', () => output.event('recovered', {}, 'storage recovered: the log was rewritten from memory, writes are taken again'))
}

/** Read commands from stdin: a prompt on a terminal, else one command per line. */
function readCommands(ctx: CommandContext, opts: CliOptions, output: Output, stop: (code: number) => void): void {
  const interactive = process.stdin.isTTY === true && !opts.json
  const rl = readline.createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
    crlfDelay: Infinity,
  })
  let quitting = false
  rl.on('line', (line) => {
    if (quitting) return
    if (line.trim() !== '') {
      const result = runCommand(ctx, line)
      writeOut(formatResult(result, opts.json))
      if (result.ok && result.cmd === 'quit') {
        quitting = true
        output.rl = null
        rl.close()
        return stop(EXIT_OK)
      }
    }
    if (interactive) rl.prompt()
  })
  rl.on('close', () => {
    output.rl = null
    if (quitting) return
    if (!opts.json) writeErr('stdin closed; the node keeps running (stop it with SIGINT or SIGTERM)')
  })
  if (interactive) {
    rl.on('SIGINT', () => {
      quitting = true
      output.rl = null
      rl.close()
      stop(EXIT_OK)
    })
    output.rl = rl
    rl.setPrompt(`${opts.id}> `)
    rl.prompt()
  }
}

/** Run the node with `argv` (the flags only). Resolves once it is up; it then runs until stopped. */
async function main(argv: string[]): Promise<void> {
  const parsed = parseCliArgs(argv)
  if (!parsed.ok) {
    writeErr(`simple-scuttle: ${parsed.error}\n\n${USAGE}`)
    return exitAfterFlush(EXIT_USAGE)
  }
  const opts = parsed.options
  if (opts.help) {
    writeOut(USAGE)
    return exitAfterFlush(EXIT_OK)
  }

  let tls: TlsOptions | undefined
  try {
    tls = opts.tls === undefined ? undefined : loadTls(opts.tls)
  } catch (err) {
    writeErr(`simple-scuttle: ${(err as Error).message}`)
    return exitAfterFlush(EXIT_USAGE)
  }

  const limits = opts.maxSources === undefined ? {} : { limits: { maxSources: opts.maxSources } }
  const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: opts.mtu, tombstoneGrace: opts.grace, ...limits }
  let gossip: Gossip
  let store: LogStore | null = null
  if (opts.data === undefined) {
    gossip = new Gossip(opts.id, config)
  } else {
    const problem = notAFolder(opts.data)
    if (problem !== null) {
      writeErr(`simple-scuttle: cannot use --data ${opts.data}: ${problem}`)
      return exitAfterFlush(EXIT_DATA)
    }
    try {
      const durable = openDurable(opts.id, config, { dir: opts.data, durability: opts.durability, repair: opts.repair })
      gossip = durable.gossip
      store = durable.store
      opened.store = store
      for (const w of durable.warnings) writeErr(`simple-scuttle: warning: ${w}`)
      if (opts.json) writeOut(JSON.stringify({ event: 'loaded', records: durable.loaded, dir: opts.data, generation: store.generation }))
      else writeErr(`loaded ${durable.loaded} records from ${opts.data}`)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      // The store's advice names the option; on the command line it is a flag.
      writeErr(`simple-scuttle: cannot open ${opts.data}: ${message.replace('Raise limits.maxSources', 'Raise --max-sources')}`)
      return exitAfterFlush(EXIT_DATA)
    }
  }
  // Membership lines share each link with the replica's: with membership, links speak ndjson (transport/membership.ts).
  if (opts.membership !== undefined && opts.wire === 2) {
    writeErr('simple-scuttle: warning: --wire 2 has no effect with cluster membership (--seed, --members): membership lines share each link with the replica\'s, so links speak ndjson (wire 1)')
  }
  const network = new Network(gossip, {
    cluster: opts.cluster,
    interval: opts.interval,
    fanout: opts.fanout,
    wire: opts.membership === undefined ? opts.wire : undefined,
    maxConnections: opts.maxConnections,
    maxConnectionsPerHost: opts.maxConnectionsPerHost,
  })
  opened.network = network
  const output = new Output(opts.json)

  let listener
  try {
    listener = await listen(network, { port: opts.port, host: opts.host, tls })
  } catch (err) {
    // A TypeError: the TLS files were read but do not hold a usable certificate, key or CA.
    if (!(err instanceof ListenError) && !(err instanceof TypeError)) throw err
    writeErr(`simple-scuttle: ${err.message}`)
    await closeOpened()
    return exitAfterFlush(err instanceof ListenError ? EXIT_LISTEN : EXIT_USAGE)
  }
  let wsListener: WebSocketListener | undefined
  if (opts.wsPort !== undefined) {
    try {
      const wsTls = tls !== undefined && 'cert' in tls ? { cert: tls.cert, key: tls.key } : undefined
      wsListener = await listenWebSocket(network, { port: opts.wsPort, host: opts.host, token: opts.wsToken, tls: wsTls })
    } catch (err) {
      if (!(err instanceof ListenError)) throw err
      writeErr(`simple-scuttle: ${err.message}`)
      await closeOpened()
      return exitAfterFlush(EXIT_LISTEN)
    }
  }
  reportEvents(network, (name, fields, text) => output.event(name, fields, text))
  if (store !== null) reportStore(store, output)
  const { host, port } = listener
  // The link mode is shown only when TLS is on, so plain output is unchanged.
  const mode = tls === undefined ? undefined : 'secret' in tls ? 'secret' : 'certificate'
  const modeText = mode === undefined ? '' : mode === 'secret' ? ' (TLS-PSK)' : ' (mutual TLS)'
  writeOut(opts.json ? JSON.stringify({ event: 'listening', host, port, id: opts.id, tls: mode, ws: wsListener?.url }) : `listening on ${host}:${port}${modeText}`)
  if (wsListener !== undefined && !opts.json) writeOut(`WebSocket peers on ${wsListener.url}${opts.wsToken === undefined ? '' : ' (token required)'}`)
  if (opts.membership !== undefined) {
    let advertise: string
    try {
      advertise = joinCluster(network, opts.membership, { host, port }, tls, (name, fields, text) => output.event(name, fields, text))
    } catch (err) {
      writeErr(`simple-scuttle: cannot join the cluster: ${err instanceof Error ? err.message : String(err)}`)
      await closeOpened()
      return exitAfterFlush(EXIT_ERROR)
    }
    const seeds = opts.membership.seeds.length
    output.event('membership', { advertise, seeds }, `membership on: advertising ${advertise}, ${seeds === 0 ? 'no seeds (others join through this node)' : `${seeds} seed(s)`}`)
  }

  let stopping = false
  const stop = (code: number): void => {
    if (stopping) return
    stopping = true
    closeOpened().then(
      (clean) => {
        if (!clean) writeErr(`simple-scuttle: the network did not close within ${CLOSE_TIMEOUT_MS} ms`)
        exitAfterFlush(code)
      },
      (err: unknown) => {
        writeErr(`simple-scuttle: ${err instanceof Error ? err.message : String(err)}`)
        exitAfterFlush(EXIT_ERROR)
      },
    )
  }
  const onSignal = () => {
    if (stopping) process.exit(EXIT_ERROR)
    stop(EXIT_OK)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const ctx = commandContext(gossip, network, tls, store ?? undefined)
  for (const peer of opts.peers) dialOnce(ctx, peer.host, peer.port)
  readCommands(ctx, opts, output, stop)
}

/** An error nothing caught: said with its stack (a bug to report), what is open closed, exit 1. */
function crash(err: unknown): void {
  writeErr(`simple-scuttle: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  closeOpened().then(
    () => exitAfterFlush(EXIT_ERROR),
    () => exitAfterFlush(EXIT_ERROR),
  )
}

// A reader that goes away must not take the node down with EPIPE.
process.stdout.on('error', () => {})
process.on('uncaughtException', crash)
main(process.argv.slice(2)).catch(crash)
