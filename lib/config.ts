import { FLOW_CONFIG_KEYS, flowSettings, type FlowConfig, type FlowSettings } from './core/flow-node.ts'
import { sort as defaultSort, resolution } from './core/resolve.ts'
import type { AcceptFn, ClockFn, DeltaOrder, RandomFn, ResolveFn, SignFn, SortFn, VerifyFn } from './core/types.ts'
import { DEFAULT_LIMITS, idProblem, limitsOf, type Limits } from './protocol/validate.ts'

/**
 * What `new Gossip(id, config)` accepts. Only `resolve` is required.
 *
 * The seed's names (`mtu`, `max_history`, `resolve`, `sort`) are kept;
 * options added since are camelCase. Older spellings (`tombstone_grace`,
 * `max_digest_entries`, `max_version_jump`, `clock`, `time`) are still
 * accepted, with a deprecation warning.
 */
export interface GossipConfig {
  /**
   * Most updates one exchange sends, at least 1, or Infinity (no cut); also
   * the streams' highWaterMark, at most 65,536. Default 10 (when undefined or null).
   */
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
   * Wall-clock time in ms (default `Date.now`). Versions are hybrid logical
   * clock values: a new version is at least `now()` in µs and above every
   * version seen. It also ages tombstones and is compared with peers' clocks.
   */
  now?: ClockFn
  /**
   * How far, in ms, a peer's clock may be ahead of (or behind) ours. A remote
   * version more than this ahead of `now()` is refused, and so is a peer
   * whose hello shows a larger skew. Default 300,000 (5 minutes).
   */
  maxClockOffset?: number
  /** Incarnation of this node's writes; set by stores that restart without data. */
  generation?: string
  /** Milliseconds another source's tombstone is kept before `collect()` forgets it. Default 24 h. */
  tombstoneGrace?: number
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
  /** Bounds on what a peer may send. */
  limits?: Partial<Limits>
  /** Most entries accepted in one incoming digest. Default 65536. */
  maxDigestEntries?: number
  /**
   * Flow control of update rates (the paper's section 4): off when absent.
   * `{ desired }` at least; see README, Flow control.
   */
  flow?: FlowConfig | null
  /** @deprecated use `tombstoneGrace` */
  tombstone_grace?: number
  /** @deprecated use `maxDigestEntries` */
  max_digest_entries?: number
  /** @deprecated remote versions are bounded by `maxClockOffset` */
  max_version_jump?: number
  /** @deprecated use `now` (ms); this one returned µs */
  clock?: ClockFn
  /** @deprecated use `now` */
  time?: ClockFn
}

export interface NormalizedConfig {
  readonly mtu: number
  readonly max_history: number
  readonly resolve: ResolveFn
  readonly sort: SortFn
  readonly order: DeltaOrder
  readonly random: RandomFn
  /** Wall-clock ms: hello clocks and tombstone ages. */
  readonly now: ClockFn
  /** The physical part of new versions, µs. */
  readonly versionClock: ClockFn
  readonly maxClockOffset: number
  readonly generation: string | undefined
  readonly tombstoneGrace: number
  readonly lossy: boolean
  readonly sign: SignFn | undefined
  readonly verify: VerifyFn | undefined
  readonly accept: AcceptFn | undefined
  readonly limits: Limits
  readonly maxDigestEntries: number
  /** Flow control, validated; null when off. */
  readonly flow: FlowSettings | null
}

const BUILTINS = Object.keys(resolution)
  .map((n) => `base.resolution.${n}`)
  .join(', ')

export class ConfigError extends TypeError {
  override name = 'ConfigError'
}

const warned = new Set<string>()

/** Warn once per process that an option was renamed or replaced. */
export function deprecated(name: string, advice: string): void {
  if (warned.has(name)) return
  warned.add(name)
  processWarning(`simple-scuttle: config.${name} is deprecated; ${advice}`, 'DeprecationWarning')
}

/** A process warning where there is a process (Node), else the console (browsers). */
export function processWarning(text: string, type: string): void {
  const proc = (globalThis as { process?: { emitWarning?: (w: string, type: string) => void } }).process
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(text, type)
  else console.warn(text)
}

