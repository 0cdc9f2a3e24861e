import { defaultConfig, type GossipConfig } from './config.ts'
import { compareValues, resolution, sort } from './core/resolve.ts'

/**
 * The seed's `base` module: defaults and sample resolutions.
 *
 * `base.config` returns a fresh object on every read, so the seed's idiom
 * `config = base.config; config.resolve = ...` never changes anyone else's
 * defaults.
 */
export const base = {
  get config(): GossipConfig {
    return defaultConfig()
  },
  sort,
  resolution,
  compareValues,
}
