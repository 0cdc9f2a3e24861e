/**
 * A local cluster of simple-scuttle node processes (the CLI in
 * lib/cli/main.ts) under a steady write load, until they converge.
 *
 *   npm start
 *   npm start --silent -- --json   # stdout: the summary only (--silent drops npm's banner)
 *   node --import tsx examples/cluster.ts --nodes 5 --duration 10 --rate 500 --keys 1000 [--json]
 *   node --import tsx examples/cluster.ts --secret "$(openssl rand -hex 32)"
 *
 * Steps: start the nodes on loopback ports, each with its log in a temporary
 * folder; the first with cluster membership on (`--members`), every other
 * given only its address (`--seed`): they find each other by gossip and
 * link up in bounded views; wait until every node lists every member alive;
 * send `set` at random nodes at `--rate` writes per second for
 * `--duration` seconds, killing one node (SIGKILL) at 20% of the writes,
 * reporting when every other node has detected it dead, and restarting it
 * from its log (with the seed address again) at 65% or once it was
 * detected, whichever is later, then reporting when every node lists it
 * alive again in a new generation;
 * poll `stats` from every node and print progress (no write is sent while a
 * poll is out, so each line's counts are of one moment; the killed node's
 * counters are taken before the kill and stay in the totals); then poll until every node
 * reports the same state hash and key count (at most 30 s), print a summary,
 * and quit the nodes. Exits 0 only when every node ended with identical state.
 * With `--secret`, every node (the restarted one too) runs with `--secret`,
 * so every link is TLS-PSK.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import { join, resolve } from 'node:path'
import { seededRandom } from 'simple-scuttle'
import { NodeProcess, type MemberEvent, type NodeStats } from './cluster/node-process.ts'
import { CLUSTER_USAGE, parseClusterArgs, type ClusterOptions } from './cluster/options.ts'
import { progressLine, summarize, summaryText } from './cluster/report.ts'
import { startWebServer, type WebNode, type WebStatus } from './web/server.ts'

const root = resolve(import.meta.dirname, '..')
const CONVERGE_TIMEOUT_MS = 30_000
const POLL_MS = 250
const SETTLE_POLL_MS = 50
const random = seededRandom(2026)
const nodes: NodeProcess[] = []
let aborting = false
/** Each node keeps its log in a folder here; made once the flags are good, removed on exit. */
let dataRoot: string | null = null
/** The node killed and restarted mid-run, while it is down (or being killed). */
let down: number | null = null
/** `set`s applied by nodes that have since been replaced. */
let appliedByReplaced = 0
/**
 * Counters of node lives that have ended (the killed node's), taken just
 * before the kill: added to the live nodes' so that totals never drop.
 */
const ended = { bytesOut: 0, applied: 0 }

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// ---- the live page (--web): what /status shows ----
const web = { t0: performance.now(), phase: 'starting', writes: 0, events: [] as [number, string][], nodes: new Map<string, WebNode>() }

function note(text: string): void {
  web.events.push([(performance.now() - web.t0) / 1000, text])
  if (web.events.length > 40) web.events.shift()
}

/** Every node process has started (the page shows the nodes from then on, all at once). */
let allStarted = false

function webStatus(): WebStatus {
  const list = (allStarted ? nodes : []).map((n, i) => {
    const known = web.nodes.get(n.id)
    const up = i !== down && n.alive && known !== undefined
    const shown = known ?? { id: n.id, keys: 0, records: 0, hash: '', bytesOut: 0, peers: [], board: [] }
    return { ...shown, peers: up ? shown.peers : [], ws: n.ws, up }
  })
  const live = list.filter((n) => n.up)
  const converged = live.length === nodes.length && live.every((n) => n.hash === live[0].hash)
  return { phase: web.phase, writes: web.writes, converged, nodes: list, events: web.events }
}

/** Poll every live node for the page: stats, peers (links) and its board keys. */
function pollForPage(): void {
  nodes.forEach((n, i) => {
    if (i === down || !n.alive) return
    Promise.all([n.stats(), n.command('peers'), n.command('keys')]).then(
      ([st, peers, keys]) => {
        // One row per peer id (two links between a pair are added up), with its bytes per second since the last poll.
        const now = performance.now()
        const before = web.nodes.get(n.id)
        const byId = new Map<string, { id: string; bytesIn: number; bytesOut: number; rate: number }>()
        for (const p of peers.peers as { id: string; bytesIn: number; bytesOut: number }[]) {
          const row = byId.get(p.id) ?? { id: p.id, bytesIn: 0, bytesOut: 0, rate: 0 }
          row.bytesIn += p.bytesIn
          row.bytesOut += p.bytesOut
          byId.set(p.id, row)
        }
        for (const row of byId.values()) {
          const old = before?.peers.find((p) => p.id === row.id)
          const dt = (now - (before?.at ?? now)) / 1000
          row.rate = old !== undefined && dt > 0 ? Math.max(0, Math.round((row.bytesIn + row.bytesOut - old.bytesIn - old.bytesOut) / dt)) : 0
        }
        const ps = [...byId.values()]
        const board = (keys.keys as string[]).filter((k) => k.startsWith('board/'))
        web.nodes.set(n.id, { id: n.id, ws: n.ws, up: true, keys: st.keys, records: st.records, hash: st.hash, bytesOut: st.bytesOut, peers: ps, board, at: now })
      },
      () => {
        /* killed meanwhile */
      },
    )
  })
}

