// The live page: a picture of the cluster from /status (polled), and this
// tab as a node of it: a Gossip in IndexedDB, linked over WebSocket to the
// first CLI node, writing and reading the shared board (keys "board/...").
import { Gossip, Network, base, connectWebSocket, openIndexedDB } from '/simple-scuttle.js'

const $ = (id) => document.getElementById(id)
const SVG = 'http://www.w3.org/2000/svg'
const BOARD = 'board/'

// ---- this tab as a node ----

const tabId = sessionStorage.getItem('tab-id') ?? `tab-${Math.random().toString(36).slice(2, 6)}`
sessionStorage.setItem('tab-id', tabId) // a reload is the same node, resumed from IndexedDB
const config = { ...base.config, resolve: base.resolution.lww_vs_current_vers, mtu: 100 }
let gossip
try {
  gossip = (await openIndexedDB(tabId, config)).gossip
} catch {
  gossip = new Gossip(tabId, config) // private windows may have no IndexedDB
}
const network = new Network(gossip, { interval: 500, backoff: { initial: 200, max: 2000 } })
let linked = null
$('me').textContent = `this tab: ${tabId}`
gossip.history.on('update', (u) => u.key.startsWith(BOARD) && renderBoard())

$('write').addEventListener('submit', (ev) => {
  ev.preventDefault()
  gossip.set(BOARD + $('key').value.trim(), $('value').value)
  $('value').value = ''
  renderBoard()
})

// ---- the picture ----

let last = null

function position(i, n) {
  const a = (2 * Math.PI * i) / n - Math.PI / 2
  return [260 + 150 * Math.cos(a), 200 + 150 * Math.sin(a)]
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  if (text !== undefined) e.textContent = text
  return e
}

/** Nodes to draw: the CLI nodes, then every tab some node is linked to. */
function nodesOf(status) {
  const cli = status.nodes.map((n) => ({ ...n, kind: 'cli' }))
  const ids = new Set(cli.map((n) => n.id))
  const tabs = []
  for (const n of status.nodes) for (const p of n.peers) {
    if (!ids.has(p.id)) {
      ids.add(p.id)
      const self = p.id === tabId
      tabs.push({ id: p.id, kind: 'tab', up: true, keys: self ? gossip.keys().length : null, peers: [{ id: n.id }] })
    }
  }
  return [...cli, ...tabs]
}

function render(status) {
  const now = performance.now()
  const nodes = nodesOf(status)
  const most = Math.max(...status.nodes.filter((n) => n.up).map((n) => n.keys))
  const at = new Map(nodes.map((n, i) => [n.id, position(i, nodes.length)]))
  const svg = $('picture')
  svg.replaceChildren()
  // Links, once per pair. A link that carries bytes is busy: dots run along it, more for more bytes per second.
  const drawn = new Set()
  for (const n of status.nodes) for (const p of n.peers) {
    const pair = [n.id, p.id].sort().join(' ')
    if (drawn.has(pair) || !at.has(p.id)) continue
    drawn.add(pair)
    const [x1, y1] = at.get(n.id)
    const [x2, y2] = at.get(p.id)
    svg.append(el('line', { class: p.rate > 0 ? 'link busy' : 'link', x1, y1, x2, y2, 'data-link': pair, 'data-rate': p.rate }))
    if (p.rate <= 0) continue
    const dots = Math.min(6, Math.ceil(p.rate / 4096))
    for (let d = 0; d < dots; d++) {
      // Negative begin times keep the motion continuous across redraws.
      const dot = el('circle', { class: 'dot', r: 3.5 })
      dot.append(el('animateMotion', { dur: '1.2s', repeatCount: 'indefinite', path: `M${x1},${y1} L${x2},${y2}`, begin: `-${((now / 1000) % 1.2) + (d * 1.2) / dots}s` }))
      svg.append(dot)
    }
    svg.append(el('text', { class: 'rate', x: (x1 + x2) / 2 + 6, y: (y1 + y2) / 2 - 6 }, `${(p.rate / 1024).toFixed(1)} kB/s`))
  }
  for (const n of nodes) {
    const [x, y] = at.get(n.id)
    const lag = n.kind === 'cli' && n.up ? most - n.keys : 0
    const g = el('g', { class: 'node', 'data-id': n.id, 'data-kind': n.kind, 'data-state': n.up ? 'up' : 'down', 'data-keys': n.keys ?? '', 'data-lag': lag })
    g.append(el('circle', { cx: x, cy: y, r: 30 }))
    g.append(el('text', { x, y: y - 2, class: 'name' }, n.id === tabId ? 'this tab' : n.id))
    g.append(el('text', { x, y: y + 13 }, !n.up ? 'down' : n.keys === null ? 'tab' : `${n.keys} keys`))
    svg.append(g)
  }
  // The table.
  $('nodes').replaceChildren(...status.nodes.map((n) => {
    const tr = document.createElement('tr')
    tr.dataset.id = n.id
    const cells = [n.id, n.up ? 'up' : 'down', n.up ? n.keys : '–', n.up ? most - n.keys : '–', `${(n.bytesOut / 1024).toFixed(1)} kB`, n.peers.map((p) => p.id).join(' ')]
    for (const c of cells) tr.append(Object.assign(document.createElement('td'), { textContent: c }))
    return tr
  }))
  $('phase').textContent = `${status.phase} · ${status.writes} writes`
  $('phase').dataset.phase = status.phase
  $('converged').textContent = status.converged ? 'converged: same state on every node' : 'not converged yet'
  $('converged').dataset.converged = status.converged ? 'yes' : 'no'
  $('events').replaceChildren(...status.events.map(([t, text]) => Object.assign(document.createElement('li'), { textContent: `${t.toFixed(1)} s  ${text}` })))
  last = status
  renderBoard()
}

function renderBoard() {
  const rows = gossip.records().filter((r) => r.key.startsWith(BOARD) && !r.deleted).sort((a, b) => (a.key < b.key ? -1 : 1))
  $('board').replaceChildren(...rows.map((r) => {
    const key = r.key.slice(BOARD.length)
    const holders = (last?.nodes ?? []).filter((n) => n.up && n.board.includes(r.key)).map((n) => n.id)
    const tr = document.createElement('tr')
    tr.dataset.key = key
    tr.dataset.heldBy = holders.join(' ')
    const cells = [key, JSON.stringify(r.value), r.source_id === tabId ? 'this tab' : r.source_id, holders.join(', ')]
    cells.forEach((c, i) => tr.append(Object.assign(document.createElement('td'), { textContent: c, className: i === 3 ? 'held' : '' })))
    return tr
  }))
}

async function poll() {
  try {
    const status = await (await fetch('/status')).json()
    // Link this tab to the first node (never the one the demo kills).
    if (linked === null && status.nodes[0]?.ws) linked = connectWebSocket(network, { url: status.nodes[0].ws })
    render(status)
  } catch {
    $('phase').textContent = 'the demo has stopped'
    $('phase').dataset.phase = 'stopped'
  }
  setTimeout(poll, 400)
}
poll()
