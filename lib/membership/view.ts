/**
 * The bounded view: which members this node keeps outbound links to, and
 * whom it dials this round. Pure: the transport says what is connected, the
 * plan says what to dial and what to drop.
 *
 * The policy, after chitchat's and Cassandra's choice of gossip peers:
 * - keep `size` outbound links to random live members (fill when short);
 * - every `refreshEvery` rounds, swap one of them for a random live member
 *   not linked yet, so views stay random as the cluster changes;
 * - drop links to members this node holds dead or left;
 * - with probability dead / (live + 1), dial one dead member, to notice
 *   that it came back;
 * - when no seed is linked, dial a seed: always while fewer members are
 *   live than there are seeds (joining, or cut off), else with
 *   probability seeds / (live + dead + 1), so that parts of a cluster cut
 *   apart find each other again through the seeds;
 * - dial no member in `barred` (its address is held back, or another id
 *   claims it: see dial-backoff.ts), and at most `budget` members a round
 *   (seeds are not counted); a refresh waits for a dial to spare, so that
 *   no link is dropped without one to replace it.
 */
import { randomInt, shuffle } from '../core/random.ts'
import type { RandomFn } from '../core/types.ts'

export interface ViewOptions {
  /** Outbound links to keep. */
  readonly size: number
  /** Swap one outbound link every this many rounds. */
  readonly refreshEvery: number
}

export const VIEW_DEFAULTS: ViewOptions = Object.freeze({ size: 6, refreshEvery: 10 })

/** A member the view may dial. */
export interface Candidate {
  readonly id: string
  readonly addr: string
}

export interface ViewInput {
  /** Alive and suspect members other than this node. */
  readonly live: readonly Candidate[]
  /** Dead members (not left ones: they are gone on purpose). */
  readonly dead: readonly Candidate[]
  /** Seed addresses, this node's own excluded. */
  readonly seeds: readonly string[]
  /** Ids with an open link, either direction. */
  readonly connected: ReadonlySet<string>
  /** Ids of this node's outbound links (open). */
  readonly outbound: readonly string[]
  /** Members held dead or left. */
  readonly gone: ReadonlySet<string>
  /** Whether some open link is to a seed. */
  readonly seedLinked: boolean
  /** Ids of the open links that go to seeds (the first swapped out once the view can do without). */
  readonly seedIds: ReadonlySet<string>
  /** Addresses being dialled now. */
  readonly dialing: ReadonlySet<string>
  /** Rounds so far. */
  readonly round: number
  /** Members not to dial this round (by id). Default none. */
  readonly barred?: ReadonlySet<string>
  /** Most members to dial this round (seeds not counted). Default no bound. */
  readonly budget?: number
}

export type DialReason = 'fill' | 'refresh' | 'probe' | 'seed'

export interface ViewPlan {
  readonly dial: { addr: string; id?: string; why: DialReason }[]
  readonly drop: { id: string; why: string }[]
  /** Member dials wanted beyond the budget (not made). */
  readonly deferred: number
}

export function planView(input: ViewInput, opts: ViewOptions, random: RandomFn): ViewPlan {
  const dial: { addr: string; id?: string; why: DialReason }[] = []
  const drop: { id: string; why: string }[] = []
  const dialing = new Set(input.dialing)
  const kept: string[] = []
  for (const id of input.outbound) {
    if (input.gone.has(id)) drop.push({ id, why: 'member is dead or left' })
    else kept.push(id)
  }
  // Members that may be dialled for the view: live, not linked, not being dialled; drawn at random.
  const barred = input.barred
  const usable = (c: Candidate) => !input.connected.has(c.id) && !dialing.has(c.addr) && (barred === undefined || !barred.has(c.id))
  const free = input.live.filter(usable)
  let budget = input.budget ?? Number.POSITIVE_INFINITY
  let deferred = 0
  const take = (why: DialReason): boolean => {
    if (free.length === 0 || budget <= 0) return false
    const i = randomInt(random, free.length)
    const c = free[i]
    free[i] = free[free.length - 1]
    free.pop()
    dial.push({ addr: c.addr, id: c.id, why })
    dialing.add(c.addr)
    budget--
    return true
  }
  let count = kept.length + input.dialing.size
  while (count < opts.size && take('fill')) count++
  if (budget <= 0) deferred += Math.min(Math.max(0, opts.size - count), free.length)
  if (kept.length > opts.size + 1) {
    // Probes and seed links that succeeded come on top of the view: trim it back.
    for (const id of shuffle(kept.slice(), random).slice(0, kept.length - opts.size)) drop.push({ id, why: 'view trimmed' })
  } else if (input.round % opts.refreshEvery === 0 && kept.length >= opts.size && free.length > 0 && budget <= 0) {
    deferred++
  } else if (input.round % opts.refreshEvery === 0 && kept.length >= opts.size && free.length > 0) {
    // A seed goes first once there are members enough: seeds are for joining, not for every round.
    const seed = input.live.length > opts.size ? kept.find((id) => input.seedIds.has(id)) : undefined
    drop.push({ id: seed ?? kept[randomInt(random, kept.length)], why: 'view refreshed' })
    take('refresh')
  }
  const dead = input.dead.filter(usable)
  if (dead.length > 0 && random() < input.dead.length / (input.live.length + 1)) {
    if (budget <= 0) deferred++
    else {
      const c = dead[randomInt(random, dead.length)]
      dial.push({ addr: c.addr, id: c.id, why: 'probe' })
      dialing.add(c.addr)
      budget--
    }
  }
  const seeds = input.seeds.filter((a) => !dialing.has(a))
  if (!input.seedLinked && seeds.length > 0) {
    const few = input.live.length < input.seeds.length
    if (few || random() < input.seeds.length / (input.live.length + input.dead.length + 1)) {
      dial.push({ addr: seeds[randomInt(random, seeds.length)], why: 'seed' })
    }
  }
  return { dial, drop, deferred }
}
