/**
 * I/O faults under the store, in the manner of SQLite's I/O error tests:
 * for a fixed workload, the N-th call of each file system operation fails,
 * for every N until the workload no longer reaches it; and the machine
 * crashes (process killed, or power lost) before every file system call.
 * Every run: no exception but refusals, a refused change leaves state as it
 * was, the error reaches the caller, the store leaves degraded mode by
 * itself, and every restart loads and holds every change reported durable.
 */
import test from 'tape'
import { seededRandom } from '../../lib/core/random.ts'
import { FakeTimers } from '../support/fake-timers.ts'
import { FS_OPS, MemFs } from '../support/fault-fs.ts'
import { Oracle, openOn, restartAndCheck, runWorkload, START_MS } from '../support/store-workload.ts'

const CODES = ['EIO', 'ENOSPC', 'EFBIG', 'EACCES', 'ENOENT', 'EMFILE', 'EROFS']
/** Crash points taken right after each fault (where a store that lies would be caught). */
const AFTER_FAULT = 8
const totals = { faults: 0, crashPoints: 0, restarts: 0, durable: 0, lost: 0, invented: 0 }

/** Up to 3 problems, for a failure message. */
const show = (xs: string[]) => (xs.length === 0 ? '' : ': ' + xs.slice(0, 3).join('; '))

for (const durability of ['write', 'batch'] as const) {
  test(`${durability}: the N-th open, close, read, write, fsync, ftruncate, stat, rename, unlink and mkdir fail, for every N`, async (t) => {
    const problems = { crash: [] as string[], unseen: [] as string[], stuck: [] as string[], refusal: [] as string[], restart: [] as string[], close: [] as string[] }
    const random = seededRandom(11)
    let runs = 0
    const byOp: string[] = []
    for (const op of FS_OPS) {
      const before = runs
      for (let n = 1; ; n++) {
        const fs = new MemFs()
        const code = CODES[(n - 1) % CODES.length]
        fs.failNth(op, n, code)
        const label = `${op} #${n} (${code})`
        // The machine also dies at each of the calls that follow the fault.
        const oracle = new Oracle()
        const after: { copies: MemFs[]; durableAt: Map<string, number> }[] = []
        fs.beforeCall = () => {
          if (fs.hits > 0 && after.length < AFTER_FAULT) after.push({ copies: [fs.crashCopy(), fs.powerLossCopy(random)], durableAt: oracle.durablePoint() })
        }
        let res
        try {
          res = await runWorkload(fs, durability, oracle)
        } catch (err) {
          problems.crash.push(`${label}: ${(err as Error).stack}`)
          continue
        }
        if (fs.hits === 0) break
        runs++
        totals.faults++
        fs.heal()
        const failed = res.durable === null || res.durable.store.stats.failures > 0
        if (failed && !res.seen.has(code)) problems.unseen.push(`${label}: callers saw ${[...res.seen].join(',') || 'nothing'}`)
        if (res.degradedAtEnd) problems.stuck.push(`${label}: ${res.durable?.store.degraded?.message}`)
        if (res.changedByRefusal.length > 0) problems.refusal.push(`${label}: ${res.changedByRefusal.join(',')}`)
        if (res.restartProblems.length > 0) problems.restart.push(`${label}, restart in the workload${show(res.restartProblems)}`)
        fs.beforeCall = null
        const ends = [{ copies: [fs.crashCopy(), fs.powerLossCopy(random)], durableAt: undefined as Map<string, number> | undefined }, ...after]
        for (const [k, { copies, durableAt }] of ends.entries()) for (const [j, copy] of copies.entries()) {
          const kind = `${j === 0 ? 'process crash' : 'power loss'} ${k === 0 ? 'at the end' : `before call ${k} after the fault`}`
          totals.restarts++
          try {
            const r = restartAndCheck(copy, durability, res.oracle, durableAt)
            totals.lost += r.lost.length
            totals.invented += r.invented.length
            if (r.lost.length + r.invented.length > 0) problems.restart.push(`${label}, ${kind}${show([...r.lost, ...r.invented])}`)
          } catch (err) {
            problems.restart.push(`${label}, ${kind}: ${(err as Error).message}`)
          }
        }
        totals.durable += res.oracle.durableCount
        if (res.durable !== null) {
          // A clean close leaves a log equal to memory.
          const held = JSON.stringify(res.durable.gossip.records().sort((a, b) => (a.key < b.key ? -1 : 1)))
          res.durable.store.close()
          const again = openOn(fs.crashCopy(), durability, new FakeTimers(), () => START_MS + 1_000_000)
          const loaded = JSON.stringify(again.gossip.records().sort((a, b) => (a.key < b.key ? -1 : 1)))
          if (loaded !== held) problems.close.push(label)
          again.store.close()
        }
      }
      byOp.push(`${op} ${runs - before}`)
    }
    t.ok(runs > 150, `${runs} runs, each with one injected fault (${byOp.join(', ')})`)
    t.deepEqual(problems.crash, [], `no exception escaped but refusals${show(problems.crash)}`)
    t.deepEqual(problems.unseen, [], `every failure reached a caller (a refused write, a rejected flush, or the 'degraded' event)${show(problems.unseen)}`)
    t.deepEqual(problems.refusal, [], `every refused change left state as it was${show(problems.refusal)}`)
    t.deepEqual(problems.stuck, [], `the store left degraded mode by itself once the disk worked${show(problems.stuck)}`)
    t.deepEqual(problems.restart, [], `every restart (process crash, power loss) loaded and held every durable change${show(problems.restart)}`)
    t.deepEqual(problems.close, [], `after a clean close the log held exactly the node's memory${show(problems.close)}`)
    t.end()
  })

  test(`${durability}: a crash before every file system call, with the page cache kept or lost`, async (t) => {
    const fs = new MemFs()
    const oracle = new Oracle()
    const random = seededRandom(durability === 'write' ? 21 : 22)
    const points: { copies: MemFs[]; durableAt: Map<string, number> }[] = []
    fs.beforeCall = () => points.push({ copies: [fs.crashCopy(), fs.powerLossCopy(random), fs.powerLossCopy(random)], durableAt: oracle.durablePoint() })
    const res = await runWorkload(fs, durability, oracle, 60)
    fs.beforeCall = null
    const problems: string[] = res.restartProblems.map((p) => `restart in the workload: ${p}`)
    points.forEach((p, k) => {
      p.copies.forEach((copy, j) => {
        totals.restarts++
        try {
          const r = restartAndCheck(copy, durability, oracle, p.durableAt)
          totals.lost += r.lost.length
          totals.invented += r.invented.length
          if (r.lost.length + r.invented.length > 0) problems.push(`call ${k}, copy ${j}${show([...r.lost, ...r.invented])}`)
        } catch (err) {
          problems.push(`call ${k}, copy ${j}: ${(err as Error).message}`)
        }
      })
    })
    totals.crashPoints += points.length
    t.ok(points.length > 200, `${points.length} crash points, each restarted 3 ways (process crash, two power losses)`)
    t.ok(oracle.durableCount > 30, `${oracle.durableCount} durable states to keep`)
    t.deepEqual(problems, [], `every restart loaded and held every change reported durable before the crash${show(problems)}`)
    t.end()
  })
}

test('totals', (t) => {
  t.equal(totals.lost, 0, `durable changes lost: ${totals.lost}`)
  t.equal(totals.invented, 0, `states found that the node never held: ${totals.invented}`)
  t.comment(`${totals.faults} injected faults, ${totals.crashPoints} crash points, ${totals.restarts} restarts checked`)
  t.end()
})
