// The declarations use Node's types (Buffer, streams, sockets): load them
// for apps whose tsconfig lists no "types" (the `tsc --init` default).
/// <reference types="node" preserve="true" />
/**
 * simple-scuttle/store: a node's state, clocks and version leases in a
 * checksummed append-only log on disk (Node.js).
 */
export { openDurable, type Durable } from './store/durable.ts'
export { LogStore, type StoreOptions, type StoreStats, type StoreStatus, type StoreEvents, type Durability } from './store/log-store.ts'
export { readLog, type ReadOptions } from './store/log-reader.ts'
export type { Recovered, Dropped } from './store/log-replay.ts'
export { LogCorruptError, LogReplacedError, StoreClosedError, StoreDegradedError, type Damage } from './store/errors.ts'
export { FolderLockedError } from './store/folder-lock.ts'
export { realFs, type StoreFs, type FileStat } from './store/fs.ts'
export { RefusedError } from './core/replica.ts'
