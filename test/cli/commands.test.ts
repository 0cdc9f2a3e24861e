/** The command interpreter against real nodes: results, errors, the state hash, connect and peers. */
import test from 'tape'
import { commandContext, formatResult, runCommand, stateHash, type CommandContext, type CommandOk, type CommandResult } from '../../lib/cli/commands.ts'
import { Network, join, listen } from '../../lib/net.ts'
import { node, waitFor } from '../support/streams.ts'

const contexts: CommandContext[] = []

/** A node with its network (closed by the last test). */
function ctx(id: string): CommandContext {
  const g = node(id, { mtu: 100 })
  const c = commandContext(g, new Network(g, { interval: 50, backoff: { initial: 10, max: 100 } }))
  contexts.push(c)
  return c
}

function ok(r: CommandResult): CommandOk {
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`)
  return r
}

test('set, get, del and keys', (t) => {
  const c = ctx('a')
  const set = ok(runCommand(c, 'set colour {"name": "teal", "rgb": [0, 128, 128]}'))
  t.deepEqual(set, { ok: true, cmd: 'set', key: 'colour', value: { name: 'teal', rgb: [0, 128, 128] }, version: 1, applied: true })
  t.deepEqual(c.gossip.get('colour').value, { name: 'teal', rgb: [0, 128, 128] }, 'a JSON value is stored parsed')
  ok(runCommand(c, 'set greeting hello   world'))
  t.equal(c.gossip.get('greeting').value, 'hello   world', 'text that is not JSON is stored as a string, spaces kept')
  ok(runCommand(c, 'set n 42'))
  t.equal(c.gossip.get('n').value, 42, 'a number')
  ok(runCommand(c, 'set s "42"'))
  t.equal(c.gossip.get('s').value, '42', 'a JSON string')
  ok(runCommand(c, 'set "two words" true'))
  t.equal(c.gossip.get('two words').value, true, 'a quoted key with a space')

  t.deepEqual(ok(runCommand(c, 'get colour')), {
    ok: true,
    cmd: 'get',
    key: 'colour',
    found: true,
    value: { name: 'teal', rgb: [0, 128, 128] },
    version: 1,
    source_id: 'a',
  })
  const missing = ok(runCommand(c, 'get nothing'))
  t.equal(missing.found, false, 'an absent key is not found')
  t.equal(missing.deleted, false)
  t.deepEqual(ok(runCommand(c, 'keys')).keys, ['colour', 'greeting', 'n', 's', 'two words'], 'keys, sorted')

  const del = ok(runCommand(c, 'del n'))
  t.equal(del.existed, true, 'del reports the key held a value')
  const gone = ok(runCommand(c, 'get n'))
  t.equal(gone.found, false, 'a deleted key is not found')
  t.equal(gone.deleted, true, 'and is reported as deleted')
  t.equal(c.gossip.record('n')?.deleted, true, 'del wrote a tombstone')
  t.deepEqual(ok(runCommand(c, 'keys')).keys, ['colour', 'greeting', 's', 'two words'])
  t.equal(ok(runCommand(c, 'del never')).existed, false)
  t.equal(ok(runCommand(c, '  GET   colour  ')).found, true, 'case and surrounding spaces do not matter')
  t.end()
})

test('bad commands give error results, never throw', (t) => {
  const c = ctx('b')
  const cases: [string, string, RegExp][] = [
    ['', '', /empty command/],
    ['   ', '', /empty command/],
    ['frobnicate 1', 'frobnicate', /unknown command "frobnicate"/],
    ['set', 'set', /set needs a key and a value/],
    ['set onlykey', 'set', /set needs a key and a value/],
    ['get', 'get', /get needs a key/],
    ['get a b', 'get', /takes one key/],
    ['get "unterminated', 'get', /bad quoted key/],
    ['del', 'del', /del needs a key/],
    ['keys now', 'keys', /takes no arguments/],
    ['stats all', 'stats', /takes no arguments/],
    ['connect', 'connect', /connect needs an address/],
    ['connect nowhere', 'connect', /must be host:port, got "nowhere"/],
    ['connect host:99999', 'connect', /needs a port between 1 and 65535/],
    ['set deep ' + '['.repeat(100) + ']'.repeat(100), 'set', /depth|deep/i],
    ['set ' + 'k'.repeat(5000) + ' 1', 'set', /maxKeyLength/],
  ]
  for (const [line, cmd, error] of cases) {
    let r: CommandResult | undefined
    t.doesNotThrow(() => (r = runCommand(c, line)), `${JSON.stringify(line.slice(0, 30))} does not throw`)
    if (r === undefined || r.ok) {
      t.fail(`${JSON.stringify(line.slice(0, 30))} should fail`)
      continue
    }
    t.equal(r.cmd, cmd, `cmd of ${JSON.stringify(line.slice(0, 30))}`)
    t.match(r.error, error, r.error.slice(0, 80))
  }
  t.equal([...c.gossip.records()].length, 0, 'no failed command changed the state')
  t.end()
})

test('stats: counts, and a hash equal exactly for equal state', (t) => {
  const a = ctx('h1')
  const b = ctx('h2')
  const empty = ok(runCommand(a, 'stats'))
  t.equal(empty.hash, ok(runCommand(b, 'stats')).hash, 'two empty nodes have the same hash')
  runCommand(a, 'set x 1')
  runCommand(a, 'set y {"z": 2}')
  runCommand(a, 'del y')
  const s = ok(runCommand(a, 'stats'))
  t.equal(s.keys, 1, 'one live key')
  t.equal(s.records, 2, 'two records, the tombstone included')
  t.equal(s.version, 3)
  t.equal(s.applied, 3)
  t.equal(s.peers, 0)
  t.equal(s.bytesIn, 0)
  t.equal(s.bytesOut, 0)
  t.equal(typeof s.rejected, 'number')
  t.match(String(s.hash), /^[0-9a-f]{64}$/, 'a sha256 hex digest')
  t.notEqual(s.hash, empty.hash, 'writes change the hash')

  // b receives a's records as a peer would: same records, same hash.
  for (const r of a.gossip.records()) b.gossip.write({ ...r })
  t.equal(stateHash(b.gossip), stateHash(a.gossip), 'equal records give equal hashes')
  runCommand(b, 'set x 1')
  t.notEqual(stateHash(b.gossip), stateHash(a.gossip), 'the same value at another version is another state')
  // Tombstones are left out: the writer keeps its own, the others forget theirs after the grace period.
  const c = ctx('h3')
  const d = ctx('h4')
  for (const r of a.gossip.records()) if (r.deleted !== true) d.gossip.write({ ...r })
  for (const r of a.gossip.records()) c.gossip.write({ ...r })
  t.equal(c.gossip.size, 2, 'one node holds the tombstone of y')
  t.equal(d.gossip.size, 1, 'the other has forgotten it')
  t.equal(stateHash(c.gossip), stateHash(d.gossip), 'same live state, same hash')
  // Key order in an object value is not part of it (a relay may change it; signatures and fingerprints ignore it).
  const e = ctx('h5')
  const f = ctx('h6')
  e.gossip.write({ key: 'o', value: { x: 1, y: { p: 1, q: 2 } }, source_id: 'z', version: 9 })
  f.gossip.write({ key: 'o', value: { y: { q: 2, p: 1 }, x: 1 }, source_id: 'z', version: 9 })
  t.equal(stateHash(e.gossip), stateHash(f.gossip), 'values differing only in key order hash alike')
  t.end()
})

test('connect and peers against a second node on loopback', async (t) => {
  const a = ctx('alpha')
  const b = ctx('beta')
  const { port } = await listen(b.network, { port: 0, host: '127.0.0.1' })
  runCommand(b, 'set from-beta 7')
  const r = ok(runCommand(a, `connect 127.0.0.1:${port}`))
  t.equal(r.address, `127.0.0.1:${port}`)
  t.equal(r.dialing, true, 'a new address is dialled')
  t.equal(ok(runCommand(a, `connect 127.0.0.1:${port}`)).dialing, false, 'the same address is dialled once')
  await waitFor(() => a.gossip.get('from-beta').value === 7, 10_000, 'the value from beta')
  t.pass('state flowed over the connection')
  const peers = ok(runCommand(a, 'peers')).peers as { id: string; address: string; direction: string; bytesIn: number; bytesOut: number }[]
  t.equal(peers.length, 1, 'one peer')
  t.equal(peers[0].id, 'beta')
  t.equal(peers[0].address, `127.0.0.1:${port}`)
  t.equal(peers[0].direction, 'out')
  t.ok(peers[0].bytesIn > 0 && peers[0].bytesOut > 0, 'bytes flowed both ways')
  const bPeers = ok(runCommand(b, 'peers')).peers as { id: string; direction: string }[]
  t.deepEqual(bPeers.map((p) => [p.id, p.direction]), [['alpha', 'in']], 'beta sees alpha inbound')
  const s = ok(runCommand(a, 'stats'))
  t.equal(s.peers, 1)
  t.ok((s.bytesIn as number) > 0, 'stats totals the bytes of connected peers')
  await waitFor(() => stateHash(a.gossip) === stateHash(b.gossip), 10_000, 'equal state')
  t.equal(ok(runCommand(a, 'stats')).hash, ok(runCommand(b, 'stats')).hash, 'converged nodes report the same hash')
  t.end()
})

test('formatResult: one JSON line, or text', (t) => {
  const c = ctx('f')
  const set = runCommand(c, 'set "a b" {"v": 1}')
  t.deepEqual(JSON.parse(formatResult(set, true)), set, 'JSON mode is the result itself')
  t.notOk(formatResult(ok(runCommand(c, 'stats')), true).includes('\n'), 'a JSON result is one line')
  t.equal(formatResult(set, false), 'ok "a b" = {"v":1} (version 1)')
  t.equal(formatResult(runCommand(c, 'get "a b"'), false), '"a b" = {"v":1} (version 1 from f)')
  t.equal(formatResult(runCommand(c, 'get zz'), false), 'zz: not found')
  t.equal(formatResult(runCommand(c, 'keys'), false), '"a b"')
  t.equal(formatResult(runCommand(c, 'nope'), false), 'error: unknown command "nope" (try help)')
  t.equal(formatResult(runCommand(c, 'peers'), false), '(no peers)')
  t.match(formatResult(runCommand(c, 'stats'), false), /^keys 1, records 1, version 1, peers 0, .* hash [0-9a-f]{64}$/)
  t.match(formatResult(runCommand(c, 'help'), false), /set <key> <value>[\s\S]*quit/)
  t.deepEqual(runCommand(c, 'quit'), { ok: true, cmd: 'quit' })
  t.end()
})

test('members: rows for each member, counts in stats; without membership, none', async (t) => {
  const plain = ctx('solo')
  t.deepEqual(ok(runCommand(plain, 'members')).members, [], 'a node without membership lists no member')
  t.equal(ok(runCommand(plain, 'stats')).members, undefined, 'and stats has no member counts')
  t.equal(formatResult(runCommand(plain, 'members'), false), '(no membership: start the node with --seed or --members)', 'as text')
  const a = ctx('ma')
  const b = ctx('mb')
  const la = await listen(a.network, { port: 0, host: '127.0.0.1' })
  const lb = await listen(b.network, { port: 0, host: '127.0.0.1' })
  join(a.network, { advertise: `127.0.0.1:${la.port}` })
  join(b.network, { advertise: `127.0.0.1:${lb.port}`, seeds: [`127.0.0.1:${la.port}`] })
  await waitFor(() => ok(runCommand(a, 'members')).members !== undefined && (ok(runCommand(a, 'members')).members as unknown[]).length === 2, 10_000, 'a to list b')
  const rows = ok(runCommand(a, 'members')).members as { id: string; state: string; address: string; self: boolean }[]
  t.deepEqual(rows.map((r) => [r.id, r.state, r.address, r.self]), [['ma', 'alive', `127.0.0.1:${la.port}`, true], ['mb', 'alive', `127.0.0.1:${lb.port}`, false]], 'two rows, sorted by id')
  t.deepEqual(ok(runCommand(a, 'stats')).members, { total: 2, alive: 2, suspect: 0, dead: 0, left: 0 }, 'stats counts them')
  t.match(formatResult(runCommand(a, 'members'), false), /^ma alive 127\.0\.0\.1:\d+ generation \d+ heartbeat \d+ \(this node\)\nmb alive 127\.0\.0\.1:\d+ generation \d+ heartbeat \d+ phi [\d.]+$/, 'as text, one line a member')
  t.match(formatResult(runCommand(a, 'stats'), false), /members 2 \(alive 2, suspect 0, dead 0, left 0\), hash/, 'the stats line counts members')
  t.equal(runCommand(a, 'members now').ok, false, 'members takes no argument')
  t.end()
})

test('teardown', async (t) => {
  await Promise.all(contexts.map((c) => c.network.close()))
  t.pass('networks closed')
  t.end()
})
