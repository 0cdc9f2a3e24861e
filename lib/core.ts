/**
 * simple-scuttle/core: the protocol without I/O, for embedding it in another
 * transport or a simulator.
 *
 * - `Engine`: one node as four pure operations, `digest()`,
 *   `deltasFor(peerDigest, {mtu, order, random})` (the ordered deltas under
 *   an MTU and how many wanted to go), `apply(deltas)`, and the version
 *   known of each key; the paper's exchange in a few lines (see engine.ts).
 * - `Session` over a `Replica`: the whole protocol with one peer (legs,
 *   pushes, streamed answers, adoption, resyncs, verification), messages in
 *   and out through a `SessionPort` you implement.
 * - `FlowControl` and its arithmetic: the paper's flow control of update
 *   rates (section 4 there); `NodeFlow` and `FlowLink`, the same over
 *   sessions (rates on digests, the trust rule, the write gate): give a
 *   `NodeFlow` as `SessionOptions.flow`.
 *
 * - What an embedder needs around them: the built-in `resolution`s, `sort`
 *   and `compareValues`, `DEFAULT_LIMITS` (and `Limits`), and the types of
 *   records, values and options (`Rec`, `JsonValue`, `Versioned`,
 *   `DeltaOrder`, `RandomFn`, `PeerLabel`).
 *
 * Nothing here reads a clock, draws randomness or does I/O of its own: time
 * and randomness are injected.
 */
export { Engine, type ApplyResult, type Delta, type DeltaOptions, type DeltaSet, type DigestEntry, type EngineOptions } from './core/engine.ts'
export { FLOW_DEFAULTS, FlowControl, effectiveRate, redistribute, share, type AimdEvent, type FlowOptions, type Rates } from './core/flow.ts'
export { FlowLink, clampRate, trustedShare, type FlowHost } from './core/flow-link.ts'
export { FlowError, NodeFlow, flowSettings, type FlowConfig, type FlowSettings, type QueuedWrite } from './core/flow-node.ts'
export { Replica, type ReplicaOptions, type ReplicaStats, type LocalListener } from './core/replica.ts'
export { Session, type SessionOptions, type SessionPort, type SessionStats } from './core/session.ts'
export { selectDelta, type Candidate, type Selection } from './core/delta.ts'
export { Clock, Source } from './core/clock.ts'
export { seededRandom } from './core/random.ts'
export { compareValues, resolution, sort } from './core/resolve.ts'
export type { DeltaOrder, JsonValue, PeerLabel, RandomFn, Rec, Versioned } from './core/types.ts'
export { DEFAULT_LIMITS, decode, readUpdate, type Limits, type UpdateSlot } from './protocol/validate.ts'
export { MAX_RATE, type Message, type DigestMsg, type DoneMsg, type RateClaim, type UpdateMsg, type WireMessage } from './protocol/messages.ts'
export type { Digest, Leg } from './protocol/digest.ts'
