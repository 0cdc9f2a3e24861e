/**
 * The consumer app of test/consumer/consumer.test.ts, compiled there in
 * strict TypeScript against the installed package: node `a` keeps its state
 * in a log (simple-scuttle/store), node `b` in memory; they replicate over
 * loopback TCP (simple-scuttle/net); then `a` is reopened from its log.
 *
 * Prints one JSON line of what it saw. Exits 0 when both nodes ended with
 * the same records and the reopened log holds them, 1 otherwise (a 20 s
 * timeout included).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Gossip, base, type GossipConfig } from 'simple-scuttle'
import { Network, connect, listen } from 'simple-scuttle/net'
import { openDurable } from 'simple-scuttle/store'

const KEYS = 200
const TIMEOUT_MS = 20_000

const config: GossipConfig = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const dir = mkdtempSync(join(tmpdir(), 'simple-scuttle-consumer-'))

/** Values typed by an interface (no index signature) are accepted by `set`. */
interface Item {
  i: number
  label?: string
  tags: readonly string[]
}

/** Never called: compiled only, to show what `set` refuses at compile time. */
export function refusedAtCompileTime(g: Gossip): void {
  // @ts-expect-error a function is no JSON
  g.set('f', () => 1)
  // @ts-expect-error nor an object with methods
  g.set('d', new Date())
  // @ts-expect-error nor undefined
  g.set('u', undefined)
}

/** Every record as sorted JSON: equal strings, equal state. */
function dump(g: Gossip): string {
  return JSON.stringify(
    g
      .records()
      .map((r) => [r.key, r.version, r.source_id, r.value, r.deleted === true])
      .sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1)),
  )
}

async function main(): Promise<Record<string, unknown>> {
  const durable = openDurable('a', config, { dir, durability: 'write' })
  const a = durable.gossip
  const b = new Gossip('b', config)
  const netA = new Network(a, { interval: 50 })
  const netB = new Network(b, { interval: 50 })
  const listener = await listen(netA, { port: 0, host: '127.0.0.1' })
  connect(netB, { host: '127.0.0.1', port: listener.port })

  for (let i = 0; i < KEYS; i++) {
    const item: Item = { i, tags: ['t'] }
    a.set(`a-${i}`, item)
  }
  b.set('from-b', 'hello from b')
  b.set('gone', true)
  b.del('gone')
  const total = KEYS + 2

  // Done when both hold every record, checked on each applied update.
  let timer: ReturnType<typeof setTimeout> | undefined
  const converged = await new Promise<boolean>((resolve) => {
    const check = () => {
      if (a.size === total && b.size === total && dump(a) === dump(b)) resolve(true)
    }
    a.history.on('update', check)
    b.history.on('update', check)
    timer = setTimeout(() => resolve(false), TIMEOUT_MS)
    check()
  })
  clearTimeout(timer)
  const result = {
    converged,
    port: listener.port,
    aRecords: a.size,
    bRecords: b.size,
    bKeys: b.keys().length,
    fromB: a.get('from-b').value,
    goneAtA: a.get('gone').value,
    peersOfB: netB.peers.map((p) => p.id),
  }
  await Promise.all([netA.close(), netB.close()])
  durable.store.close()

  const reopened = openDurable('a', config, { dir })
  const sameAfterRestart = dump(reopened.gossip) === dump(b)
  reopened.store.close()
  return { ...result, reloaded: reopened.loaded, sameAfterRestart }
}

main().then(
  (r) => {
    rmSync(dir, { recursive: true, force: true })
    console.log(JSON.stringify(r))
    process.exit(r['converged'] === true && r['sameAfterRestart'] === true ? 0 : 1)
  },
  (err: unknown) => {
    rmSync(dir, { recursive: true, force: true })
    console.error(err)
    process.exit(1)
  },
)
