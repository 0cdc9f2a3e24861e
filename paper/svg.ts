/**
 * A small SVG line-plot writer (no dependency): axes with round ticks, one
 * polyline per series, a legend, and labelled vertical markers.
 */
export interface Series {
  readonly name: string
  readonly x: readonly number[]
  readonly y: readonly number[]
  readonly color?: string
  /** Dashed line. */
  readonly dash?: boolean
}

export interface Plot {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly Series[]
  /** Vertical lines at these x, with a short label. */
  readonly markers?: readonly { readonly x: number; readonly label: string }[]
  readonly width?: number
  readonly height?: number
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f']

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)))
  return out
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function label(v: number): string {
  if (Math.abs(v) >= 10000) return `${Number((v / 1000).toFixed(1))}k`
  return String(Number(v.toFixed(3)))
}

export function linePlot(p: Plot): string {
  const W = p.width ?? 760
  const H = p.height ?? 420
  const m = { left: 70, right: 170, top: 50, bottom: 55 }
  const pw = W - m.left - m.right
  const ph = H - m.top - m.bottom
  let x0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (const s of p.series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]
      const y = s.y[i]
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue
      if (x < x0) x0 = x
      if (x > x1) x1 = x
      if (y > y1) y1 = y
    }
  }
  if (!Number.isFinite(x0)) {
    x0 = 0
    x1 = 1
  }
  if (!(y1 > 0)) y1 = 1
  const yt = ticks(0, y1)
  const yMax = Math.max(y1, yt[yt.length - 1])
  const xt = ticks(x0, x1)
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * pw
  const sy = (y: number) => m.top + ph - (y / yMax) * ph
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  out.push(`<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15">${esc(p.title)}</text>`)
  for (const v of yt) {
    const y = sy(v).toFixed(1)
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(v)}</text>`)
  }
  for (const v of xt) {
    const x = sx(v).toFixed(1)
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="#333"/>`)
    out.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${label(v)}</text>`)
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`)
  out.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(p.xLabel)}</text>`)
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`)
  ;(p.markers ?? []).forEach((mk, i) => {
    if (mk.x < x0 || mk.x > x1) return
    const x = sx(mk.x).toFixed(1)
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#999" stroke-dasharray="3 3"/>`)
    // Labels alternate between two heights so that close markers stay readable.
    out.push(`<text x="${x}" y="${m.top - 4 - (i % 2) * 11}" text-anchor="middle" font-size="10" fill="#555">${esc(mk.label)}</text>`)
  })
  p.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]
    const pts: string[] = []
    for (let j = 0; j < s.x.length; j++) {
      if (Number.isFinite(s.x[j]) && Number.isFinite(s.y[j])) pts.push(`${sx(s.x[j]).toFixed(1)},${sy(s.y[j]).toFixed(1)}`)
    }
    const dash = s.dash === true ? ' stroke-dasharray="6 4"' : ''
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8"${dash} points="${pts.join(' ')}"/>`)
    const ly = m.top + 10 + i * 20
    out.push(`<line x1="${m.left + pw + 12}" y1="${ly}" x2="${m.left + pw + 36}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`)
    out.push(`<text x="${m.left + pw + 42}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
