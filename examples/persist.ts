/**
 * Persistence: a node writes, stops, and comes back from its log.
 *
 *   node --import tsx examples/persist.ts <dir>
 *
 * The first run (empty or missing folder) writes a few keys and deletes one;
 * every run after that loads the log, shows the state, and adds one more
 * write, so you can run it several times and watch the state carry over.
 * The folder is required: the point is that it outlives the process, so the
 * example neither invents one (it would start fresh every run) nor removes
 * it. Delete it yourself when you are done.
 *
 * It imports the package by name, as an app does: copied into a project
 * that has simple-scuttle installed, it runs as it is.
 */
import { base, type Gossip } from 'simple-scuttle'
import { openDurable } from 'simple-scuttle/store'

const dir = process.argv[2]
if (dir === undefined || dir.trim() === '') {
  console.error('usage: node --import tsx examples/persist.ts <dir>\n(the folder keeps the log between runs; it is created if missing)')
  process.exit(2)
}
const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers }

function show(label: string, g: Gossip): void {
  const state = Object.fromEntries(g.keys().sort().map((k) => [k, g.get(k).value]))
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
const runs = first.gossip.get('runs').value
first.gossip.set('runs', (typeof runs === 'number' ? runs : 0) + 1)
show('before stopping', first.gossip)
first.store.close()

// Second life: the same folder, as after a restart of the process.
const second = openDurable('persist-demo', config, { dir })
show('after restarting', second.gossip)
console.log(`restart loaded ${second.loaded} records (tombstones included), same generation: ${second.store.generation === first.store.generation}`)
second.store.close()
