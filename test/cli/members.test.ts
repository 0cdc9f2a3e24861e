/**
 * Cluster membership with command-line nodes on loopback: ten processes,
 * each given only the first as `--seed`; every node lists all ten alive;
 * the seed is killed and a write at any node still reaches all the others;
 * another node is SIGKILLed and marked dead everywhere, then restarted from
 * its `--data`: alive again with a new generation, nothing lost; a node
 * that quits is marked left. Ports are ephemeral, everything stays on
 * 127.0.0.1, waits are bounded, and every process is stopped at the end.
 */
import test from 'tape'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CliProcess, killAll, waitFor } from '../support/cli-process.ts'

const COUNT = 10
const INTERVAL = '300'

interface Row {
  id: string
  state: string
  address: string
  generation: number
  heartbeat: number
  self: boolean
}

class Node extends CliProcess {
  port = 0
  constructor(
    readonly id: string,
    readonly args: string[],
  ) {
    super(['--id', id, '--json', '--interval', INTERVAL, ...args])
  }

  async listening(): Promise<this> {
    const l = await waitFor(() => this.json().find((m) => m.event === 'listening'), 30_000, `${this.id} listening (stderr: ${this.stderr.slice(-300)})`)
    this.port = l.port
    return this
  }

  /** Send `cmd` and wait for its result (the n-th result of that command). */
  async ask(cmd: string): Promise<Record<string, any>> {
    const name = cmd.split(' ')[0]
    const before = this.json().filter((m) => m.cmd === name).length
    this.send(cmd)
    return waitFor(() => this.json().filter((m) => m.cmd === name)[before], 10_000, `${this.id}: ${cmd}`)
  }

  async members(): Promise<Row[]> {
    return (await this.ask('members')).members as Row[]
  }
}

