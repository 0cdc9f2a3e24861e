/**
 * The WebSocket listeners of one HTTP server, and the upgrade requests none
 * of them takes. One `'upgrade'` handler per server hands each request to
 * the listener whose path it names (or to one that takes any path).
 *
 * Invariant: every upgrade request reaching a server whose only upgrade
 * handler is ours is answered and its socket closed, or taken by a
 * listener: a request target `new URL` cannot parse is answered 400, a
 * path no listener claims 404, each reported as a `'refused'` event. A
 * server that also has an upgrade handler of its own (another WebSocket
 * library, a proxy) gets those requests: they are its to answer.
 */
import type { EventEmitter } from 'node:events'
import type * as http from 'node:http'
import type { Duplex as NodeDuplex } from 'node:stream'
import type { Network } from './network.ts'

export interface UpgradeRoute {
  /** The path taken (`/gossip`), or undefined for any. */
  readonly path: string | undefined
  /** Take a request to this route's path. */
  take(req: http.IncomingMessage, socket: NodeDuplex, head: Buffer): void
  /** Hears, as a `'refused'` event, the requests answered here (unparsable, or to no listener's path). */
  readonly network: Pick<Network, 'emit'>
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }

/** Answer an upgrade request with `status` and close its socket. */
export function rejectUpgrade(socket: NodeDuplex, status: number): void {
  socket.on('error', () => {})
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  socket.destroy()
}

/** The path of a request target (origin form `/p?q` or absolute form `ws://h/p`), or null when it cannot be parsed. */
export function requestPath(target: string | undefined): string | null {
  try {
    return new URL(target ?? '/', 'http://x').pathname
  } catch {
    return null
  }
}

interface Router {
  readonly routes: UpgradeRoute[]
  readonly dispatch: (req: http.IncomingMessage, socket: NodeDuplex, head: Buffer) => void
}

const routers = new WeakMap<EventEmitter, Router>()

/** Take the upgrades of `server` to `route.path`; returns the function that gives them back. */
export function addRoute(server: EventEmitter, route: UpgradeRoute): () => void {
  let router = routers.get(server)
  if (router === undefined) {
    const routes: UpgradeRoute[] = []
    const dispatch = (req: http.IncomingMessage, socket: NodeDuplex, head: Buffer) => {
      const path = requestPath(req.url)
      const taker = path === null ? undefined : routes.find((r) => r.path === undefined || r.path === path)
      if (taker !== undefined) return taker.take(req, socket, head)
      // Another handler hears the same request: it is that handler's to answer.
      if (server.listenerCount('upgrade') > 1) return
      const address = `${req.socket.remoteAddress}:${req.socket.remotePort}`
      const shown = JSON.stringify((req.url ?? '').slice(0, 200))
      const reason = path === null ? `an upgrade to a URL that cannot be parsed (${shown})` : `an upgrade to ${shown}, a path no WebSocket listener takes`
      for (const network of new Set(routes.map((r) => r.network))) network.emit('refused', address, reason)
      rejectUpgrade(socket, path === null ? 400 : 404)
    }
    router = { routes, dispatch }
    routers.set(server, router)
    server.on('upgrade', dispatch)
  }
  const { routes, dispatch } = router
  routes.push(route)
  return () => {
    const at = routes.indexOf(route)
    if (at !== -1) routes.splice(at, 1)
    if (routes.length === 0 && routers.get(server) === router) {
      routers.delete(server)
      server.off('upgrade', dispatch)
    }
  }
}
