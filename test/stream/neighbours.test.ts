/**
 * Nodes piped straight to several neighbour nodes, as the seed's tests wire
 * them (`a.pipe(b).pipe(a)` for every pair): each neighbour gets a session
 * of its own, so lines, stars and meshes converge, and a neighbour that
 * ends leaves the others running.
 */
import test from 'tape'
import type { Gossip } from '../../lib/index.ts'
import { node, quiet, sameState } from '../support/streams.ts'

/** Pipe each pair both ways; `destFirst` makes the second pipe of each pair first (`b.pipe(a)` before `a.pipe(b)`). */
function wire(pairs: [Gossip, Gossip][], destFirst: boolean): void {
  for (const [a, b] of pairs) {
    if (destFirst) b.pipe(a).pipe(b)
    else a.pipe(b).pipe(a)
  }
}

/** Rounds of `gossip()` on every node until all hold the same state; returns the rounds taken, or -1 after `max`. */
async function converge(nodes: Gossip[], max = 20): Promise<number> {
  for (let r = 1; r <= max; r++) {
    for (const g of nodes) g.gossip()
    await quiet(5)
    if (sameState(nodes)) return r
  }
  return -1
}

const shapes: Record<string, (n: Gossip[]) => [Gossip, Gossip][]> = {
  'a line of 3': (n) => [[n[0], n[1]], [n[1], n[2]]],
  'a star of 5 (the hub piped to 4)': (n) => [[n[0], n[1]], [n[0], n[2]], [n[3], n[0]], [n[4], n[0]]],
  'a mesh of 4': (n) => [[n[0], n[1]], [n[0], n[2]], [n[0], n[3]], [n[1], n[2]], [n[1], n[3]], [n[2], n[3]]],
}
const sizes: Record<string, number> = { 'a line of 3': 3, 'a star of 5 (the hub piped to 4)': 5, 'a mesh of 4': 4 }

for (const [shape, pairsOf] of Object.entries(shapes)) {
  for (const destFirst of [false, true]) {
    test(`${shape}, wired node to node (${destFirst ? 'b.pipe(a).pipe(b)' : 'a.pipe(b).pipe(a)'}): every node ends with every write`, async (t) => {
      const nodes = Array.from({ length: sizes[shape] }, (_, i) => node('n' + i))
      const invalid: unknown[] = []
      for (const g of nodes) g.on('invalid', (r) => invalid.push(r))
      wire(pairsOf(nodes), destFirst)
      nodes.forEach((g, i) => g.set('k' + i, i))
      nodes[0].set('shared', 'first')
      nodes[nodes.length - 1].set('shared', 'last')
      t.notOk(sameState(nodes), 'the nodes start apart')
      const rounds = await converge(nodes)
      t.ok(rounds > 0, `converged (in ${rounds} rounds)`)
      for (const g of nodes) {
        t.deepEqual(g.keys().sort(), [...nodes.map((_, i) => 'k' + i), 'shared'].sort(), `${g.id} holds every key`)
      }
      t.equal(new Set(nodes.map((g) => g.get('shared').value)).size, 1, 'one winner for the key written on two nodes')
      t.deepEqual(invalid, [], 'nothing was refused')
    })
  }
}

test('a node in the middle of a line: a neighbour destroyed leaves the other link running', async (t) => {
  const [a, b, c] = ['A', 'B', 'C'].map((id) => node(id))
  wire([[a, b], [b, c]], false)
  a.set('x', 1)
  t.equal(await converge([a, b, c]), 1, 'x went from A through B to C in one round')
  c.destroy()
  await quiet(5)
  a.set('y', 2)
  for (let i = 0; i < 3; i++) {
    a.gossip()
    b.gossip()
    await quiet(5)
  }
  t.equal(b.get('y').value, 2, 'A and B still replicate after C ended')
  t.notOk(b.writableEnded || b.destroyed, 'B stays open')
  t.equal(a.get('y').version, b.get('y').version, 'B holds the write A made after C went')
})

test('a neighbour piped twice is still one neighbour: everything reaches the far end', async (t) => {
  const [a, b, c] = ['A', 'B', 'C'].map((id) => node(id))
  wire([[a, b], [b, c], [b, c]], false)
  a.set('fromA', 1)
  c.set('fromC', 3)
  t.ok((await converge([a, b, c])) > 0, 'converged')
  t.equal(a.get('fromC').value, 3, "C's write reached A through B")
  t.equal(b.stats.streams, 2, 'B has its own stream and one for C')
})

test('unpipe either way takes a neighbour pair down; piping it again brings it back', async (t) => {
  const [a, b, c] = ['A', 'B', 'C'].map((id) => node(id))
  wire([[a, b], [b, c]], false)
  c.set('x', 1)
  await converge([a, b, c])
  t.equal(b.get('x').value, 1, 'linked: B has x')
  b.unpipe(c)
  c.unpipe(b)
  b.set('y', 2)
  c.set('fromC', 3)
  for (const g of [a, b, c]) g.gossip()
  await quiet(10)
  t.equal(c.get('y').value, null, 'unpiped: C does not get B\'s new write')
  t.equal(b.get('fromC').value, null, 'nor B C\'s')
  t.equal(b.stats.streams, 1, "C's stream on B is gone")
  wire([[b, c]], false)
  t.ok((await converge([a, b, c])) > 0, 'piped again: converged')
  t.equal(a.get('fromC').value, 3, "C's write reaches A again")
})

for (const how of ['end', 'destroy'] as const) {
  test(`neighbours that come and go (${how}) leave nothing behind on the hub: streams, listeners`, async (t) => {
    const a = node('A')
    const b = node('B')
    a.pipe(b).pipe(a)
    for (let i = 0; i < 60; i++) {
      const c = node('C' + i)
      wire([[b, c]], i % 2 === 1)
      b.set('k', i)
      b.gossip()
      await quiet(2)
      t.equal(c.get('k').value, i, `neighbour ${i} got the write`)
      c[how]()
      await quiet(2)
    }
    t.equal(b.stats.streams, 1, 'only B\'s own stream is left')
    t.ok(b.listenerCount('end') <= 3 && b.listenerCount('close') <= 4, `listeners on B stay few (end ${b.listenerCount('end')}, close ${b.listenerCount('close')})`)
    a.set('after', 1)
    t.equal(await converge([a, b]), 1, 'A and B still replicate')
  })
}