/** The longest delay setTimeout takes (2^31 - 1 ms); Node fires a longer one after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** A received value as messages show it: strings quoted ("10"), numbers as JavaScript writes them (NaN, Infinity). */
export function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? v.slice(0, 64) + '…' : v)
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'function') return 'a function'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object' && v !== null) return 'an object'
  return String(v)
}

/**
 * A count of at least 1, or Infinity (no bound). Absent (undefined or null)
 * is `fallback`; with `falsyDefault` (max_history, as the seed has it) every
 * falsy value is, 0 and NaN included. Anything else is refused.
 */
function positiveInt(name: string, v: unknown, fallback: number, falsyDefault = false): number {
  if (v === undefined || v === null || (falsyDefault && !v)) return fallback
  if (typeof v !== 'number' || !(Number.isInteger(v) || v === Infinity) || v < 1) {
    throw new ConfigError(`config.${name} must be a positive integer or Infinity, got ${shown(v)}`)
  }
  return v
}

function optionalFn<T>(name: string, v: unknown): T | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'function') throw new ConfigError(`config.${name} must be a function`)
  return v as T
}

/** The value of a renamed option: the new name wins; the old one is used with a warning. */
function renamed<T>(config: GossipConfig, name: keyof GossipConfig, old: keyof GossipConfig): T | undefined {
  const v = config[name] as T | undefined
  const o = config[old] as T | undefined
  if (o !== undefined && o !== null) {
    deprecated(old, `use ${name}`)
    if (v === undefined || v === null) return o
  }
  return v
}

/** Every option `GossipConfig` names (the compiler keeps this list and the interface equal). */
const OPTIONS: Record<keyof GossipConfig, true> = {
  mtu: true, max_history: true, resolve: true, sort: true, order: true, random: true, now: true, maxClockOffset: true,
  generation: true, tombstoneGrace: true, lossy: true, sign: true, verify: true, accept: true, limits: true,
  maxDigestEntries: true, flow: true, tombstone_grace: true, max_digest_entries: true, max_version_jump: true, clock: true, time: true,
}

/** Edits (insertions, deletions, substitutions) from `a` to `b`, counted up to 3. */
function edits(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return Math.min(row[b.length], 3)
}

/**
 * Warn once per process for each own key of `options` that is not in
 * `known` (a misspelling is otherwise silently ignored), naming the known
 * key it is closest to (at most 2 edits, or a start of it 6 or more long). `subject(key)` starts the warning ("config.mtuu is
 * not an option of new Gossip"). Never throws: an options object may carry
 * fields of its own.
 */
