/**
 * simple-scuttle/browser: everything a browser tab needs to be a node of a
 * cluster: the `Gossip` and its streams (as in `simple-scuttle`), the
 * `Network` (hello, budgets, gossip rounds) over WebSocket links that
 * redial by themselves, and a store in IndexedDB. No Node module is
 * imported from here (`buffer`, `process` and `events` come from their npm
 * packages through `readable-stream`).
 *
 *   const { gossip } = await openIndexedDB('tab-1', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
 *   const network = new Network(gossip, { cluster: 'demo' })
 *   connectWebSocket(network, { url: 'ws://127.0.0.1:7101/', token })
 */
export * from './index.ts'
export { Network, Connection, type NetworkOptions, type NetworkEvents, type NetworkStats, type PeerInfo, type Direction } from './transport/network.ts'
export { backoffDelay, realTimers, type Timers, type BackoffOptions } from './transport/timers.ts'
export {
  connectWebSocket,
  openWebSocket,
  offeredProtocols,
  WebSocketDialer,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
  type WebSocketDialOptions,
  type WebSocketConstructor,
  type StandardWebSocket,
} from './transport/websocket-client.ts'
export { WebSocketStream, type FramePort, type WebSocketStreamOptions } from './transport/websocket-stream.ts'
export { openIndexedDB, IndexedDbStore, type IndexedDbOptions, type IndexedDbNode } from './store/indexeddb.ts'
export { DatabaseLockedError, type LockManager } from './store/web-lock.ts'
export { makeHello, PROTOCOL_VERSION, type Hello } from './protocol/hello.ts'
