/** Signed updates, the accept hook and the version-jump bound. */
import test from 'tape'
import { Gossip, base, type Rec } from '../../lib/index.ts'
import { generateSigningKeys, signer, verifier } from '../../lib/security.ts'
import { quiet, sameState, until } from '../support/streams.ts'
import { MEMBER_KEY, signedForm } from '../../lib/membership/record.ts'
import type { MemberRecord } from '../../lib/membership/types.ts'

const keys = { a: generateSigningKeys(), b: generateSigningKeys(), mallory: generateSigningKeys() }
const publicKeys = { a: keys.a.publicKey, b: keys.b.publicKey }

function signed(id: 'a' | 'b', extra: object = {}): Gossip {
  return new Gossip(id, {
    ...base.config,
    resolve: base.resolution.lww_vs_current_vers,
    sign: signer(keys[id].privateKey),
    verify: verifier(publicKeys),
    ...extra,
  })
}

function refusals(g: Gossip): string[] {
  const out: string[] = []
  g.on('invalid', (reason) => out.push(reason))
  return out
}

test('signed nodes replicate; every record carries its source\'s signature', async (t) => {
  const a = signed('a')
  const b = signed('b')
  a.pipe(b).pipe(a)
  a.set('x', 1)
  b.set('y', { nested: [1, 2] })
  a.gossip()
  await until(() => sameState([a, b]) && a.size === 2)
  t.equal(typeof b.record('x')?.sig, 'string', 'b holds a\'s record with its signature')
  t.ok(verifier(publicKeys)(b.record('x') as Rec), 'and it verifies')
  t.equal(a.stats.invalid + b.stats.invalid, 0, 'nothing refused')
  t.end()
})

test('a relay cannot alter another source\'s update', async (t) => {
  const a = signed('a')
  a.set('balance', 10)
  const original = a.record('balance') as Rec
  const b = signed('b')
  const seen = refusals(b)
  b.write({ ...original, value: 1_000_000 }) // the relay changed the value
  b.write({ ...original, key: 'other' }) // or the key
  b.write({ ...original, version: original.version + 5 }) // or the version
  await quiet()
  t.deepEqual(seen, ['bad signature', 'bad signature', 'bad signature'], 'all three refused')
  t.equal(b.size, 0, 'nothing applied')
  b.write(original)
  await quiet()
  t.equal(b.get('balance').value, 10, 'the genuine update is applied')
  t.end()
})

test('a forged or unsigned update is refused; an old signed update cannot be replayed as new', async (t) => {
  const a = signed('a')
  a.set('k', 'first')
  const old = a.record('k') as Rec
  a.set('k', 'second')
  const latest = a.record('k') as Rec
  const b = signed('b')
  const seen = refusals(b)
  const forged = { key: 'k', value: 'evil', source_id: 'a', version: 99 }
  b.write({ ...forged, sig: signer(keys.mallory.privateKey)(forged) }) // signed with the wrong key
  b.write(forged) // unsigned
  b.write({ key: 'k', value: 'x', source_id: 'nobody', version: 3, sig: 'AAAA' }) // unknown source
  b.write(latest)
  b.write(old) // replayed
  await quiet()
  t.deepEqual(seen, ['bad signature', 'unsigned update', 'no key for this source'], 'forgeries refused (a source without a key as such)')
  t.equal(b.get('k').value, 'second', 'the replay of the older update did not win')
  t.equal(b.stats.rejected, 1, 'it was refused by resolve, as stale')
  t.end()
})

test('accept: the application decides which sources may write which keys', async (t) => {
  const accepted: [string, string | undefined][] = []
  const b = new Gossip('b', {
    ...base.config,
    resolve: base.resolution.lww_vs_current_vers,
    accept: (u, peer) => {
      accepted.push([u.key, peer.id])
      return u.key.startsWith(`${u.source_id}/`)
    },
  })
  const seen = refusals(b)
  const fromA = b.createStream({ peer: { id: 'a' } })
  fromA.write({ key: 'a/profile', value: 1, source_id: 'a', version: 1 })
  fromA.write({ key: 'c/profile', value: 1, source_id: 'a', version: 2 })
  await quiet()
  t.equal(b.get('a/profile').value, 1, 'a may write under a/')
  t.equal(b.get('c/profile').version, -Infinity, 'but not under c/')
  t.deepEqual(seen, ['not accepted'], 'refused with a reason')
  t.deepEqual(accepted, [['a/profile', 'a'], ['c/profile', 'a']], 'the hook sees the peer\'s id')
  // The node's own writes answer to the same rule: every peer would refuse one it refuses.
  t.doesNotThrow(() => b.set('b/mine', 1), 'its own keys it may write')
  t.throws(() => b.set('a/theirs', 1), /not accepted/, 'a write its own accept refuses throws')
  t.throws(() => b.del('a/profile'), /not accepted/, 'so does such a delete')
  t.deepEqual([b.get('b/mine').value, b.get('a/theirs').version, b.get('a/profile').value], [1, -Infinity, 1], 'state unchanged by the refused writes')
  t.deepEqual(accepted.slice(2).map(([k, id]) => `${k}:${id}`), ['b/mine:b', 'a/theirs:b', 'a/profile:b'], 'asked with the node itself as the peer')
  t.end()
})

