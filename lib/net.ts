/**
 * simple-scuttle/net: peers over byte streams and TCP (Node.js).
 */
export { Network, Connection, type NetworkOptions, type NetworkEvents, type PeerInfo, type Direction } from './transport/network.ts'
export { listen, connect, Dialer, ListenError, type ListenOptions, type Listener, type DialOptions } from './transport/tcp.ts'
export { Scheduler, type SchedulerOptions, type Exchangeable } from './transport/scheduler.ts'
export { backoffDelay, realTimers, type Timers, type BackoffOptions } from './transport/timers.ts'
export { createDecoder, createEncoder, NdjsonDecoder, NdjsonEncoder, type DecoderOptions, type EncoderOptions } from './codec/ndjson.ts'
export { makeHello, PROTOCOL_VERSION, type Hello } from './protocol/hello.ts'
