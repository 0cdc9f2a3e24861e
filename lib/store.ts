// The declarations use Node's types (Buffer, streams, sockets): load them
// for apps whose tsconfig lists no "types" (the `tsc --init` default).
/// <reference types="node" preserve="true" />
/**
 * simple-scuttle/store: a node's state, clocks and version leases in an
 * append-only log on disk (Node.js).
 */
export { openDurable, type Durable } from './store/durable.ts'
export { LogStore, type StoreOptions, type StoreStats, type Durability } from './store/log-store.ts'
export { readLog, LogCorruptError, type Recovered } from './store/log-format.ts'
