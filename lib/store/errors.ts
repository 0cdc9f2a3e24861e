/** Where a log is damaged, and why. */
export interface Damage {
  /** 1-based line number of the first damaged line (one past the last line when the file is too short). */
  line: number
  /** Byte offset where that line starts (the file's length when it is too short). */
  offset: number
  reason: string
}

/**
 * A log that cannot be loaded as it is: a line that fails its checksum or
 * its validation where the log was known to be on disk (before the last
 * synced offset), a file shorter than what was synced, or (in a format 1
 * log, which has no checksums) a bad line that is not the last one. Never
 * a silent cut: open with `repair` to keep the valid part before `offset`.
 */
/** In a reason when the log is intact but names more sources than `limits.maxSources`. */
export const OVER_LIMIT = 'names more sources than limits.maxSources allows'
/** In a reason when the log is intact but holds versions ahead of this machine's clock by more than `maxClockOffset`. */
export const AHEAD_OF_CLOCK = "ahead of this machine's clock"

/** In a reason when the log is intact but holds a value nested deeper than a log is read to (log-replay.ts). */
export const OVER_DEPTH = 'deeper than a log is read to (limits.maxValueDepth, at least 1000)'

/** Whether a reason is no damage: the log is intact, this node's clock or limits cannot take it, and repair must not cut it. */
export function intactLog(reason: string): boolean {
  return reason.includes(OVER_LIMIT) || reason.includes(AHEAD_OF_CLOCK) || reason.includes(OVER_DEPTH)
}

export class LogCorruptError extends Error implements Damage {
  override name = 'LogCorruptError'
  readonly offset: number
  readonly reason: string
  constructor(
    readonly file: string,
    readonly line: number,
    offset: number,
    reason: string,
  ) {
    super(
      reason.includes(OVER_LIMIT)
        ? // An intact log this node's limits are too small for: repair would drop every line from here on.
          `${file}: line ${line} (byte ${offset}) ${reason}; the log cannot be loaded with these limits. Raise limits.maxSources to load it whole.`
        : reason.includes(OVER_DEPTH)
          ? `${file}: line ${line} (byte ${offset}): ${reason}. The log is intact; raise limits.maxValueDepth to load it whole (repair would not help: it refuses to cut an intact log).`
        : reason.includes(AHEAD_OF_CLOCK)
          ? // An intact log this clock is behind: repair would drop every record from here on.
            `${file}: line ${line} (byte ${offset}): ${reason}. The log is intact; this machine's clock is behind it. ` +
            'Set the clock right (or wait until it passes those versions), or raise maxClockOffset; repair would not help (it refuses to cut an intact log).'
          : `${file}: line ${line} is corrupt at byte ${offset} (${reason}); the log cannot be loaded. ` +
            'Open it with repair (openDurable(..., { repair: true }), or the CLI\'s --repair) to keep the valid lines before it, ' +
            'or restore it from a backup (the log together with the log.ndjson.synced saved with it, or delete that file: an older log is refused as truncated against a newer one).',
    )
    this.offset = offset
    this.reason = reason
  }
}

/**
 * A write refused because the store is read-only after a disk failure
 * (`cause`); it stays so until a probe of the disk succeeds.
 */
export class StoreDegradedError extends Error {
  override name = 'StoreDegradedError'
  readonly code = 'EDEGRADED'
  constructor(cause: Error) {
    super(`the store is read-only after a disk failure (${cause.message}); retrying in the background`, { cause })
  }
}

/** A write after `store.close()`. */
export class StoreClosedError extends Error {
  override name = 'StoreClosedError'
  readonly code = 'ECLOSED'
  constructor() {
    super('the store is closed')
  }
}

/** The log file at the store's path is not the one it has open (removed, or replaced by another). */
export class LogReplacedError extends Error {
  override name = 'LogReplacedError'
  readonly code = 'ELOGREPLACED'
}
