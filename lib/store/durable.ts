import type { GossipConfig } from '../config.ts'
import { Gossip } from '../stream/gossip.ts'
import { LogStore, type StoreOptions } from './log-store.ts'

export interface Durable {
  gossip: Gossip
  store: LogStore
  /** Warnings from recovery (a torn last line ignored). */
  warnings: string[]
  /** Records loaded from the log (0 for a fresh folder). */
  loaded: number
}

/**
 * A `Gossip` backed by a log in `store.dir`: state, clocks and version
 * leases survive restarts. A node restarted with its folder resumes where it
 * was; one restarted with an empty folder gets a new generation, so its new
 * writes never collide with its earlier life's. Versions follow wall time
 * as on every node (a hybrid logical clock), so that new writes of a
 * restarted node win over what its earlier life wrote.
 */
export function openDurable(id: string, config: GossipConfig, storeOpts: StoreOptions): Durable {
  const store = new LogStore(id, storeOpts)
  const gossip = new Gossip(id, { ...config, generation: store.generation })
  store.attach(gossip)
  return {
    gossip,
    store,
    warnings: store.recovered?.warnings ?? [],
    loaded: store.recovered?.records.size ?? 0,
  }
}