/** A node died on its own: show what it said and stop the demo. */
function onDeath(dead: NodeProcess): void {
  if (aborting) return
  aborting = true
  process.stderr.write(`\nnode ${dead.id} exited unexpectedly (${dead.status}). Its stderr:\n${dead.stderr || '(empty)\n'}`)
  for (const n of nodes) n.kill()
  process.exit(1)
}

function onStartFailure(err: Error): void {
  if (aborting) return
  aborting = true
  process.stderr.write(`\ncould not restart a node: ${err.message}\n`)
  for (const n of nodes) n.kill()
  process.exit(1)
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, everyMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs
  while (performance.now() < end) {
    if (await cond()) return true
    await sleep(everyMs)
  }
  return false
}

const pollAll = (): Promise<NodeStats[]> => Promise.all(nodes.map((n) => n.stats()))
/** Stats of every node, null for the one that is down. */
const pollLive = (): Promise<(NodeStats | null)[]> => Promise.all(nodes.map((n, i) => (i === down ? Promise.resolve(null) : n.stats())))

function sameState(stats: NodeStats[]): boolean {
  return stats.every((s) => s.hash === stats[0].hash && s.keys === stats[0].keys)
}

async function run(opts: ClusterOptions): Promise<boolean> {
  const log = (line: string) => {
    ;(opts.json ? process.stderr : process.stdout).write(line + '\n')
    if (line.trim() !== '') note(line.trim().replace(/^\d+\.\ds /, ''))
  }
  let page: Awaited<ReturnType<typeof startWebServer>> | null = null
  if (opts.web !== null) {
    page = await startWebServer(opts.web, webStatus)
    ;(opts.json ? process.stderr : process.stdout).write(`live page: ${page.url}\n`)
    setInterval(pollForPage, 500).unref()
  }
  const tty = (opts.json ? process.stderr : process.stdout).isTTY === true
  const ids = Array.from({ length: opts.nodes }, (_, i) => `node-${i}`)
  const secret = opts.secret === undefined ? [] : ['--secret', opts.secret]
  const dataDir = fs.mkdtempSync(join(os.tmpdir(), 'simple-scuttle-cluster-'))
  dataRoot = dataDir
  const wsPort = opts.web === null ? [] : ['--ws-port', '0']
  const args = (id: string) => ['--interval', '200', '--data', join(dataDir, id), ...secret, ...wsPort]
  // The first node starts the cluster; every other one is given only its address.
  const t0 = performance.now()
  const since = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`
  nodes.push(await NodeProcess.start(root, ids[0], [...args(ids[0]), '--members'], onDeath))
  const seed = `127.0.0.1:${nodes[0].port}`
  // What the seed learns, shown once every node runs (up to 8 nodes: one line each).
  const joins: string[] = []
  let showJoins = false
  nodes[0].onMember = (e) => {
    if (e.event !== 'join' || opts.nodes > 8) return
    joins.push(`${since()} ${e.id} joined: ${nodes[0].id} learnt it by gossip (${e.reason})`)
    if (showJoins) log(joins.shift()!)
  }
  nodes.push(...(await Promise.all(ids.slice(1).map((id) => NodeProcess.start(root, id, [...args(id), '--seed', seed], onDeath)))))
  const modes = [...new Set(nodes.map((n) => n.tls))]
  const links = modes.map((m) => (m === 'secret' ? 'TLS-PSK (cluster secret)' : m === 'certificate' ? 'mutual TLS' : 'plain TCP')).join(' and ')
  log(`started ${nodes.length} nodes on ports ${nodes.map((n) => n.port).join(', ')}; links: ${links}`)
  log(`seed: ${ids[0]} at ${seed}; every other node was given only this address (--seed)`)
  showJoins = true
  allStarted = true
  for (const line of joins.splice(0)) log(line)

  const allAlive = async () => (await Promise.all(nodes.map((n) => n.command('members')))).every((r) => (r.members as { state: string }[]).filter((m) => m.state === 'alive').length === nodes.length)
  if (!(await until(allAlive, 20_000, 100))) throw new Error('the nodes did not all list every member alive within 20 s')
  const pairs = new Set<string>()
  for (const n of nodes) for (const p of (await n.command('peers')).peers as { id: string }[]) pairs.add([n.id, p.id].sort().join(' '))
  log(`${since()} members: every node lists all ${nodes.length} alive; ${pairs.size} links (views of at most 6 outbound)`)
  if (page !== null) {
    web.phase = 'waiting for a page'
    await Promise.race([page.firstPage, sleep(20_000)])
    await sleep(1000) // the page's tab links up first
  }
  web.phase = 'writing'

  // Writes: a steady rate, at random nodes, on random keys of the key space.
  const written = new Set<number>()
  let writes = 0
  let printedAt = -Infinity
  let busy = false
  /** Set from the moment the victim is taken out until its last counters are in `ended`. */
  let killing = false
  const start = performance.now()
  let lastWrite = start
  const total = Math.max(1, Math.round(opts.rate * opts.duration))
  // No write is sent while a poll is out (the write timer waits for
  // `busy` to clear, then sends what fell due), so the keys written and the
  // key counts of a progress line are of the same moment: lag is exact.
  const report = (phase: string) => {
    if (busy || killing) return
    busy = true
    const writtenAtPoll = written.size
    const writesAtPoll = writes
    pollLive().then(
      (stats) => {
        busy = false
        const now = performance.now()
        const line = progressLine(now - start, phase, writesAtPoll, opts.keys, stats, writtenAtPoll, ended.bytesOut)
        const out = opts.json ? process.stderr : process.stdout
        if (tty) out.write(`\r${line}\x1b[K`)
        else if (now - printedAt >= 1000) {
          printedAt = now
          out.write(line + '\n')
        }
      },
      () => (busy = false),
    )
  }
  // Midway, one node crashes, is detected dead by the others, and comes back from its log.
  const victim = opts.restart && nodes.length >= 2 ? nodes.length - 1 : -1
  const killAt = Math.floor(total * 0.2)
  const restartAt = Math.floor(total * 0.65)
  let restarting = false
  let killedAt = 0
  let restartedAt = 0
  /** Every other node reported the victim down (or 20 s passed). */
  let detected = false
  /** Every other node reported the victim's new life joining. */
  let back = victim < 0
  const victimId = victim < 0 ? '' : nodes[victim].id
  const downs = new Map<string, string>()
  const watchDown = (n: NodeProcess) => {
    n.onMember = (e: MemberEvent) => {
      if (e.id !== victimId || e.event !== 'down' || killedAt === 0 || detected) return
      downs.set(n.id, e.reason)
      if (downs.size === nodes.length - 1) {
        detected = true
        log(`${((performance.now() - start) / 1000).toFixed(1)}s ${victimId} detected dead by every other node, ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill (${nodes[0].id}: ${downs.get(nodes[0].id)})`)
      }
    }
  }
  nodes.forEach((n, i) => i !== victim && watchDown(n))
  const crashAndRestart = () => {
    if (victim < 0) return
    if (down === null && !restarting && writes >= killAt && writes < restartAt) {
      // No more writes go to it; its last counters (bytes sent, updates
      // applied) are asked for first, so the totals keep them, then SIGKILL.
      down = victim
      killing = true
      const dying = nodes[victim]
      dying.stats().then(
        (s) => {
          ended.bytesOut += s.bytesOut
          ended.applied += s.applied
        },
        () => {
          /* no answer: the totals miss this life's counters */
        },
      ).then(() => {
        killing = false
        dying.kill()
        killedAt = performance.now()
        log(`\n${((performance.now() - start) / 1000).toFixed(1)}s killed ${dying.id} (SIGKILL); the others keep writing`)
      })
    } else if (down !== null && !restarting && !killing && writes >= restartAt && (detected || performance.now() - killedAt > 20_000)) {
      restarting = true
      const old = nodes[victim]
      const again = old.ws === null ? [] : ['--ws-port', new URL(old.ws).port]
      const backs = new Set<string>()
      let oldGen = 0
      for (const [i, n] of nodes.entries()) {
        if (i === victim) continue
        n.onMember = (e: MemberEvent) => {
          if (e.id !== victimId || e.event !== 'join') return
          if (oldGen === 0 || e.generation > oldGen) backs.add(n.id)
          if (backs.size === nodes.length - 1 && !back) {
            back = true
            log(`${((performance.now() - start) / 1000).toFixed(1)}s ${victimId} is alive again at every node, generation ${e.generation} (a new life)`)
          }
        }
      }
      nodes[0].command('members').then((r) => (oldGen = (r.members as { id: string; generation: number }[]).find((m) => m.id === victimId)?.generation ?? 0), () => {})
      NodeProcess.start(root, old.id, [...args(old.id).filter((a, i, all) => a !== '--ws-port' && all[i - 1] !== '--ws-port'), '--port', String(old.port), '--seed', seed, ...again], onDeath).then((fresh) => {
        appliedByReplaced += old.setsApplied
        nodes[victim] = fresh
        restartedAt = performance.now()
        down = null
        log(`\n${((performance.now() - start) / 1000).toFixed(1)}s restarted ${fresh.id} from its log: ${fresh.loaded} records loaded`)
      }, onStartFailure)
    }
  }
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      if (busy) return // a progress poll is out: see report()
      const now = performance.now()
      const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.rate))
      crashAndRestart()
      for (; writes < due; writes++) {
        const key = Math.floor(random() * opts.keys)
        let at = Math.floor(random() * nodes.length)
        if (at === down) at = (at + 1) % nodes.length
        written.add(key)
        web.writes = writes + 1
        nodes[at].send(`set k${key} ${JSON.stringify({ n: writes, by: nodes[at].id })}`)
        lastWrite = now
      }
      if (writes >= total && down === null) {
        clearInterval(timer)
        clearInterval(poller)
        done()
      }
    }, 5)
    const poller = setInterval(() => report('writing'), POLL_MS)
  })
  const writeMs = lastWrite - start
  web.phase = 'settling'

  // Settle: poll until every node holds the same state.
  let last: NodeStats[] = []
  let settledAt: number | null = null
  const converged = await until(
    async () => {
      last = await pollAll()
      if (!sameState(last) || !back) return false
      settledAt = performance.now()
      return true
    },
    CONVERGE_TIMEOUT_MS,
    SETTLE_POLL_MS,
  )
  web.phase = converged ? 'settled' : 'timed out'
  note(converged ? `converged: every node holds the same ${last[0]?.keys} keys` : 'not converged within 30 s')
  const final = progressLine(performance.now() - start, converged ? 'settled' : 'timed out', writes, opts.keys, last, written.size, ended.bytesOut)
  ;(opts.json ? process.stderr : process.stdout).write(tty ? `\r${final}\x1b[K\n` : final + '\n')

  const applied = appliedByReplaced + nodes.reduce((n, x) => n + x.setsApplied, 0)
  const from = Math.max(lastWrite, restartedAt)
  const summary = summarize(last, ended, writes, applied, writeMs, settledAt === null ? null : settledAt - from, converged, from - lastWrite)
  if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n')
  else process.stdout.write('\n' + summaryText(summary) + '\n')
  return converged
}

async function quitAll(): Promise<boolean> {
  const exits = await Promise.all(nodes.map((n) => n.quit(5000)))
  return exits.every((e) => e.code === 0)
}

const parsed = parseClusterArgs(process.argv.slice(2))
if (!parsed.ok) {
  process.stderr.write(`cluster: ${parsed.error}\n\n${CLUSTER_USAGE}\n`)
  process.exit(2)
}
if (parsed.options.help) {
  process.stdout.write(CLUSTER_USAGE + '\n')
  process.exit(0)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    aborting = true
    for (const n of nodes) n.kill()
    process.exit(130)
  })
}
process.on('exit', () => {
  for (const n of nodes) n.kill()
  if (dataRoot !== null) fs.rmSync(dataRoot, { recursive: true, force: true })
})

/** After the run, the page stays up: the nodes take turns writing to the board until Ctrl-C. */
function holdForPage(): void {
  process.stdout.write(`\nthe live page stays up; nodes write to its board every 2 s; Ctrl-C to stop\n`)
  let turn = 0
  setInterval(() => {
    const n = nodes[turn++ % nodes.length]
    n.send(`set board/${n.id} ${JSON.stringify(`hello from ${n.id} at ${new Date().toLocaleTimeString()}`)}`)
  }, 2000)
}

run(parsed.options).then(
  async (converged) => {
    if (parsed.options.web !== null) return holdForPage()
    const clean = await quitAll()
    if (!clean) process.stderr.write('some nodes did not exit cleanly\n')
    process.exit(converged ? 0 : 1)
  },
  (err: Error) => {
    aborting = true
    process.stderr.write(`cluster: ${err.message}\n`)
    for (const n of nodes) if (n.stderr) process.stderr.write(`--- ${n.id} stderr:\n${n.stderr}\n`)
    for (const n of nodes) n.kill()
    process.exit(1)
  },
)