test('a forged enormous version is refused and cannot block a source', async (t) => {
  const a = new Gossip('a', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  const b = new Gossip('b', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
  const seen = refusals(b)
  b.write({ key: 'k', value: 'forged', source_id: 'a', version: Number.MAX_SAFE_INTEGER - 1 })
  await quiet()
  t.deepEqual(seen, ["version too far ahead of this node's clock (clock skew?)"], 'refused')
  t.equal(b.version, 0, 'b\'s version did not jump')
  a.pipe(b).pipe(a)
  a.set('k', 'real')
  a.gossip()
  await until(() => b.get('k').value === 'real')
  t.pass('the real source\'s later writes still reach b')
  t.ok(b.set('own', 1), 'and b can still write')
  t.end()
})

test('a signature peers and the log would refuse (no string, or over 1,024 characters) is refused at set, before anything is stored or sent', async (t) => {
  for (const [what, sign] of [
    ['2,000 characters', () => 'x'.repeat(2000)],
    ['a number', () => 42 as unknown as string],
  ] as const) {
    const g = new Gossip('s', { ...base.config, resolve: base.resolution.lww_vs_current_vers, sign })
    const peer = new Gossip('p', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
    g.pipe(peer).pipe(g)
    const logged: Rec[] = []
    g.history.on('update', (u) => logged.push(u))
    t.throws(() => g.set('k', 1), (err: Error) => err.name === 'RefusedError' && /config\.sign must return a string of at most 1024 characters/.test(err.message), `${what}: set throws a RefusedError`)
    g.gossip()
    await quiet(5)
    t.equal(g.get('k').value, null, `${what}: nothing held`)
    t.equal(logged.length, 0, `${what}: nothing in history (nothing journaled)`)
    t.equal(peer.get('k').value, null, `${what}: nothing sent`)
    g.destroy()
    peer.destroy()
  }
  const ok = new Gossip('s', { ...base.config, resolve: base.resolution.lww_vs_current_vers, sign: () => 'y'.repeat(1024) })
  ok.set('k', 1)
  t.equal(ok.get('k').value, 1, 'a signature of exactly 1,024 characters is taken')
  t.end()
})

test('records of a source this node holds no key for are refused without fault and passed over: an honest relay keeps its link (a key rollout)', async (t) => {
  const d = generateSigningKeys()
  const all = { ...publicKeys, d: d.publicKey }
  const writer = new Gossip('d', { ...base.config, resolve: base.resolution.lww_vs_current_vers, sign: signer(d.privateKey), verify: verifier(all) })
  const b = signed('b', { verify: verifier(all) }) // has d's key already
  const a = signed('a') // not yet
  const faults: Array<[string, boolean]> = []
  writer.pipe(b).pipe(writer)
  const sa = a.createStream()
  const sb = b.createStream()
  sa.on('invalid', (reason: string, _o: unknown, fault: boolean) => faults.push([reason, fault]))
  sa.pipe(sb).pipe(sa)
  for (let i = 0; i < 30; i++) writer.set(`d/${i}`, i)
  b.set('b/1', 1)
  for (let r = 0; r < 4; r++) {
    writer.gossip()
    b.gossip()
    a.gossip()
    await quiet()
  }
  t.ok(faults.length > 0, 'a refused d\'s records (the case under test happened)')
  t.ok(faults.every(([reason, fault]) => reason === 'no key for this source' && fault === false), 'each as "no key for this source", not held against the relay')
  t.equal(a.get('b/1').value, 1, "b's own write reached a")
  t.equal(a.stats.invalid, faults.length, 'counted as refused')
  const rounds = faults.length
  for (let r = 0; r < 4; r++) {
    b.gossip()
    a.gossip()
    await quiet()
  }
  t.ok(faults.length - rounds <= 30, `passed over, not fetched again round after round (${faults.length - rounds} more refusals in 4 rounds)`)
  t.ok(verifier(all).knows?.('d') === true && verifier(publicKeys).knows?.('d') === false, "the verifier says which sources it holds keys for")
  t.end()
})

test('a node\'s signed member record cannot be replayed as an application write: the library\'s key namespace is refused from peers and at set', async (t) => {
  // What a member record of a's signs (lib/membership/record.ts signedForm): a's signature over it verifies as a record.
  const member: MemberRecord = { id: 'a', gen: 7, v: 3, addr: '127.0.0.1:9000', st: 'up' }
  const replayed = { ...signedForm(member), sig: signer(keys.a.privateKey)(signedForm(member)) } as Rec
  t.ok(verifier(publicKeys)(replayed), 'the replayed record carries a\'s valid signature')
  const b = signed('b')
  const seen = refusals(b)
  b.write(replayed)
  b.write({ key: `${MEMBER_KEY}x`, value: 1, source_id: 'a', version: 1 })
  await quiet()
  t.equal(b.record(MEMBER_KEY), undefined, 'b holds nothing under the member key')
  t.equal(b.size, 0, 'nor anything else')
  t.deepEqual(seen, ['update key in the reserved namespace', 'update key in the reserved namespace'], 'both refused as reserved')
  const a = signed('a')
  t.throws(() => a.set(MEMBER_KEY, { addr: 'x' }), /reserved for the library/, 'set refuses the reserved namespace')
  t.throws(() => a.del(`${MEMBER_KEY}/y`), /reserved for the library/, 'and so does del')
  a.set('\u0000other', 1)
  t.equal(a.get('\u0000other').value, 1, 'other keys starting with NUL stay the application\'s')
  t.end()
})
