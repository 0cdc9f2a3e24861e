/**
 * The browser bundle: lib/browser.ts as one ES module, minified, for
 * <script type="module"> or any bundler.
 *
 *   npm run build:browser            # writes dist/browser/simple-scuttle.js (+ .map), prints its size
 *   npm run build:browser -- --json  # the size report as one JSON line
 *
 * Three npm packages that readable-stream pulls in are replaced by small
 * files of scripts/browser-shims/ (the full ones would double the bundle):
 * `buffer` (Node's Buffer: only what streams and the codec use, on
 * Uint8Array and TextEncoder/TextDecoder, UTF-8 only), `process` (nextTick
 * as a microtask, not the polyfill's setTimeout) and readable-stream's own
 * index (the stream classes without pipeline, compose and the operators).
 * The browser tests run this bundle in Chromium.
 */
import { build, type Metafile, type Plugin } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const shims = join(root, 'scripts', 'browser-shims')

/** Left out of the bundle: readable-stream modules simple-scuttle never reaches. */
const UNSUPPORTED = /^\.{1,2}\/(.*\/)?(duplexify|operators|pipeline|compose|promises)(\.js)?$/

export const shimPlugin: Plugin = {
  name: 'simple-scuttle-browser-shims',
  setup(b) {
    b.onResolve({ filter: /^buffer\/?$/ }, () => ({ path: join(shims, 'buffer.js') }))
    b.onResolve({ filter: /^process\/?$/ }, () => ({ path: join(shims, 'process.js') }))
    b.onResolve({ filter: /^string_decoder\/?$/ }, () => ({ path: join(shims, 'unsupported.js') }))
    b.onResolve({ filter: /^readable-stream$/ }, () => ({ path: join(shims, 'readable-stream.js') }))
    b.onResolve({ filter: UNSUPPORTED }, (args) => (/readable-stream/.test(args.importer) ? { path: join(shims, 'unsupported.js') } : undefined))
  },
}

export interface BrowserBundle {
  /** The module's text. */
  code: string
  map: string
  bytes: number
  gzipBytes: number
  /** Minified bytes per group of inputs (our lib, readable-stream, ...), largest first. */
  parts: { name: string; bytes: number }[]
}

function group(path: string): string {
  if (path.startsWith('lib/')) return path.startsWith('lib/core/') ? 'lib/core' : path.split('/').slice(0, 2).join('/')
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (m !== null) return m[1]
  if (path.includes('browser-shims')) return 'scripts/browser-shims'
  return path
}

function parts(meta: Metafile): { name: string; bytes: number }[] {
  const out = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined)!
  const sums = new Map<string, number>()
  for (const [path, { bytesInOutput }] of Object.entries(out.inputs)) sums.set(group(path), (sums.get(group(path)) ?? 0) + bytesInOutput)
  return [...sums].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes)
}

/** Build the bundle in memory. */
export async function buildBrowser(): Promise<BrowserBundle> {
  const r = await build({
    absWorkingDir: root,
    entryPoints: ['lib/browser.ts'],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'external',
    outfile: 'dist/browser/simple-scuttle.js',
    write: false,
    metafile: true,
    legalComments: 'none',
    plugins: [shimPlugin],
    logLevel: 'warning',
  })
  const js = r.outputFiles.find((f) => f.path.endsWith('.js'))!
  const map = r.outputFiles.find((f) => f.path.endsWith('.map'))!
  return { code: js.text, map: map.text, bytes: js.contents.length, gzipBytes: gzipSync(js.contents, { level: 9 }).length, parts: parts(r.metafile) }
}

const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const b = await buildBrowser()
  const dir = join(root, 'dist', 'browser')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'simple-scuttle.js'), b.code)
  writeFileSync(join(dir, 'simple-scuttle.js.map'), b.map)
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ bytes: b.bytes, gzipBytes: b.gzipBytes, parts: b.parts }))
  } else {
    console.log(`dist/browser/simple-scuttle.js: ${kB(b.bytes)} minified, ${kB(b.gzipBytes)} min+gzip`)
    for (const p of b.parts) console.log(`  ${kB(p.bytes).padStart(9)}  ${p.name}`)
  }
}
