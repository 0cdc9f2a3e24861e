/**
 * One node of the demo: a child process running the CLI with `--json`,
 * driven over stdin and read line by line from stdout.
 *
 * The node answers commands in the order it receives them, so the k-th
 * request for a command is answered by the k-th result line of that command.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'

/** Fields of a `stats` result (see lib/cli/commands.ts). */
export interface NodeStats {
  id: string
  keys: number
  records: number
  version: number
  peers: number
  bytesIn: number
  bytesOut: number
  applied: number
  rejected: number
  redundant: number
  hash: string
}

/** A membership event line of the node (see lib/cli/members.ts). */
export interface MemberEvent {
  event: 'join' | 'up' | 'down' | 'leave'
  id: string
  generation: number
  address: string
  state: string
  reason: string
}

type Waiter = { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }

const STDERR_KEPT = 64 * 1024

export class NodeProcess {
  port = 0
  /** The node's link security, from its `listening` line: 'plain', 'secret' (TLS-PSK) or 'certificate' (mutual TLS). */
  tls = 'plain'
  /** The node's WebSocket url (with `--ws-port`), from its `listening` line. */
  ws: string | null = null
  /** Records the node loaded from its log at start (`--data`). */
  loaded = 0
  /** `set` results: applied at this node, and refused. */
  setsApplied = 0
  setsFailed = 0
  /** The last STDERR_KEPT characters the node wrote on stderr. */
  stderr = ''
  /** Set once `quit` or `kill` was asked for: an exit is then expected. */
  stopping = false
  /** Called with each membership event the node reports (`join`, `up`, `down`, `leave`). */
  onMember: ((event: MemberEvent) => void) | null = null
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly child: ChildProcessWithoutNullStreams
  private readonly waiters = new Map<string, Waiter[]>()
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null

  /**
   * Start a node. `onDeath` runs if it exits without being asked to.
   * Resolves once it listens; rejects if it exits first or takes over 30 s.
   */
  static start(root: string, id: string, args: string[], onDeath: (n: NodeProcess) => void): Promise<NodeProcess> {
    const node = new NodeProcess(root, id, args, onDeath)
    return node.request('listening', 30_000).then(() => node)
  }

  private constructor(
    root: string,
    readonly id: string,
    args: string[],
    onDeath: (n: NodeProcess) => void,
  ) {
    const argv = ['--import', 'tsx', 'lib/cli/main.ts', '--id', id, '--json', ...args]
    if (!args.includes('--port')) argv.push('--port', '0')
    this.child = spawn(process.execPath, argv, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdin.on('error', () => {
      /* the exit handler reports a dead node */
    })
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-STDERR_KEPT)
    })
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => this.onLine(line))
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal }
        const err = new Error(`${id} exited (${signal ?? code})`)
        for (const list of this.waiters.values()) for (const w of list.splice(0)) w.reject(err)
        if (!this.stopping) onDeath(this)
        resolve(this.exitInfo)
      })
    })
  }

  get alive(): boolean {
    return this.exitInfo === null
  }

  /** How the process ended ("code 1", "SIGKILL"), or "running". */
  get status(): string {
    if (this.exitInfo === null) return 'running'
    return this.exitInfo.signal ?? `code ${this.exitInfo.code}`
  }

  /** Send one command line. */
  send(line: string): void {
    if (this.alive) this.child.stdin.write(line + '\n')
  }

  /** Send `cmd` and resolve with its result line. */
  command(cmd: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const answer = this.request(cmd.split(' ')[0], timeoutMs)
    this.send(cmd)
    return answer
  }

  stats(): Promise<NodeStats> {
    return this.command('stats') as unknown as Promise<NodeStats>
  }

  /** Ask the node to quit; SIGKILL it if it has not exited within `graceMs`. */
  async quit(graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.stopping = true
    this.send('quit')
    const timer = setTimeout(() => this.kill(), graceMs)
    const info = await this.exited
    clearTimeout(timer)
    return info
  }

  kill(): void {
    this.stopping = true
    if (this.alive) this.child.kill('SIGKILL')
  }

  /** Resolve with the next line whose `cmd` (or `event`) is `name`. */
  private request(name: string, timeoutMs: number): Promise<Record<string, unknown>> {
    if (!this.alive) return Promise.reject(new Error(`${this.id} is not running`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id}: no ${name} result within ${timeoutMs} ms`)), timeoutMs)
      const list = this.waiters.get(name) ?? []
      list.push({
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.waiters.set(name, list)
    })
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(line)
    } catch {
      return
    }
    if (msg.event === 'listening') {
      this.port = msg.port as number
      this.tls = typeof msg.tls === 'string' ? msg.tls : 'plain'
      this.ws = typeof msg.ws === 'string' ? msg.ws : null
    }
    if (msg.event === 'loaded') this.loaded = msg.records as number
    if (msg.event === 'join' || msg.event === 'up' || msg.event === 'down' || msg.event === 'leave') {
      this.onMember?.(msg as unknown as MemberEvent)
      return
    }
    if (msg.cmd === 'set') {
      if (msg.ok === true && msg.applied === true) this.setsApplied++
      else this.setsFailed++
      return
    }
    const name = (msg.cmd ?? msg.event) as string | undefined
    if (name === undefined) return
    const w = this.waiters.get(name)?.shift()
    if (w === undefined) return
    if (msg.ok === false) w.reject(new Error(`${this.id}: ${name}: ${String(msg.error)}`))
    else w.resolve(msg)
  }
}
