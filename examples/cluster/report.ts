/** Progress lines and the summary of the cluster demo. */
import type { NodeStats } from './node-process.ts'

/** Bytes in a short human unit. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`
  return `${(n / 1024 / 1024).toFixed(2)} MB`
}

/**
 * One progress line. `written` is the number of distinct keys written up to
 * the poll that gave `all` (no write is sent while a poll is out), so `lag`,
 * the keys the slowest node does not hold yet, compares counts of the same
 * moment. `endedBytes`: bytes sent by node lives that have ended (a killed
 * node's), so that the wire total never drops.
 */
export function progressLine(
  elapsedMs: number,
  phase: string,
  writes: number,
  keySpace: number,
  all: (NodeStats | null)[],
  written: number,
  endedBytes: number,
): string {
  const held = all.map((s) => (s === null ? 'down' : `${s.keys}/${keySpace}`)).join(' ')
  const stats = all.filter((s): s is NodeStats => s !== null)
  const wire = endedBytes + stats.reduce((n, s) => n + s.bytesOut, 0)
  const lag = written - Math.min(...stats.map((s) => s.keys))
  return `${(elapsedMs / 1000).toFixed(1)}s ${phase} | writes ${writes} | keys ${held} | wire ${bytes(wire)} | lag ${lag} keys missing at the slowest node`
}

export interface Summary {
  nodes: number
  /** `set` commands sent, and those applied at the node they were sent to. */
  writes: number
  writesApplied: number
  /** Time from the first write to the last, ms. */
  writeMs: number
  /** From the last write (or the restart of the killed node, when later) until every node reported the same hash and key count, ms; null if they never did. */
  convergeMs: number | null
  /** Writes sent per second of writing. */
  writesPerSec: number
  /** Updates applied at all nodes (local and remote), per second from the first write to convergence. */
  appliedPerSec: number
  /** Updates applied at a node other than the one written to. */
  remoteApplied: number
  /** Bytes sent by all nodes (hellos, digests and updates), the killed node's first life included. */
  wireBytes: number
  /** wireBytes / remoteApplied. */
  bytesPerUpdate: number
  keys: number[]
  hashes: string[]
  converged: boolean
}

/**
 * The summary from the final stats of every node, plus the counters of node
 * lives that ended before (`ended`: the killed node's, taken before the kill).
 * `waitMs`: time between the last write and the restart of the killed node
 * when it came later (convergence is counted from the later of the two);
 * it belongs to the span from the first write to convergence.
 */
export function summarize(
  stats: NodeStats[],
  ended: { bytesOut: number; applied: number },
  writes: number,
  writesApplied: number,
  writeMs: number,
  convergeMs: number | null,
  converged: boolean,
  waitMs = 0,
): Summary {
  const applied = ended.applied + stats.reduce((n, s) => n + s.applied, 0)
  const wireBytes = ended.bytesOut + stats.reduce((n, s) => n + s.bytesOut, 0)
  const remoteApplied = applied - writesApplied
  const spanMs = writeMs + waitMs + (convergeMs ?? 0)
  const round = (x: number) => Math.round(x * 10) / 10
  return {
    nodes: stats.length,
    writes,
    writesApplied,
    writeMs: Math.round(writeMs),
    convergeMs: convergeMs === null ? null : Math.round(convergeMs),
    writesPerSec: round(writes / (writeMs / 1000)),
    appliedPerSec: round(applied / (spanMs / 1000)),
    remoteApplied,
    wireBytes,
    bytesPerUpdate: remoteApplied > 0 ? round(wireBytes / remoteApplied) : 0,
    keys: stats.map((s) => s.keys),
    hashes: stats.map((s) => s.hash),
    converged,
  }
}

export function summaryText(s: Summary): string {
  const hashes = [...new Set(s.hashes.map((h) => h.slice(0, 12)))]
  return [
    `nodes:            ${s.nodes}`,
    `writes issued:    ${s.writes} (${s.writesApplied} applied where written) in ${(s.writeMs / 1000).toFixed(2)} s`,
    `converged after:  ${s.convergeMs === null ? 'not within the timeout' : `${s.convergeMs} ms after the last write (or the restart, when later)`}`,
    `updates/s:        ${s.writesPerSec} written, ${s.appliedPerSec} applied over all nodes (first write to convergence)`,
    `wire:             ${bytes(s.wireBytes)} sent by all nodes, ${s.bytesPerUpdate} B per remote update (${s.remoteApplied} updates applied away from their writer)`,
    `keys per node:    ${s.keys.join(' ')}`,
    `state hash:       ${hashes.join(' ')}`,
    `converged:        ${s.converged ? 'yes' : 'no'}`,
  ].join('\n')
}
