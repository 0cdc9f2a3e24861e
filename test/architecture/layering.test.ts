/**
 * The layers of lib/, enforced. A file may import only from its own layer
 * or a lower one; the pure layers import nothing from Node and read no
 * clock, timer or random source of their own; there are no import cycles.
 *
 *   0  core/types.ts, core/random.ts          records and small pure helpers
 *   1  protocol/                              messages, validation of peer input
 *   2  core/ (the rest), membership/          the pure protocol core; cluster membership
 *                                             (member table, failure detector, view, exchange)
 *   3  codec/, stream/, config.ts, base.ts    framing and the Duplex adapters
 *   4  transport/, store/, security/          sockets, TLS, disk, crypto (Node)
 *   5  cli/                                   the command-line node
 *   6  the entry points (index.ts, core.ts, net.ts, store.ts, security.ts)
 */
import test from 'tape'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'

const lib = resolve(import.meta.dirname, '../../lib')

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) files(p, out)
    else if (p.endsWith('.ts')) out.push(p)
  }
  return out
}

function layer(file: string): number {
  const r = relative(lib, file).split('\\').join('/')
  if (r === 'core/types.ts' || r === 'core/random.ts') return 0
  if (r.startsWith('protocol/')) return 1
  if (r.startsWith('core/') || r.startsWith('membership/')) return 2
  if (r.startsWith('codec/') || r.startsWith('stream/') || r === 'config.ts' || r === 'base.ts') return 3
  if (r.startsWith('transport/') || r.startsWith('store/') || r.startsWith('security/')) return 4
  if (r.startsWith('cli/')) return 5
  return 6
}

/** Relative imports (static, dynamic and type-only) of a file, resolved to files. */
function imports(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8')
  const local: string[] = []
  const packages: string[] = []
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2]
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec))
    else packages.push(spec)
  }
  return { local, packages }
}

const all = files(lib)
const rel = (f: string) => relative(lib, f)

test('layers: every import goes to the same layer or a lower one', (t) => {
  const bad: string[] = []
  for (const f of all) {
    for (const target of imports(f).local) {
      if (layer(target) > layer(f)) bad.push(`${rel(f)} (layer ${layer(f)}) imports ${rel(target)} (layer ${layer(target)})`)
    }
  }
  t.deepEqual(bad, [], `${all.length} files checked`)
  t.end()
})

test('the pure layers (core, protocol) import nothing from Node or other packages', (t) => {
  const bad: string[] = []
  for (const f of all) {
    if (layer(f) > 2) continue
    for (const p of imports(f).packages) if (p !== 'eventemitter3') bad.push(`${rel(f)} imports ${p}`)
  }
  t.deepEqual(bad, [], 'only eventemitter3 (the history is an event emitter, as in the seed)')
  t.end()
})

test('the pure layers read no clock, timer or random source of their own', (t) => {
  const bad: string[] = []
  const forbidden = /\bDate\.now\b|\bnew Date\b|\bMath\.random\b|\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bperformance\.now\b|\bprocess\.hrtime\b/
  for (const f of all) {
    if (layer(f) > 2) continue
    const code = readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l))
      .join('\n')
    const m = forbidden.exec(code)
    if (m !== null) bad.push(`${rel(f)} uses ${m[0]}`)
  }
  t.deepEqual(bad, [], 'time and randomness are injected')
  t.end()
})

test('no import cycles', (t) => {
  const graph = new Map(all.map((f) => [f, imports(f).local.filter((x) => all.includes(x))]))
  const state = new Map<string, 'open' | 'done'>()
  const cycles: string[] = []
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].map(rel).join(' -> '))
      return
    }
    state.set(f, 'open')
    for (const g of graph.get(f) ?? []) visit(g, [...path, f])
    state.set(f, 'done')
  }
  for (const f of all) visit(f, [])
  t.deepEqual(cycles, [], 'the import graph is acyclic')
  t.end()
})

test('files stay small enough to read at once', (t) => {
  const long = all.map((f) => [rel(f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 480)
  t.deepEqual(long, [], 'no lib file over 480 lines')
  t.end()
})
