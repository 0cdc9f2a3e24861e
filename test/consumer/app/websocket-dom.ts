/**
 * The consumer app of test/consumer/consumer.test.ts: the browser's own
 * WebSocket class (TypeScript's lib "dom") passed to `connectWebSocket` of
 * `simple-scuttle/browser` as it is. No cast: `WebSocketConstructor` must
 * take it. Compiled there with `lib: ["esnext", "dom"]` against the
 * installed package's declarations; never run. The repository's own
 * typecheck has no DOM, and leaves this file out (tsconfig.json).
 */
import { Gossip, Network, base, connectWebSocket, type WebSocketConstructor } from 'simple-scuttle/browser'

export function dialFromTab(url: string): Network {
  const network = new Network(new Gossip('tab', { ...base.config, resolve: base.resolution.lww_vs_current_vers }))
  connectWebSocket(network, { url, token: 't', WebSocket })
  connectWebSocket(network, { url, WebSocket: globalThis.WebSocket })
  return network
}

export const browserClass: WebSocketConstructor = WebSocket
