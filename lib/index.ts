// The declarations use Node's types (Buffer, streams, sockets): load them
// for apps whose tsconfig lists no "types" (the `tsc --init` default).
/// <reference types="node" preserve="true" />
/**
 * simple-scuttle: replicate key/value state between peers with the
 * Scuttlebutt anti-entropy protocol.
 *
 * This entry holds the seed's API (`Gossip`, `base`, history) and what a
 * user of it needs. Networking is `simple-scuttle/net`, persistence
 * `simple-scuttle/store`, signatures `simple-scuttle/security`, and the
 * sans-I/O protocol core, for harnesses and other transports,
 * `simple-scuttle/core`.
 */
export { Gossip, replicaOf, type GossipEvents, type GossipStats } from './stream/gossip.ts'
export type { PeerStream, PeerStreamEvents } from './stream/peer-stream.ts'
export type { WireStream, WireStreamEvents, WireStreamOptions } from './stream/wire-stream.ts'
export { base } from './base.ts'
export { ConfigError, type GossipConfig, type NormalizedConfig } from './config.ts'
export { History, type HistoryEvents } from './core/history.ts'
export { compareValues, resolution, sort } from './core/resolve.ts'
export { seededRandom } from './core/random.ts'
export { FLOW_DEFAULTS, type FlowOptions } from './core/flow.ts'
export { FlowError, type FlowConfig } from './core/flow-node.ts'
export { RefusedError, type DropReason, type Forgotten, type Journal, type RestoreSnapshot, type SourceState } from './core/replica-types.ts'
export type {
  AcceptFn,
  ClockFn,
  DeltaOrder,
  JsonInput,
  JsonValue,
  PeerLabel,
  RandomFn,
  Rec,
  ResolveFn,
  ResolveHost,
  SignFn,
  SortFn,
  VerifyFn,
  Versioned,
} from './core/types.ts'
export { DEFAULT_LIMITS, type Limits } from './protocol/validate.ts'
export type { WireMessage } from './protocol/messages.ts'
