/** One checked claim: what was expected, what was measured, and whether it holds. */
export interface Criterion {
  readonly figure: string
  readonly name: string
  readonly expected: string
  readonly measured: string
  readonly pass: boolean
}

/** Compact number formatting for tables: integers grouped, others to `digits` places. */
export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return x > 0 ? 'never' : String(x)
  if (Number.isInteger(x) && Math.abs(x) >= 1000) return x.toLocaleString('en-US')
  if (Number.isInteger(x)) return String(x)
  return x.toFixed(digits)
}

/** `measured` within [lo, hi]. */
export function inRange(figure: string, name: string, measured: number, lo: number, hi: number, digits = 2): Criterion {
  return { figure, name, expected: `${fmt(lo, digits)} – ${fmt(hi, digits)}`, measured: fmt(measured, digits), pass: measured >= lo && measured <= hi }
}

/** `measured` strictly below `bound`. */
export function below(figure: string, name: string, measured: number, bound: number, digits = 2): Criterion {
  return { figure, name, expected: `< ${fmt(bound, digits)}`, measured: fmt(measured, digits), pass: measured < bound }
}

/** `measured` strictly above `bound`. */
export function above(figure: string, name: string, measured: number, bound: number, digits = 2): Criterion {
  return { figure, name, expected: `> ${fmt(bound, digits)}`, measured: fmt(measured, digits), pass: measured > bound }
}

/** `measured` equal to `value`. */
export function equal(figure: string, name: string, measured: number, value: number): Criterion {
  return { figure, name, expected: fmt(value), measured: fmt(measured), pass: measured === value }
}

/**
 * `measured` close to a reference value: within `rel` of it, or within `abs`
 * of it, whichever is wider. Two infinite values (never reached) agree.
 */
export function near(figure: string, name: string, measured: number, ref: number, rel: number, abs = 0, digits = 2): Criterion {
  const tol = Math.max(Math.abs(ref) * rel, abs)
  const pass = measured === ref || Math.abs(measured - ref) <= tol
  const tolText = rel > 0 && abs > 0 ? `±${Math.round(rel * 100)}% or ±${fmt(abs, digits)}` : rel > 0 ? `±${Math.round(rel * 100)}%` : `±${fmt(abs, digits)}`
  return { figure, name, expected: `ref ${fmt(ref, digits)} ${tolText}`, measured: fmt(measured, digits), pass }
}

/** A claim that is true or false, with the numbers behind it. */
export function claim(figure: string, name: string, expected: string, measured: string, pass: boolean): Criterion {
  return { figure, name, expected, measured, pass }
}

/** The criteria as a fixed-width text table. */
export function textTable(rows: readonly Criterion[]): string {
  const head = ['figure', 'criterion', 'expected', 'measured', '']
  const cells = rows.map((r) => [r.figure, r.name, r.expected, r.measured, r.pass ? 'pass' : 'FAIL'])
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c: string[]) => c.map((x, i) => x.padEnd(width[i])).join('  ').trimEnd()
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

/** The criteria as a Markdown table. */
export function markdownTable(rows: readonly Criterion[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|')
  return [
    '| figure | criterion | expected | measured | |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${esc(r.figure)} | ${esc(r.name)} | ${esc(r.expected)} | ${esc(r.measured)} | ${r.pass ? 'pass' : '**FAIL**'} |`),
  ].join('\n')
}
