/**
 * A hostile member for the fault simulator: it holds the cluster's
 * credentials (it may connect, and in signed clusters it has its own key),
 * and sends what the protocol allows with the worst values: forged digests
 * (any source, any version, gc floors, resync and stream flags, fake
 * fingerprints), done markers that close nothing, resets, updates of its own
 * sources with versions up to and past the clock bound, forged updates of
 * honest sources (refused in signed clusters: it lacks their keys; not sent
 * in plain ones, where they would simply be writes), genuine records it
 * received replayed with and without links, and garbage.
 *
 * It never lies about honest records' contents in a way a signature would
 * not catch: what the oracle checks is that no honest record is lost and
 * honest nodes converge.
 */
import { canonical } from '../../lib/protocol/canonical.ts'
import { randomInt } from '../../lib/core/random.ts'
import type { RandomFn, Rec, SignFn, VerifyFn } from '../../lib/core/types.ts'

/** A keyed hash standing in for ed25519 in simulations: only the key's holder can make it. */
function mac(text: string, key: string): string {
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  const s = key + '\u0000' + text
  for (let i = 0; i < s.length; i++) {
    a = Math.imul(a ^ s.charCodeAt(i), 0x01000193)
    b = Math.imul(b ^ s.charCodeAt(i), 0x01000193) ^ (b >>> 13)
  }
  return (a >>> 0).toString(16) + (b >>> 0).toString(16)
}

const keyOf = (source: string) => (source.startsWith('evil') ? 'key:evil' : `key:${source}`)

/** The signing function of `source` (every source signs with its own key). */
export function simSigner(): SignFn {
  return (rec) => mac(canonical(rec), keyOf(rec.source_id))
}

/** Verification against every source's key. */
export function simVerifier(): VerifyFn {
  return (rec) => typeof rec.sig === 'string' && rec.sig === mac(canonical(rec), keyOf(rec.source_id))
}

export class HostilePeer {
  readonly id = 'evil'
  /** Genuine records seen, for replays (the simulated runs are small). */
  private readonly seen: Rec[] = []
  private readonly seenIds = new Set<string>()
  private readonly ids = new Set<string>()
  private readonly gens = new Set<string>()
  sent = 0

  constructor(
    private readonly random: RandomFn,
    private readonly signed: boolean,
    private readonly honestKeys: number,
  ) {}

  /** Something an honest node sent it. */
  observe(obj: Record<string, unknown>): void {
    if (typeof obj.source_id === 'string') this.ids.add(obj.source_id)
    if (typeof obj.gen === 'string') this.gens.add(obj.gen)
    if (obj.digest === undefined && typeof obj.key === 'string') {
      const id = `${obj.source_id}/${obj.gen}@${obj.version}`
      if (!this.seenIds.has(id)) {
        this.seenIds.add(id)
        this.seen.push(obj as unknown as Rec)
      }
    }
  }

  /** Every genuine record it holds, as lines (sent to everyone before it leaves, so the oracle can count them as held). */
  dump(): string[] {
    return this.seen.map((g) => {
      const u: Record<string, unknown> = { ...g }
      delete u.prev
      delete u.rprev
      return JSON.stringify(u)
    })
  }

  /** Whether it holds a copy of `rec` (and may replay it): a write it holds is not lost with a disk. */
  holds(rec: Rec): boolean {
    return this.seenIds.has(`${rec.source_id}/${rec.gen}@${rec.version}`)
  }

  /** The next burst of lines to send an honest node whose clock reads `nowUs`. */
  burst(nowUs: number, offsetUs: number): string[] {
    const r = this.random
    const out: string[] = []
    const n = 1 + randomInt(r, 6)
    for (let i = 0; i < n; i++) out.push(this.line(nowUs, offsetUs))
    this.sent += out.length
    return out
  }

  private pick<T>(xs: T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[randomInt(this.random, xs.length)]
  }

