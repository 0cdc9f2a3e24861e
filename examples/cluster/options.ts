/** Flags of the cluster demo (`examples/cluster.ts`). */
import { parseArgs } from 'node:util'

export interface ClusterOptions {
  /** Node processes to start. */
  nodes: number
  /** Seconds of writing. */
  duration: number
  /** Writes per second, over all nodes together. */
  rate: number
  /** Size of the key space the writes draw from. */
  keys: number
  /** Kill one node mid-run and restart it from its log. */
  restart: boolean
  /** Cluster secret: every node runs with `--secret` (TLS-PSK links). Undefined: plain TCP. */
  secret: string | undefined
  /** Print the summary as one JSON line on stdout (progress goes to stderr). */
  json: boolean
  /** Serve the live page (examples/web/) on this port (0: a free one); null: no page. */
  web: number | null
  help: boolean
}

export const CLUSTER_USAGE = `Usage: node --import tsx examples/cluster.ts [options]

Starts node processes of the simple-scuttle CLI on loopback, each keeping
its state in a log in a temporary folder, connects them, and writes at every
node for a while. Midway one node is killed (SIGKILL) and later restarted
from its log while the others keep going. Then it waits until all hold the
same state.

Options:
  --nodes <n>        node processes (default 3, at most 50)
  --duration <s>     seconds of writing (default 5)
  --rate <n>         writes per second over all nodes (default 200)
  --keys <n>         size of the key space (default 500)
  --no-restart       do not kill and restart a node during the run
  --secret <text>    run every node with --secret <text>: links encrypted and
                     authenticated with a cluster secret (TLS-PSK)
  --json             print the summary as one JSON line
  --web              also serve a live page of the cluster (a picture of the
                     nodes and links, and a shared board where browser tabs
                     and nodes write); the run starts once a page is open
                     (or after 20 s), and the page stays up after it until
                     Ctrl-C. Defaults become --duration 20 --rate 50
  --web-port <n>     port of the page (default: a free one; implies --web)
  -h, --help         print this help

Exit status: 0 when every node ends with identical state, 1 otherwise, 2 on bad flags.`

function bounded(name: string, raw: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (raw === undefined) return fallback
  const n = (integer ? /^\d+$/ : /^\d+(\.\d+)?$/).test(raw) ? Number(raw) : NaN
  if (!(n >= min && n <= max)) {
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${JSON.stringify(raw)}`)
  }
  return n
}

function secretFlag(raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.trim() === '') throw new Error('--secret must not be empty')
  return raw
}

/** Parse the demo's flags; `error` says what is wrong. */
export function parseClusterArgs(argv: string[]): { ok: true; options: ClusterOptions } | { ok: false; error: string } {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        nodes: { type: 'string' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        keys: { type: 'string' },
        'no-restart': { type: 'boolean' },
        secret: { type: 'string' },
        json: { type: 'boolean' },
        web: { type: 'boolean' },
        'web-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
    const web = values.web === true || values['web-port'] !== undefined ? bounded('web-port', values['web-port'], 0, 0, 65535, true) : null
    return {
      ok: true,
      options: {
        nodes: bounded('nodes', values.nodes, 3, 1, 50, true),
        duration: bounded('duration', values.duration, web === null ? 5 : 20, 0.1, 3600, false),
        rate: bounded('rate', values.rate, web === null ? 200 : 50, 1, 100_000, true),
        keys: bounded('keys', values.keys, 500, 1, 10_000_000, true),
        restart: values['no-restart'] !== true,
        secret: secretFlag(values.secret),
        json: values.json === true,
        web,
        help: values.help === true,
      },
    }
  } catch (err) {
    const msg = (err as Error).message
    const unknown = /Unknown option '([^']+)'/.exec(msg)
    return { ok: false, error: unknown ? `unknown flag ${unknown[1]}` : msg.split('. ')[0] }
  }
}
