/**
 * Durability costs and restart times of the log store.
 *
 *   node --import tsx bench/store.ts [--runs 3]
 *
 * Prints, as medians over the runs: writes/s for each durability setting
 * (and the CPU time per write, steadier on a shared machine), the log size
 * of 100k overwrites of 1k keys against the live state, and the time to
 * restart (recover, checksums verified) a node holding 100k keys.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { base } from '../lib/index.ts'
import { openDurable } from '../lib/store/durable.ts'

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3
const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers }
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fresh = () => fs.mkdtempSync(path.join(os.tmpdir(), 'scuttle-bench-store-'))

/** Writes per second of wall time, and CPU time per write (µs), for `n` writes then a flush. */
async function writes(durability: 'write' | 'batch' | 'none', n: number): Promise<{ perSecond: number; cpuUs: number }> {
  const dir = fresh()
  const { gossip, store } = openDurable('bench', config, { dir, durability })
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) gossip.set('k' + (i % 10_000), { i, pad: 'x'.repeat(64) })
  await store.flush()
  const cpu = process.cpuUsage(c0)
  const ms = performance.now() - t0
  store.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return { perSecond: (n / ms) * 1000, cpuUs: (cpu.user + cpu.system) / n }
}

function compaction(): { log: number; live: number; uncompacted: number } {
  const dir = fresh()
  const { gossip, store } = openDurable('bench', config, { dir, durability: 'none' })
  let lineBytes = 0
  for (let i = 0; i < 100_000; i++) gossip.set('key-' + (i % 1000), { i, pad: 'x'.repeat(50) })
  store.flush()
  const log = fs.statSync(path.join(dir, 'log.ndjson')).size
  for (const r of gossip.records()) lineBytes += JSON.stringify(r).length + 1
  store.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return { log, live: lineBytes, uncompacted: (lineBytes / 1000) * 100_000 }
}

function restart(keys: number): { ms: number; bytes: number } {
  const dir = fresh()
  const a = openDurable('bench', config, { dir, durability: 'none' })
  for (let i = 0; i < keys; i++) a.gossip.set('key-' + i, { i, pad: 'x'.repeat(50) })
  a.store.close()
  const bytes = fs.statSync(path.join(dir, 'log.ndjson')).size
  const t0 = performance.now()
  const b = openDurable('bench', config, { dir })
  const ms = performance.now() - t0
  if (b.loaded !== keys) throw new Error(`restart loaded ${b.loaded}, expected ${keys}`)
  b.store.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return { ms, bytes }
}

const rows: string[][] = []
for (const d of ['write', 'batch', 'none'] as const) {
  const n = d === 'write' ? 5_000 : 200_000
  const rs: { perSecond: number; cpuUs: number }[] = []
  for (let r = 0; r < runs; r++) rs.push(await writes(d, n))
  rows.push([`writes/s, durability '${d}'`, median(rs.map((r) => r.perSecond)).toFixed(0)])
  // CPU time is steadier than wall time on a shared machine.
  if (d !== 'write') rows.push([`  CPU per write, '${d}'`, `${median(rs.map((r) => r.cpuUs)).toFixed(2)} µs`])
}
const c = compaction()
rows.push(['100k overwrites of 1k keys: log size', `${(c.log / 1e6).toFixed(2)} MB (live state ${(c.live / 1e6).toFixed(2)} MB, ${(c.log / c.live).toFixed(1)}x; ${(c.uncompacted / 1e6).toFixed(1)} MB without compaction)`])
for (const keys of [100_000]) {
  const rs = Array.from({ length: runs }, () => restart(keys))
  rows.push([`restart with ${keys / 1000}k keys`, `${median(rs.map((r) => r.ms)).toFixed(0)} ms (log ${(rs[0].bytes / 1e6).toFixed(1)} MB)`])
}
const w = Math.max(...rows.map((r) => r[0].length))
console.log(`| ${'measure'.padEnd(w)} | median of ${runs} |`)
console.log(`|${'-'.repeat(w + 2)}|${'-'.repeat(14)}|`)
for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`)