  private version(nowUs: number, offsetUs: number): number {
    const r = this.random
    switch (randomInt(r, 6)) {
      case 0:
        return 1 + randomInt(r, 2000)
      case 1:
        return Math.max(1, Math.floor(nowUs - randomInt(r, 50_000)))
      case 2:
        return Math.floor(nowUs + offsetUs - randomInt(r, 1000))
      case 3:
        return Math.floor(nowUs + offsetUs + 1 + randomInt(r, 1_000_000))
      case 4:
        return 2 ** 52
      default:
        return Number.MAX_SAFE_INTEGER
    }
  }

  private line(nowUs: number, offsetUs: number): string {
    const r = this.random
    const ids = [...this.ids]
    const gens = [...this.gens]
    const anySource = () => (r() < 0.8 ? (this.pick(ids) ?? 'n0') : `evil${randomInt(r, 3)}`)
    const maybeGen = (o: Record<string, unknown>) => {
      if (r() < 0.4) {
        const g = this.pick(gens)
        if (g !== undefined) o.gen = g
      }
      return o
    }
    const hex = () => randomInt(r, 2 ** 30).toString(16).padStart(8, '0') + randomInt(r, 2 ** 30).toString(16).padStart(8, '0')
    switch (randomInt(r, 9)) {
      case 0:
      case 1: {
        const d: Record<string, unknown> = { digest: true, source_id: anySource(), version: r() < 0.3 ? 0 : this.version(nowUs, offsetUs) }
        if (r() < 0.5) d.gc = this.version(nowUs, offsetUs)
        if (r() < 0.3) d.upto = randomInt(r, 3) === 0 ? 0 : this.version(nowUs, offsetUs)
        return JSON.stringify(maybeGen(d))
      }
      case 2: {
        const d: Record<string, unknown> = { digest: true, done: true }
        for (const f of ['reply', 'more', 'final', 'resync', 'stream']) if (r() < 0.4) d[f] = true
        if (r() < 0.3) d.ack = randomInt(r, 10_000)
        if (r() < 0.5) {
          d.sum = hex()
          d.ck = hex()
        }
        return JSON.stringify(d)
      }
      case 3:
        return JSON.stringify(maybeGen({ digest: true, reset: true, source_id: anySource(), from: 0, to: this.version(nowUs, offsetUs), n: 0 }))
      case 4:
      case 5: {
        // One of its own sources, on keys of its own.
        const u: Record<string, unknown> = { key: `x${randomInt(r, 6)}`, value: randomInt(r, 100), source_id: `evil${randomInt(r, 3)}`, version: this.version(nowUs, offsetUs) }
        if (r() < 0.1) {
          u.value = null
          u.deleted = true
        }
        if (r() < 0.5) u.prev = randomInt(r, 2) === 0 ? 0 : Math.max(0, (u.version as number) - 1 - randomInt(r, 1000))
        if (this.signed) u.sig = mac(canonical(u as unknown as Rec), keyOf(u.source_id as string))
        return JSON.stringify(u)
      }
      case 6: {
        // A genuine record, replayed: as it was, or linked to itself.
        const g = this.pick(this.seen)
        if (g === undefined) return '{"digest":true,"done":true}'
        const u: Record<string, unknown> = { ...g }
        delete u.prev
        delete u.rprev
        if (r() < 0.5) u.prev = g.version - 1
        return JSON.stringify(u)
      }
      case 7: {
        // A forged update of an honest source: refused without its key. Only in signed clusters.
        if (!this.signed) return '{"digest":true,"done":true,"reply":true}'
        const honest = ids.filter((id) => !id.startsWith('evil'))
        const u: Record<string, unknown> = maybeGen({ key: `k${randomInt(r, this.honestKeys)}`, value: -1, source_id: this.pick(honest) ?? 'n0', version: this.version(nowUs, offsetUs) })
        if (r() < 0.5) u.prev = 0
        u.sig = mac(canonical(u as unknown as Rec), 'key:evil')
        return JSON.stringify(u)
      }
      default: {
        const junk = ['{}', '[]', 'null', '{"key":1}', '{"digest":"yes"}', '{"key":"k0","value":1,"source_id":"n0","version":-5}', '{not json', '{"digest":true,"source_id":"","version":1}']
        return junk[randomInt(r, junk.length)]
      }
    }
  }
}
