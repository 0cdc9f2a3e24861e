/**
 * The consumer app of test/consumer/consumer.test.ts: the `ws` package's
 * WebSocket class, as Node 20 needs one (it has no global WebSocket), passed
 * to `connectWebSocket` as it is, and a subclass of it with client options.
 * No cast: `WebSocketConstructor` must take them. A token from the
 * environment (`string | undefined`) is taken as it is, with
 * `exactOptionalPropertyTypes` (on in `tsc --init`'s tsconfig). Compiled there in strict
 * TypeScript against the installed package's declarations; never run.
 */
import WebSocket, { WebSocket as NamedWebSocket } from 'ws'
import { Gossip, base } from 'simple-scuttle'
import { Network, connectWebSocket, listenWebSocket, type WebSocketConstructor } from 'simple-scuttle/net'

class WithOptions extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { handshakeTimeout: 1000 })
  }
}

export function dialWithWs(url: string): Network {
  const network = new Network(new Gossip('ws-dialler', { ...base.config, resolve: base.resolution.lww_vs_current_vers }))
  connectWebSocket(network, { url, WebSocket })
  connectWebSocket(network, { url, token: 't', WebSocket: NamedWebSocket })
  connectWebSocket(network, { url, WebSocket: WithOptions })
  connectWebSocket(network, { url, token: process.env.WS_TOKEN, WebSocket })
  void listenWebSocket(network, { port: 0, token: process.env.WS_TOKEN })
  return network
}

export const classes: WebSocketConstructor[] = [WebSocket, NamedWebSocket, WithOptions]
