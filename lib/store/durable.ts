import { normalizeConfig, type GossipConfig } from '../config.ts'
import { Gossip } from '../stream/gossip.ts'
import { checkNodeId } from '../protocol/validate.ts'
import type { Dropped } from './log-replay.ts'
import { LogStore, type StoreOptions } from './log-store.ts'

export interface Durable {
  gossip: Gossip
  store: LogStore
  /** Warnings from recovery (a torn tail cut, a format 1 log converted, what repair dropped). */
  warnings: string[]
  /** Records loaded from the log (0 for a fresh folder). */
  loaded: number
  /** What repair mode dropped from a damaged log, or null. */
  repaired: Dropped | null
}

/**
 * A `Gossip` backed by a log in `store.dir`: state, clocks and version
 * leases survive restarts, and every change is journaled before it enters
 * state (a change the disk refuses is refused). A node restarted with its
 * folder resumes where it was; one restarted with an empty folder (or
 * whose log repair had to cut) gets a new generation, so its new writes
 * never collide with its earlier life's. What is read back is validated
 * with the gossip's limits and clock bound (`maxClockOffset`).
 */
export function openDurable(id: string, config: GossipConfig, storeOpts: StoreOptions): Durable {
  const cfg = normalizeConfig(config)
  checkNodeId(id, cfg.limits.maxIdLength) // before the folder is locked and a log written under it
  if (typeof storeOpts !== 'object' || storeOpts === null) throw new TypeError('openDurable(id, config, storeOpts): storeOpts must be an object with dir (the log\'s folder)')
  // The gossip's bounds, unless the store options give their own (undefined is "not given").
  const store = new LogStore(id, {
    ...storeOpts,
    limits: storeOpts.limits ?? cfg.limits,
    maxClockOffset: storeOpts.maxClockOffset ?? cfg.maxClockOffset,
    now: storeOpts.now ?? (() => cfg.versionClock() / 1000),
  })
  let gossip: Gossip
  try {
    gossip = new Gossip(id, { ...config, generation: store.generation })
    store.attach(gossip)
  } catch (err) {
    store.close()
    throw err
  }
  return {
    gossip,
    store,
    warnings: store.recovered?.warnings ?? [],
    loaded: store.recovered?.records.size ?? 0,
    repaired: store.recovered?.dropped ?? null,
  }
}
