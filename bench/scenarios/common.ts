/** Shared helpers for benchmark scenarios (each runs in a fresh process). */
import { createRequire } from 'node:module'
import { PassThrough } from 'node:stream'
import { Gossip, base } from '../../lib/index.ts'
import { createDecoder, createEncoder } from '../../lib/codec/ndjson.ts'

export interface Result {
  /** Wall time of the measured part, ms. */
  ms: number
  /** Updates delivered per second (scenario-defined). */
  ups?: number
  /** Bytes on the wire per update. */
  bytesPerUpdate?: number
  /** Peak resident set size of the process, MB. */
  rssMB?: number
  [k: string]: number | undefined
}

export const require = createRequire(import.meta.url)

export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024
}

/** A simple-scuttle node with last-write-wins. */
export function ours(id: string, mtu = 1000, extra: object = {}): Gossip {
  return new Gossip(id, { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu, ...extra })
}

/**
 * A byte counter that passes bytes through; with `countArrays`, it also
 * counts lines that start with `[` (npm scuttlebutt's update lines).
 */
export function meter(countArrays = false): PassThrough & { bytes: number; arrays: number } {
  const m = new PassThrough() as PassThrough & { bytes: number; arrays: number }
  m.bytes = 0
  m.arrays = 0
  let atStart = true
  m.on('data', (d: Buffer) => {
    m.bytes += d.length
    if (!countArrays) return
    for (let i = 0; i < d.length; i++) {
      if (atStart && d[i] === 0x5b) m.arrays++
      atStart = d[i] === 0x0a
    }
  })
  return m
}

/**
 * Two of our nodes joined by ndjson (or, with `wire` 2, frames) over
 * in-memory byte pipes; returns their streams, the bytes sent, and whether
 * each side has had a digest (after `sa.gossip()`, pushes flow once it holds).
 */
export function joinOurs(a: Gossip, b: Gossip, wire: 1 | 2 = 1) {
  const sa = a.createWireStream({ wire })
  const sb = b.createWireStream({ wire })
  const ab = meter()
  const ba = meter()
  sa.pipe(ab).pipe(sb)
  sb.pipe(ba).pipe(sa)
  return { sa, sb, bytes: () => ab.bytes + ba.bytes, synced: () => sa.stats.digestsReceived > 0 && sb.stats.digestsReceived > 0 }
}

/** Two npm scuttlebutt models joined the same way (their streams already speak JSON lines). */
export function joinScuttlebutt(a: ScuttlebuttModelInstance, b: ScuttlebuttModelInstance, countLines = false) {
  const sa = a.createStream()
  const sb = b.createStream()
  let synced = 0
  sa.on('sync', () => synced++)
  sb.on('sync', () => synced++)
  const ab = meter(countLines)
  const ba = meter(countLines)
  sa.pipe(ab).pipe(sb)
  sb.pipe(ba).pipe(sa)
  return { sa, sb, bytes: () => ab.bytes + ba.bytes, updateLines: () => ab.arrays + ba.arrays, synced: () => synced === 2 }
}

/** The wire format for an implementation argument: `ours-binary` runs ours on frames. */
export const wireOf = (impl: string): 1 | 2 => (impl === 'ours-binary' ? 2 : 1)

/** Our encoder and decoder, for scenarios that need them on their own. */
export { createDecoder, createEncoder }


/** The npm scuttlebutt Model class. */
export function ScuttlebuttModel(): new () => ScuttlebuttModelInstance {
  return require('scuttlebutt/model')
}

export interface ScuttlebuttModelInstance {
  set(k: string, v: unknown): void
  get(k: string): unknown
  toJSON(): Record<string, unknown>
  createStream(): NodeJS.ReadWriteStream
  on(e: string, f: (...a: unknown[]) => void): void
  store: Record<string, unknown>
}

/** Resolve once `cond` holds, checking after each event-loop turn; rejects after `ms`. */
export function until(cond: () => boolean, ms = 600_000): Promise<void> {
  const end = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve()
      if (Date.now() > end) return reject(new Error('timed out'))
      setImmediate(tick)
    }
    tick()
  })
}

export function emit(r: Result): void {
  const cpu = process.cpuUsage()
  process.stdout.write(JSON.stringify({ ...r, cpuMs: (cpu.user + cpu.system) / 1000 }) + '\n')
}
