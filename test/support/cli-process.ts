/**
 * The CLI node as a child process for tests: stdout split into lines,
 * stderr kept, stdin for commands. Every process started is tracked, so a
 * test file can kill whatever is left at the end (`killAll`).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { resolve } from 'node:path'
import { TIMEOUT_SLACK } from './slack.ts'

const root = resolve(import.meta.dirname, '../..')
const children = new Set<ChildProcessWithoutNullStreams>()

/** Poll `cond` every 5 ms until it gives a value; rejects after `timeoutMs` times `TIMEOUT_SLACK` (see slack.ts). */
export async function waitFor<T>(cond: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const start = Date.now()
  const limit = timeoutMs * TIMEOUT_SLACK
  for (;;) {
    const v = cond()
    if (v !== undefined && v !== null && v !== false) return v
    if (Date.now() - start > limit) throw new Error(`${what} not seen within ${limit} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export class CliProcess {
  readonly proc: ChildProcessWithoutNullStreams
  readonly lines: string[] = []
  stderr = ''
  exitCode: number | null | undefined = undefined
  readonly exited: Promise<number | null>
  private partial = ''

  /** `nofile`: the process's file descriptor limit (through prlimit), to exhaust it on purpose. */
  constructor(args: string[], opts: { nofile?: number } = {}) {
    const node = [process.execPath, '--import', 'tsx', 'lib/cli/main.ts', ...args]
    this.proc = opts.nofile === undefined ? spawn(node[0], node.slice(1), { cwd: root }) : spawn('prlimit', [`--nofile=${opts.nofile}`, ...node], { cwd: root })
    children.add(this.proc)
    this.proc.stdout.setEncoding('utf8')
    this.proc.stderr.setEncoding('utf8')
    this.proc.stdout.on('data', (d: string) => {
      const parts = (this.partial + d).split('\n')
      this.partial = parts.pop()!
      this.lines.push(...parts)
    })
    this.proc.stderr.on('data', (d: string) => (this.stderr += d))
    this.proc.stdin.on('error', () => {})
    this.exited = new Promise((done) =>
      this.proc.on('close', (code) => {
        children.delete(this.proc)
        this.exitCode = code
        done(code)
      }),
    )
  }

  /** The lines printed so far that are JSON objects (`--json` output). */
  json(): Record<string, any>[] {
    return this.lines.flatMap((l) => {
      try {
        return [JSON.parse(l)]
      } catch {
        return []
      }
    })
  }

  send(line: string): void {
    this.proc.stdin.write(line + '\n')
  }
}

/** SIGKILL every CLI process still running. */
export function killAll(): void {
  for (const c of children) c.kill('SIGKILL')
}