export function warnUnknownKeys(options: object, known: readonly string[], subject: (key: string) => string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    let near: string | undefined
    let best = Infinity
    for (const o of known) {
      const [ol, kl] = [o.toLowerCase(), key.toLowerCase()]
      // A key cut short (maxKeyLen for maxKeyLength) is near however much is missing.
      const d = ol === kl ? 0 : kl.length >= 6 && ol.startsWith(kl) ? 2 : edits(ol, kl)
      if (d <= (o.length > 4 ? 2 : 1) && d < best) [near, best] = [o, d]
    }
    const text = `simple-scuttle: ${subject(key)}; it is ignored${near === undefined ? '' : ` (did you mean ${near}?)`}`
    if (warned.has(text)) continue
    warned.add(text)
    processWarning(text, 'ConfigWarning')
  }
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
  warnUnknownKeys(config, Object.keys(OPTIONS), (key) => `config.${key} is not an option of new Gossip`)
  const order = config.order ?? 'depth'
  if (order !== 'depth' && order !== 'breadth') {
    throw new ConfigError(`config.order must be 'depth' or 'breadth', got ${shown(order)}`)
  }
  const gen = config.generation
  if (gen !== undefined && idProblem('config.generation', gen, Infinity) !== null) {
    throw new ConfigError(`config.generation must be a non-empty string without NUL (${idProblem('config.generation', gen, Infinity)})`)
  }
  let flow: FlowSettings | null = null
  if (config.flow !== undefined && config.flow !== null) {
    if (typeof config.flow === 'object') warnUnknownKeys(config.flow, FLOW_CONFIG_KEYS, (key) => `config.flow.${key} is not an option of flow control`)
    try {
      flow = flowSettings(config.flow)
    } catch (err) {
      throw new ConfigError((err as Error).message)
    }
  }
  let limits: Limits
  if (typeof config.limits === 'object' && config.limits !== null) warnUnknownKeys(config.limits, Object.keys(DEFAULT_LIMITS), (key) => `config.limits.${key} is not a limit`)
  try {
    limits = limitsOf(config.limits, 'config.limits', shown)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  if (config.max_version_jump !== undefined && config.max_version_jump !== null) {
    deprecated('max_version_jump', 'remote versions are now bounded by maxClockOffset (ms ahead of this node\'s clock); the option is ignored')
  }
  const lossy = config.lossy ?? false
  if (typeof lossy !== 'boolean') throw new ConfigError(`config.lossy must be true or false, got ${shown(lossy)}`)
  const offset = config.maxClockOffset ?? 300_000
  if (typeof offset !== 'number' || !Number.isFinite(offset) || offset < 0) {
    throw new ConfigError(`config.maxClockOffset must be a non-negative number of ms, got ${shown(offset)}`)
  }
  // One wall clock; the old µs `clock` and ms `time` still work, with a warning.
  const nowFn = optionalFn<ClockFn>('now', config.now)
  const clockUs = optionalFn<ClockFn>('clock', config.clock)
  const timeMs = optionalFn<ClockFn>('time', config.time)
  if (clockUs !== undefined) deprecated('clock', 'use now (wall-clock ms; versions are µs of it)')
  if (timeMs !== undefined) deprecated('time', 'use now')
  const now: ClockFn = nowFn ?? timeMs ?? (clockUs !== undefined ? () => clockUs() / 1000 : Date.now)
  const probe: unknown = now()
  if (typeof probe !== 'number' || !Number.isFinite(probe)) throw new ConfigError(`config.now must return a finite number of ms, returned ${shown(probe)}`)
  // Versions are µs of it: a clock in µs (as the core's Engine takes) would put every write past the safe integers.
  if (nowFn !== undefined && Math.abs(probe) * 1000 > Number.MAX_SAFE_INTEGER) throw new ConfigError(`config.now must return ms (versions are µs of it), returned ${shown(probe)}, whose µs are beyond the safe integers: a clock in µs?`)
  const versionClock: ClockFn = clockUs ?? (nowFn !== undefined ? () => nowFn() * 1000 : timeMs !== undefined ? () => timeMs() * 1000 : () => Date.now() * 1000)
  return Object.freeze({
    mtu: positiveInt('mtu', config.mtu, 10),
    max_history: positiveInt('max_history', config.max_history, 10, true),
    resolve: config.resolve,
    sort: optionalFn<SortFn>('sort', config.sort) ?? defaultSort,
    order,
    random: optionalFn<RandomFn>('random', config.random) ?? Math.random,
    now,
    versionClock,
    maxClockOffset: offset,
    generation: gen,
    tombstoneGrace: positiveInt('tombstoneGrace', renamed<number>(config, 'tombstoneGrace', 'tombstone_grace'), 24 * 60 * 60 * 1000),
    lossy,
    sign: optionalFn<SignFn>('sign', config.sign),
    verify: optionalFn<VerifyFn>('verify', config.verify),
    accept: optionalFn<AcceptFn>('accept', config.accept),
    limits,
    maxDigestEntries: positiveInt('maxDigestEntries', renamed<number>(config, 'maxDigestEntries', 'max_digest_entries'), 65536),
    flow,
  })
}

/** A fresh copy of the defaults each time, so callers may fill in `resolve` safely. */
export function defaultConfig(): GossipConfig {
  return { mtu: 10, max_history: 10, sort: defaultSort, resolve: null, order: 'depth' }
}
