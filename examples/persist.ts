/**
 * Persistence: a node writes, stops, and comes back from its log.
 *
 *   node --import tsx examples/persist.ts [dir]
 *
 * The first run (empty folder) writes a few keys and deletes one; every run
 * after that loads the log, shows the state, and adds one more write, so you
 * can run it several times and watch the state carry over.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../lib/index.ts'
import { openDurable } from '../lib/store/durable.ts'

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'simple-scuttle-persist-'))
const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers }

function show(label: string, g: ReturnType<typeof openDurable>['gossip']): void {
  const state = Object.fromEntries([...g.keys()].sort().map((k) => [k, g.get(k).value]))
  console.log(`${label}: ${JSON.stringify(state)}`)
}

// First life: write, delete, stop.
const first = openDurable('persist-demo', config, { dir, durability: 'write' })
console.log(`opened ${dir}: ${first.loaded} records loaded, generation ${first.store.generation}`)
if (first.loaded === 0) {
  first.gossip.set('greeting', 'hello')
  first.gossip.set('answer', 42)
  first.gossip.set('temp', 'to be deleted')
  first.gossip.del('temp')
}
const runs = (first.gossip.get('runs').value as number | null) ?? 0
first.gossip.set('runs', runs + 1)
show('before stopping', first.gossip)
first.store.close()

// Second life: the same folder, as after a restart of the process.
const second = openDurable('persist-demo', config, { dir })
show('after restarting', second.gossip)
console.log(`restart loaded ${second.loaded} records (tombstones included), same generation: ${second.store.generation === first.store.generation}`)
second.store.close()
