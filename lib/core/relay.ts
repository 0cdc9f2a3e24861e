import type { Source } from './clock.ts'
import type { PeerView } from './peer-view.ts'
import type { Replica } from './replica.ts'
import type { Outgoing } from './responder.ts'
import type { SessionPort, SessionStats } from './session-types.ts'
import type { Rec } from './types.ts'
import { encodeRelay } from '../protocol/messages.ts'

/**
 * Prompt relay with one peer: a record another peer sent, once applied
 * here, goes on to this peer at once, unless it holds it (by what we know
 * of its clock) or asked us not to relay its source.
 *
 * Links: when our clock covers the record, nothing of its source lies
 * between the record before it in our log and it, so that is its link (a
 * chain the peer's clock may follow, as it follows a source's own pushes);
 * otherwise (or when a record we passed over lies between: holes.ts) it
 * is linked to its own version minus one and moves no clock.
 *
 * Relay trees (as in Plumtree): a relayed record we already held means
 * another path is faster, so we ask this peer to stop relaying that
 * source (`duplicate`); the peer's requests arrive through `control`.
 * Exchanges still carry anything a pruned path would have, so a tree that
 * breaks costs latency, never data.
 */
export class Relays {
  /** Sources the peer asked us not to relay. */
  private readonly off = new Set<Source>()
  /** Sources we asked the peer not to relay to us. */
  private readonly pruned = new Set<Source>()
  /** Relays held until the end of this turn (`hold`, `release`), as record, source pairs. */
  private held: (Rec | Source)[] = []

  constructor(
    private readonly replica: Replica,
    private readonly out: Outgoing,
  ) {}

  /** Relay `rec` now (see `offer`), counted in `stats.relayed`; no room: ask for an exchange instead. */
  relay(rec: Rec, src: Source, view: PeerView, port: SessionPort, stats: SessionStats): void {
    if (this.offer(rec, src, view, () => port.room())) stats.relayed++
    else if (!port.room()) port.wantExchange()
  }

  /** Relay `rec` if this peer lacks it and there is room; returns whether it went. */
  offer(rec: Rec, src: Source, view: PeerView, room: () => boolean): boolean {
    if (this.off.has(src)) return false
    const f = view.floor(src)
    if (rec.version <= f || rec.version <= view.holdOf(src, this.replica.self) || !room()) return false
    const pred = src.log.versionBefore(rec.version)
    if (rec.version <= src.clock && src.gc <= pred && view.selfLimit <= pred && !this.replica.clock.holes.between(src, pred, rec.version)) {
      this.out.sendLinked(rec, pred)
      if (pred <= f) view.noteSent(src, rec.version)
    } else this.out.sendLinked(rec, rec.version - 1)
    return true
  }

  /**
   * Hold a relay until the end of the turn: by then the peer may be known to
   * hold the record (its own relay of it crossed ours), and `offer` skips it.
   * Returns true for the first held since the last release.
   */
  hold(rec: Rec, src: Source): boolean {
    this.held.push(rec, src)
    return this.held.length === 2
  }

  /** Hand every held relay to `offer`, in the order held. */
  release(offer: (rec: Rec, src: Source) => unknown): void {
    const h = this.held
    this.held = []
    for (let i = 0; i < h.length; i += 2) offer(h[i] as Rec, h[i + 1] as Source)
  }

  /** The peer relayed a record of `src` we already held: ask it to stop relaying that source. */
  duplicate(src: Source): void {
    if (this.pruned.has(src)) return
    this.pruned.add(src)
    this.out.send(encodeRelay(src.id, src.gen, false))
  }

  /** The peer asks us to stop (`on` false) or start again relaying a source. */
  control(source_id: string, gen: string | undefined, on: boolean): void {
    const src = this.replica.clock.find(source_id, gen)
    if (src === undefined) return
    if (on) this.off.delete(src)
    else this.off.add(src)
  }
}
