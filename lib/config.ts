import { sort as defaultSort, resolution } from './core/resolve.ts'
import type { AcceptFn, ClockFn, DeltaOrder, RandomFn, ResolveFn, SignFn, SortFn, VerifyFn } from './core/types.ts'
import { DEFAULT_LIMITS, type Limits } from './protocol/validate.ts'

/** What `new Gossip(id, config)` accepts. Only `resolve` is required. */
export interface GossipConfig {
  /** Most updates one exchange sends; also the streams' highWaterMark. Default 10. */
  mtu?: number
  /** Updates kept in `history.memory`. Default 10 (when falsy). */
  max_history?: number
  /** `(gossip, update) => boolean`: apply `update`? See `base.resolution`. */
  resolve: ResolveFn | null | undefined
  /** Order of `history.memory`. Default `base.sort` (version, then source_id). */
  sort?: SortFn
  /** Which records go first when an exchange is cut at `mtu`. Default 'depth'. */
  order?: DeltaOrder
  /** Random source for digest order and ties. Default Math.random. */
  random?: RandomFn
  /**
   * Physical clock for versions (a hybrid logical clock): a new version is at
   * least `clock()`. Off by default, so versions count 1, 2, 3 as in the seed.
   */
  clock?: ClockFn
  /** Incarnation of this node's writes; set by stores that restart without data. */
  generation?: string
  /** Milliseconds a tombstone is kept before `collect()` forgets it. Default 24 h. */
  tombstone_grace?: number
  /** Wall time in ms, for tombstone ages. Default Date.now. */
  time?: ClockFn
  /**
   * Set when messages between peers may be lost, duplicated or reordered
   * (UDP, unreliable data channels): every update then carries its chain link
   * and every digest an acknowledgement. Default false (TCP, pipes).
   */
  lossy?: boolean
  /** Signs this node's own updates (see `simple-scuttle/security`). */
  sign?: SignFn
  /** Verifies every remote update's signature; unsigned or bad ones are refused. */
  verify?: VerifyFn
  /** Authorisation: `(update, peer) => boolean`; false refuses the update. */
  accept?: AcceptFn
  /** How far above the highest version seen a remote version may be. Default 2^40. */
  max_version_jump?: number
  /** Bounds on what a peer may send. */
  limits?: Partial<Limits>
  /** Most entries accepted in one incoming digest. Default 65536. */
  max_digest_entries?: number
}

export interface NormalizedConfig {
  readonly mtu: number
  readonly max_history: number
  readonly resolve: ResolveFn
  readonly sort: SortFn
  readonly order: DeltaOrder
  readonly random: RandomFn
  readonly clock: ClockFn | undefined
  readonly generation: string | undefined
  readonly tombstone_grace: number
  readonly time: ClockFn
  readonly lossy: boolean
  readonly sign: SignFn | undefined
  readonly verify: VerifyFn | undefined
  readonly accept: AcceptFn | undefined
  readonly max_version_jump: number
  readonly limits: Limits
  readonly max_digest_entries: number
}

const BUILTINS = Object.keys(resolution)
  .map((n) => `base.resolution.${n}`)
  .join(', ')

export class ConfigError extends TypeError {
  override name = 'ConfigError'
}

function positiveInt(name: string, v: unknown, fallback: number): number {
  if (v === undefined || v === null || v === 0) return fallback
  if (typeof v !== 'number' || !(Number.isInteger(v) || v === Infinity) || v < 1) {
    throw new ConfigError(`config.${name} must be a positive integer, got ${String(v)}`)
  }
  return v
}

function optionalFn<T>(name: string, v: unknown): T | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'function') throw new ConfigError(`config.${name} must be a function`)
  return v as T
}

/** Validate and freeze a config, filling defaults. Throws `ConfigError` with the fix. */
export function normalizeConfig(config: GossipConfig | undefined): NormalizedConfig {
  if (config === undefined || config === null || typeof config !== 'object') {
    throw new ConfigError(`new Gossip(id, config): config is required and must include resolve (one of ${BUILTINS}, or your own function)`)
  }
  if (typeof config.resolve !== 'function') {
    throw new ConfigError(
      `config.resolve is required: a function (gossip, update) => boolean that decides whether an update wins. ` +
        `Built-in choices: ${BUILTINS}. lww_vs_current_vers (last write wins) is the usual one.`,
    )
  }
  const order = config.order ?? 'depth'
  if (order !== 'depth' && order !== 'breadth') {
    throw new ConfigError(`config.order must be 'depth' or 'breadth', got ${String(order)}`)
  }
  const gen = config.generation
  if (gen !== undefined && (typeof gen !== 'string' || gen === '' || gen.includes('\u0000'))) {
    throw new ConfigError('config.generation must be a non-empty string without NUL')
  }
  const limits = Object.freeze({ ...DEFAULT_LIMITS, ...(config.limits ?? {}) })
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new ConfigError(`config.limits.${k} must be a positive integer, got ${String(v)}`)
    }
  }
  return Object.freeze({
    mtu: positiveInt('mtu', config.mtu, 10),
    max_history: positiveInt('max_history', config.max_history, 10),
    resolve: config.resolve,
    sort: optionalFn<SortFn>('sort', config.sort) ?? defaultSort,
    order,
    random: optionalFn<RandomFn>('random', config.random) ?? Math.random,
    clock: optionalFn<ClockFn>('clock', config.clock),
    generation: gen,
    tombstone_grace: positiveInt('tombstone_grace', config.tombstone_grace, 24 * 60 * 60 * 1000),
    time: optionalFn<ClockFn>('time', config.time) ?? Date.now,
    lossy: config.lossy === true,
    sign: optionalFn<SignFn>('sign', config.sign),
    verify: optionalFn<VerifyFn>('verify', config.verify),
    accept: optionalFn<AcceptFn>('accept', config.accept),
    max_version_jump: positiveInt('max_version_jump', config.max_version_jump, 2 ** 40),
    limits,
    max_digest_entries: positiveInt('max_digest_entries', config.max_digest_entries, 65536),
  })
}

/** A fresh copy of the defaults each time, so callers may fill in `resolve` safely. */
export function defaultConfig(): GossipConfig {
  return { mtu: 10, max_history: 10, sort: defaultSort, resolve: null, order: 'depth' }
}
