/** Stream helpers for tests: JSON round trips and bounded waits on event-loop turns. */
import test from 'tape'
import { Transform } from 'readable-stream'
import { Gossip, base, type GossipConfig } from '../../lib/index.ts'
import { TIMEOUT_SLACK } from './slack.ts'

/**
 * A config for tests: last write wins, and a wall clock frozen at 0, so
 * versions count 1, 2, 3 (pass `now` to move time).
 */
export function config(extra: Partial<GossipConfig> = {}): GossipConfig {
  const c = base.config
  c.resolve = base.resolution.lww_vs_current_vers
  return { ...c, now: () => 0, ...extra }
}

export function node(id: string, extra: Partial<GossipConfig> = {}, state?: Record<string, unknown>): Gossip {
  return new Gossip(id, config(extra), state)
}

/**
 * x and y joined by one stream each (labelled with the other's id) through
 * object hops that send each object through JSON and lose it with
 * probability `loss` (drawn from `random`), except the first `intact` of
 * each direction: the opening digests get through (a node whose peer's
 * first claim of it is lost never learns it lost anything: see the
 * README's restart limits).
 */
export function lossyLink(x: Gossip, y: Gossip, random: () => number, loss: number, intact = 8) {
  const sx = x.createStream({ peer: { id: y.id } })
  const sy = y.createStream({ peer: { id: x.id } })
  const hop = (passed = 0) =>
    new Transform({
      objectMode: true,
      transform(o, _e, cb) {
        if (passed++ >= intact && random() < loss) return cb()
        cb(null, JSON.parse(JSON.stringify(o)))
      },
    })
  sx.pipe(hop()).pipe(sy).pipe(hop()).pipe(sx)
  return [sx, sy]
}

/** An object-mode transform that sends each object through JSON, as a wire would. */
export function jsonWire(): Transform {
  return new Transform({
    objectMode: true,
    transform(obj, _enc, cb) {
      cb(null, JSON.parse(JSON.stringify(obj)))
    },
  })
}

/** Connect two duplexes both ways through JSON. */
export function connect(a: NodeJS.ReadWriteStream | any, b: NodeJS.ReadWriteStream | any): void {
  a.pipe(jsonWire()).pipe(b)
  b.pipe(jsonWire()).pipe(a)
}

/** One turn of the event loop (after pending I/O callbacks and ticks). */
export const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

/** Wait, turn by turn, until `cond` holds; throws after `maxTurns`. */
export async function until(cond: () => boolean, maxTurns = 10_000, what = 'condition'): Promise<number> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return i
    await turn()
  }
  throw new Error(`${what} not reached after ${maxTurns} event-loop turns`)
}

/** Let in-memory streams run until nothing changes for a few turns. */
export async function quiet(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await turn()
}

/** Same keys and records (version, source, value) on every node. */
export function sameState(nodes: Gossip[]): boolean {
  const dump = (g: Gossip) =>
    JSON.stringify(
      [...g.records()]
        .map((r) => [r.key, r.version, r.source_id, r.value, r.deleted ?? false])
        .sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1)),
    )
  const first = dump(nodes[0])
  return nodes.every((n) => dump(n) === first)
}

const EXIT_GRACE_MS = 30_000
let guarded = false

/**
 * Files that wait on real sockets and timers: once their tests end,
 * whatever still holds the process (a socket or timer a failed test left
 * open) has 30 s, then the process exits non-zero with a line saying so,
 * rather than running until the runner's timeout.
 */
function guardExit(): void {
  if (guarded) return
  guarded = true
  test.onFinish(() => {
    setTimeout(() => {
      console.log(`# still alive ${EXIT_GRACE_MS} ms after the tests ended: a socket, timer or child process was left open`)
      process.exit(1)
    }, EXIT_GRACE_MS).unref()
  })
}

/**
 * Poll `cond` every few ms until it holds; rejects after `timeoutMs` times
 * `TIMEOUT_SLACK` (for tests over real sockets). Never a measure of speed.
 */
export async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<number> {
  guardExit()
  const start = Date.now()
  const limit = timeoutMs * TIMEOUT_SLACK
  while (!cond()) {
    if (Date.now() - start > limit) throw new Error(`${what} not reached within ${limit} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return Date.now() - start
}
