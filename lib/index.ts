// The declarations use Node's types (Buffer, streams, sockets): load them
// for apps whose tsconfig lists no "types" (the `tsc --init` default).
/// <reference types="node" preserve="true" />
/**
 * simple-scuttle: replicate key/value state between peers with the
 * Scuttlebutt anti-entropy protocol.
 */
export { Gossip, type GossipEvents, type GossipStats } from './stream/gossip.ts'
export { PeerStream, type PeerStreamEvents } from './stream/peer-stream.ts'
export { WireStream, type WireStreamEvents, type WireStreamOptions } from './stream/wire-stream.ts'
export { base } from './base.ts'
export { ConfigError, type GossipConfig, type NormalizedConfig } from './config.ts'
export { History, type HistoryEvents } from './core/history.ts'
export { compareValues, resolution, sort } from './core/resolve.ts'
export { seededRandom } from './core/random.ts'
export { Replica, type ReplicaOptions, type ReplicaStats } from './core/replica.ts'
export { Session, type SessionOptions, type SessionPort, type SessionStats } from './core/session.ts'
export type { Clock, Source } from './core/clock.ts'
export type {
  ClockFn,
  DeltaOrder,
  JsonValue,
  RandomFn,
  Rec,
  ResolveFn,
  ResolveHost,
  SortFn,
  Versioned,
} from './core/types.ts'
export { DEFAULT_LIMITS, type Limits } from './protocol/validate.ts'
export type { Message, WireMessage } from './protocol/messages.ts'
