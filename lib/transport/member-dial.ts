/**
 * Dialling for membership: one attempt at a time per address key
 * (member-address.ts), with the member id expected to answer there. What
 * comes of it feeds the dial backoff (dial-backoff.ts): a failure, or a
 * hello from another node than the one expected, holds the address back;
 * a hello from the expected node (or from any node whose record names that
 * address) clears it. Seeds (no id expected) are never held back. Failures
 * are logged rate-limited, one line per 10 s for all addresses. An address
 * that answers with this node's own id is not dialled again while it is
 * among the latest `MAX_SELF_ADDRESSES` such (`SelfAddresses`).
 */
import type { DialGate } from '../membership/dial-backoff.ts'
import { HelloRefused } from '../protocol/hello.ts'
import type { MemberTable } from '../membership/table.ts'
import type { Opener } from './link.ts'
import { addressKey, splitHostPort } from './member-address.ts'
import type { Network } from './network.ts'

/** The counters a dialler keeps (the membership's). */
export interface DialStats {
  dials: number
  dialFailures: number
  dialsWrongNode: number
}

/** Addresses that answered as this node, remembered (the most recent; see `SelfAddresses`). */
export const MAX_SELF_ADDRESSES = 1024

/**
 * The address keys of this node: the ones it was given (its advertised
 * address), kept, and those that answered a dial with its own id, the most
 * recent `max` of them. Any record can name an address, and a host can
 * answer with any id, so these are bounded: an address forgotten is dialled
 * again, under the dial rate, and learnt again.
 */
export class SelfAddresses {
  private readonly given = new Set<string>()
  /** In the order they were (last) learnt. */
  private readonly learnt = new Set<string>()

  constructor(private readonly max = MAX_SELF_ADDRESSES) {}

  /** Add an address key: `given` ones are kept; others go, oldest first, past `max`. */
  add(key: string, given = false): void {
    if (given) {
      this.learnt.delete(key)
      this.given.add(key)
      return
    }
    if (this.given.has(key)) return
    this.learnt.delete(key) // re-inserted: the most recent
    this.learnt.add(key)
    if (this.learnt.size > this.max) this.learnt.delete(this.learnt.values().next().value as string)
  }

  has(key: string): boolean {
    return this.given.has(key) || this.learnt.has(key)
  }

  get size(): number {
    return this.given.size + this.learnt.size
  }

  *[Symbol.iterator](): IterableIterator<string> {
    yield* this.given
    yield* this.learnt
  }
}

export class MemberDialer {
  /** Address keys being dialled, with the member id expected there (null: a seed). */
  readonly dialing = new Map<string, string | null>()
  /** Address keys of this node (its advertised one, and the latest that answered as itself). */
  readonly selfAddresses = new SelfAddresses()
  /** Keys of the addresses seen lately. */
  private readonly keys = new Map<string, string>()

  constructor(
    private readonly network: Network,
    private readonly table: MemberTable,
    private readonly gate: DialGate,
    private readonly stats: DialStats,
    private readonly opener: Opener,
    private readonly connectTimeout: number,
    /** Keys remembered (the table's addresses are looked at every round); past it they are computed afresh. */
    private readonly maxKeys: number,
  ) {}

  /** The key of an address. */
  keyOf(addr: string): string {
    let k = this.keys.get(addr)
    if (k === undefined) {
      if (this.keys.size >= this.maxKeys) this.keys.clear()
      k = addressKey(addr)
      this.keys.set(addr, k)
    }
    return k
  }

  /**
   * One attempt to link to the address key `addr`, where member `expected`
   * should answer (null: a seed); the next rounds decide whether to try
   * again. Returns whether a dial started.
   */
  dial(addr: string, expected: string | null): boolean {
    if (this.dialing.has(addr) || this.selfAddresses.has(addr)) return false
    const { network } = this
    const { host, port } = splitHostPort(addr)
    this.dialing.set(addr, expected)
    this.stats.dials++
    const attempt = this.opener({ host, port, address: addr })
    let settled = false
    // Acted on by its code, never its text: a refusal's reason carries the peer's words (hello.ts, HelloRefused).
    const failed = (err: Error) => done(err.message, '', err instanceof HelloRefused && err.code === 'ERR_SAME_ID')
    const done = (failure: string | null, peer = '', self = false) => {
      this.dialing.delete(addr)
      if (failure === null) return this.reached(addr, expected, peer)
      this.stats.dialFailures++
      if (self) return void this.selfAddresses.add(addr)
      if (failure === 'duplicate connection') {
        // A link kept the other way (both dialled) is no failure worth a log line; another node already linked is the wrong one.
        if (expected !== null && !network.peers.some((p) => p.id === expected)) this.wrongNode(addr, expected, 'a node already linked')
        return
      }
      if (expected !== null) this.gate.failed(addr, network.timers.now(), network.random)
      network.rateLog.line('member dial', `member dial ${addr}: ${failure}`)
    }
    const timer = network.timers.setTimeout(() => {
      if (settled) return
      settled = true
      attempt.cancel()
      done('connect timeout')
    }, this.connectTimeout)
    attempt.ready.then(
      (socket) => {
        if (settled) return void socket.destroy()
        settled = true
        network.timers.clearTimeout(timer)
        network.attach(socket, addr, 'out').then(
          (conn) => done(null, conn.id),
          failed,
        )
      },
      (err: Error) => {
        if (settled) return
        settled = true
        network.timers.clearTimeout(timer)
        failed(err)
      },
    )
    return true
  }

  /** A dial of `addr` said hello as `peer`: the node expected there (or one whose record names this address), or the wrong one. */
  private reached(addr: string, expected: string | null, peer: string): void {
    const rec = this.table.get(peer)?.record
    if (expected === null || peer === expected || (rec !== undefined && this.keyOf(rec.addr) === addr)) this.gate.succeeded(addr)
    else this.wrongNode(addr, expected, peer)
  }

  private wrongNode(addr: string, expected: string, found: string): void {
    const { network } = this
    this.stats.dialsWrongNode++
    const delay = this.gate.failed(addr, network.timers.now(), network.random)
    network.rateLog.line('member dial', `member dial ${addr}: ${found} answered, not ${expected}; not dialled again for ${delay} ms`)
  }
}
