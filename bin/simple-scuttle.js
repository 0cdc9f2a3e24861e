#!/usr/bin/env node
// The `simple-scuttle` command: runs the compiled node (dist/cli/main.js)
// when the package is built, else the TypeScript source through tsx.
import { existsSync } from 'node:fs'

const compiled = new URL('../dist/cli/main.js', import.meta.url)
if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(new URL('../lib/cli/main.ts', import.meta.url).href)
}
