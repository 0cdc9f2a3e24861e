// The declarations use Node's types (Buffer, streams, sockets): load them
// for apps whose tsconfig lists no "types" (the `tsc --init` default).
/// <reference types="node" preserve="true" />
/**
 * simple-scuttle/net: peers over byte streams, TCP and TLS (Node.js).
 */
export { Network, Connection, type NetworkOptions, type NetworkEvents, type NetworkStats, type NetworkMembership, type PeerInfo, type Direction } from './transport/network.ts'
export {
  listen,
  connect,
  openTcp,
  Dialer,
  ListenError,
  type ListenOptions,
  type Listener,
  type DialOptions,
  type Target,
  type LinkAttempt,
  type Opener,
} from './transport/tcp.ts'
export {
  tlsOpener,
  PSK_CIPHERS,
  PSK_TLS_VERSION,
  type TlsOptions,
  type TlsCertificateOptions,
  type TlsSecretOptions,
} from './transport/tls.ts'
export { Scheduler, type SchedulerOptions, type Exchangeable } from './transport/scheduler.ts'
export { join, Membership, type MembershipOptions, type MembershipStats } from './transport/membership.ts'
export type { Member, MemberState, MemberRecord, DetectorOptions, MemberLimits } from './membership/types.ts'
export { DETECTOR_DEFAULTS, MEMBER_LIMITS } from './membership/types.ts'
export { VIEW_DEFAULTS } from './membership/view.ts'
export { DIAL_LIMITS, DialGate, type DialLimits } from './membership/dial-backoff.ts'
export { backoffDelay, realTimers, type Timers, type BackoffOptions } from './transport/timers.ts'
export { createDecoder, createEncoder, NdjsonDecoder, NdjsonEncoder, type DecoderOptions, type EncoderOptions } from './codec/ndjson.ts'
export { makeHello, PROTOCOL_VERSION, type Hello } from './protocol/hello.ts'
export { listenWebSocket, type WebSocketListenOptions, type WebSocketListener } from './transport/websocket.ts'
export {
  connectWebSocket,
  openWebSocket,
  WebSocketDialer,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
  type WebSocketDialOptions,
  type WebSocketConstructor,
  type StandardWebSocket,
} from './transport/websocket-client.ts'
export { WebSocketStream, type FramePort, type WebSocketStreamOptions } from './transport/websocket-stream.ts'
