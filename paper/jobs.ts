import { FIG2, runFig2, ORDERINGS, type Fig2Config, type Fig2Run } from './fig2.ts'
import { FIG3, runFig3, type Fig3Config, type Fig3Impl, type Fig3Run } from './fig3.ts'
import { spread, type SpreadResult } from './spread.ts'

/**
 * The reproduction as independent, seeded jobs (each a pure function of its
 * configuration), so that they can run in parallel processes and still give
 * the same results as one after another.
 */
export interface Config {
  readonly fig2: Fig2Config
  readonly fig3: Fig3Config
  /** Single-update spread: cluster sizes and trials for each. */
  readonly spread: readonly { readonly n: number; readonly trials: number }[]
  readonly spreadSeed: number
}

export const PAPER: Config = {
  fig2: FIG2,
  fig3: FIG3,
  spread: [
    { n: 100, trials: 100 },
    { n: 1000, trials: 20 },
  ],
  spreadSeed: 2008,
}

export type Job =
  | { readonly kind: 'fig2'; readonly order: (typeof ORDERINGS)[number] }
  | { readonly kind: 'fig3'; readonly n: number; readonly flow: boolean; readonly seed: number; readonly impl?: Fig3Impl }
  | { readonly kind: 'spread'; readonly n: number; readonly trials: number }

export type JobResult =
  | { readonly kind: 'fig2'; readonly run: Fig2Run }
  | { readonly kind: 'fig3'; readonly run: Fig3Run }
  | { readonly kind: 'spread'; readonly result: SpreadResult }

/** Every job of a configuration, longest first (for scheduling). */
export function jobs(c: Config): Job[] {
  const f3 = c.fig3
  const seeds = Array.from({ length: f3.repeats }, (_, i) => f3.seed + i)
  const largest = Math.max(...f3.sizes)
  const fig3 = (n: number): Job[] => seeds.flatMap((seed): Job[] => [{ kind: 'fig3', n, flow: true, seed }, { kind: 'fig3', n, flow: true, seed, impl: 'reference' }])
  return [
    { kind: 'fig2', order: 'newest' },
    { kind: 'fig2', order: 'breadth' },
    { kind: 'fig3', n: largest, flow: false, seed: f3.seed },
    { kind: 'fig2', order: 'oldest' },
    { kind: 'fig2', order: 'depth' },
    ...[...f3.sizes].sort((a, b) => b - a).flatMap(fig3),
    ...c.spread.map((s): Job => ({ kind: 'spread', n: s.n, trials: s.trials })),
  ]
}

export function runJob(c: Config, job: Job): JobResult {
  switch (job.kind) {
    case 'fig2':
      return { kind: 'fig2', run: runFig2(c.fig2, job.order, true) }
    case 'fig3':
      return { kind: 'fig3', run: runFig3(c.fig3, job.n, job.flow, job.seed, job.impl) }
    case 'spread':
      return { kind: 'spread', result: spread(job.n, job.trials, c.spreadSeed + job.n) }
  }
}

export function describe(job: Job): string {
  switch (job.kind) {
    case 'fig2':
      return `Figure 2, ${job.order}`
    case 'fig3':
      return `Figure 3, N=${job.n}, seed ${job.seed}${job.flow ? '' : ', no flow control'}${job.impl === 'reference' ? ', reference model' : ''}`
    case 'spread':
      return `spread, N=${job.n}`
  }
}