/** Poll every node in `nodes` until `ok` holds for its member list. */
async function everyNode(nodes: Node[], ok: (rows: Row[], n: Node) => boolean, timeoutMs: number, what: string): Promise<Row[][]> {
  const start = Date.now()
  for (;;) {
    const lists = await Promise.all(nodes.map((n) => n.members()))
    if (lists.every((rows, i) => ok(rows, nodes[i]))) return lists
    if (Date.now() - start > timeoutMs) {
      const bad = lists.map((rows, i) => `${nodes[i].id}: ${rows.map((r) => `${r.id}=${r.state}`).join(' ')}`).join('\n')
      throw new Error(`${what} not within ${timeoutMs} ms:\n${bad}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

const stateOf = (rows: Row[], id: string) => rows.find((r) => r.id === id)

test(`${COUNT} CLI nodes given only the first as --seed: all alive everywhere; the seed killed, writes still spread; a SIGKILLed node dead, restarted alive in a new generation`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simple-scuttle-members-'))
  try {
    const first = await new Node('m0', ['--members', '--data', join(dir, 'm0')]).listening()
    const seed = `127.0.0.1:${first.port}`
    const rest = await Promise.all(Array.from({ length: COUNT - 1 }, (_, i) => new Node(`m${i + 1}`, ['--seed', seed, '--data', join(dir, `m${i + 1}`)]).listening()))
    const nodes = [first, ...rest]
    await waitFor(() => nodes.every((n) => n.json().some((m) => m.event === 'membership')), 10_000, 'membership lines')
    t.deepEqual(
      nodes.map((n) => n.json().find((m) => m.event === 'membership')!.seeds),
      [0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      'every node reports membership on: the first with no seed, the others with one',
    )

    const ids = nodes.map((n) => n.id).sort()
    await everyNode(nodes, (rows) => rows.length === COUNT && rows.every((r) => r.state === 'alive'), 60_000, 'all ten alive at every node')
    const lists = await Promise.all(nodes.map((n) => n.members()))
    t.ok(lists.every((rows) => rows.map((r) => r.id).join() === ids.join()), 'every node lists the same ten members')
    t.ok(lists.every((rows, i) => rows.find((r) => r.self)?.id === nodes[i].id), 'each marks itself')
    t.ok(lists.every((rows) => rows.every((r) => r.address === `127.0.0.1:${nodes.find((n) => n.id === r.id)!.port}`)), 'with the address each listens on')
    const stats = await rest[4].ask('stats')
    t.deepEqual(stats.members, { total: 10, alive: 10, suspect: 0, dead: 0, left: 0 }, 'stats counts the members by state')
    await nodes[2].ask('set before-kill "written before any kill"')

    // The seed dies: nobody else knew another address to start with.
    first.proc.kill('SIGKILL')
    await first.exited
    const live = rest.slice()
    await everyNode(live, (rows) => stateOf(rows, 'm0')?.state === 'dead', 30_000, 'm0 dead at every other node')
    t.pass('every node marks the killed seed dead')
    await live[6].ask('set after-seed "written after the seed died"')
    const spread = async (key: string, want: string) => {
      const start = Date.now()
      for (;;) {
        const got = await Promise.all(live.map((n) => n.ask(`get ${key}`)))
        if (got.every((g) => g.found && g.value === want)) return
        if (Date.now() - start > 30_000) throw new Error(`${key} did not reach every node: ${got.map((g, i) => `${live[i].id}=${g.value}`).join(' ')}`)
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    await spread('after-seed', 'written after the seed died')
    t.pass('a write at m7 reaches the eight other live nodes without the seed')

    // SIGKILL m3: every other node marks it dead.
    const victim = rest[2]
    const before = stateOf(await live[0].members(), 'm3')!
    victim.proc.kill('SIGKILL')
    await victim.exited
    const others = live.filter((n) => n !== victim)
    await everyNode(others, (rows) => stateOf(rows, 'm3')?.state === 'dead', 30_000, 'm3 dead at every node')
    t.pass('every live node marks the SIGKILLed m3 dead')
    await others[3].ask('set while-down "written while m3 was down"')

    // Restart m3 from its data; its only seed is dead, so it is given another one too.
    const again = await new Node('m3', ['--seed', seed, '--seed', `127.0.0.1:${rest[0].port}`, '--data', join(dir, 'm3')]).listening()
    const all = [...others, again]
    await everyNode(all, (rows) => stateOf(rows, 'm3')?.state === 'alive' && stateOf(rows, 'm3')!.generation > before.generation, 60_000, 'm3 alive again, in a new generation, everywhere')
    t.pass(`m3 is alive again at every node, generation ${stateOf(await all[0].members(), 'm3')!.generation} after ${before.generation}`)
    await everyNode([again], (rows) => rows.filter((r) => r.state === 'alive').length === COUNT - 1, 30_000, 'm3 lists the live nodes alive')
    t.pass('m3 lists the nine live nodes alive, m0 not')
    const loaded = again.json().find((m) => m.event === 'loaded')
    t.ok(loaded !== undefined && loaded.records >= 2, `m3 started from its data folder (${loaded?.records} records loaded)`)
    t.equal((await again.ask('get before-kill')).value, 'written before any kill', 'm3 still holds what it had before the kill (its log)')
    t.equal((await again.ask('get after-seed')).value, 'written after the seed died', 'and what it had got after the seed died')
    await (async () => {
      const start = Date.now()
      for (;;) {
        const g = await again.ask('get while-down')
        if (g.found) return t.equal(g.value, 'written while m3 was down', 'and the write made while it was down reached it')
        if (Date.now() - start > 30_000) return t.fail('the write made while m3 was down never reached it')
        await new Promise((r) => setTimeout(r, 250))
      }
    })()

    // A node that quits leaves: the others mark it left.
    const quitter = all[all.length - 2]
    quitter.send('quit')
    t.equal(await quitter.exited, 0, `${quitter.id} quits with exit 0`)
    const remaining = all.filter((n) => n !== quitter)
    await everyNode(remaining, (rows) => stateOf(rows, quitter.id)?.state === 'left', 30_000, `${quitter.id} left at every node`)
    t.pass(`every node marks ${quitter.id} left`)
    for (const n of remaining) n.send('quit')
    const codes = await Promise.all(remaining.map((n) => n.exited))
    t.ok(codes.every((c) => c === 0), 'every node stops with quit, exit 0')
  } finally {
    killAll()
    rmSync(dir, { recursive: true, force: true })
  }
  t.end()
})
