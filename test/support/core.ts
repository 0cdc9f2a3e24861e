/** Small builders for tests of the pure core. */
import { Replica } from '../../lib/core/replica.ts'
import { resolution, sort } from '../../lib/core/resolve.ts'
import { seededRandom } from '../../lib/core/random.ts'
import { Session, type SessionOptions, type SessionPort } from '../../lib/core/session.ts'
import type { DeltaOrder, ResolveFn } from '../../lib/core/types.ts'
import type { WireMessage } from '../../lib/protocol/messages.ts'
import { DEFAULT_LIMITS } from '../../lib/protocol/validate.ts'

export function replica(id: string, opts: { resolve?: ResolveFn; state?: Record<string, unknown>; gen?: string } = {}): Replica {
  return new Replica({
    id,
    gen: opts.gen,
    resolve: opts.resolve ?? resolution.lww_vs_current_vers,
    sort,
    maxHistory: 10,
    state: opts.state,
  })
}

/** A port that records what the session sends. */
export class CapturePort implements SessionPort {
  out: Record<string, unknown>[] = []
  invalids: string[] = []
  wants = 0
  full = false
  send(msg: WireMessage): void {
    this.out.push(JSON.parse(JSON.stringify(msg)))
  }
  room(): boolean {
    return !this.full
  }
  invalid(reason: string): void {
    this.invalids.push(reason)
  }
  wantExchange(): void {
    this.wants++
  }
  take(): Record<string, unknown>[] {
    const o = this.out
    this.out = []
    return o
  }
}

export function sessionOpts(mtu = 10, order: DeltaOrder = 'depth', seed = 1, verifyInterval?: number): SessionOptions {
  const o: SessionOptions = { mtu, order, random: seededRandom(seed), limits: DEFAULT_LIMITS, maxDigestEntries: 65536 }
  return verifyInterval === undefined ? o : { ...o, verifyInterval }
}

export function session(r: Replica, mtu = 10, order: DeltaOrder = 'depth', seed = 1, peer?: string, verifyInterval?: number): { s: Session; port: CapturePort } {
  const port = new CapturePort()
  const opts = sessionOpts(mtu, order, seed, verifyInterval)
  return { s: new Session(r, port, peer === undefined ? opts : { ...opts, peer: { id: peer } }), port }
}

/** Updates (not digests) among captured messages. */
export function updates(msgs: Record<string, unknown>[]): Record<string, unknown>[] {
  return msgs.filter((m) => m.digest !== true)
}

/** Two replicas' sessions wired to each other; `run` delivers until both are quiet. */
export function link(a: Replica, b: Replica, mtu = 10, order: DeltaOrder = 'depth', verifyInterval?: number) {
  const A = session(a, mtu, order, 11, b.id, verifyInterval)
  const B = session(b, mtu, order, 12, a.id, verifyInterval)
  const log: { from: 'a' | 'b'; msg: Record<string, unknown> }[] = []
  const run = () => {
    for (let guard = 0; guard < 100_000; guard++) {
      if (A.port.out.length) {
        const m = A.port.out.shift()!
        log.push({ from: 'a', msg: m })
        B.s.receive(m)
      } else if (B.port.out.length) {
        const m = B.port.out.shift()!
        log.push({ from: 'b', msg: m })
        A.s.receive(m)
      } else return
    }
    throw new Error('link did not go quiet')
  }
  /** Start an exchange from `a`, and follow-ups while either side asks for one. */
  const exchange = () => {
    let n = 0
    A.s.start()
    n++
    run()
    while (A.port.wants || B.port.wants || A.s.streaming || B.s.streaming || A.s.owes || B.s.owes) {
      if (A.s.owes || B.s.owes) {
        A.s.payDebts(true)
        B.s.payDebts(true)
        run()
        continue
      }
      if (A.s.streaming || B.s.streaming) {
        if (A.s.streaming) A.s.continueStream()
        if (B.s.streaming) B.s.continueStream()
        run()
        continue
      }
      if (A.port.wants) {
        A.port.wants = 0
        A.s.start()
      } else {
        B.port.wants = 0
        B.s.start()
      }
      n++
      run()
    }
    return n
  }
  return { A, B, log, run, exchange }
}
