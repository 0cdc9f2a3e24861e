// The declarations use Node's types (Buffer, streams, sockets): load them
// for apps whose tsconfig lists no "types" (the `tsc --init` default).
/// <reference types="node" preserve="true" />
/**
 * simple-scuttle/security: signed updates (Node.js).
 */
export { generateSigningKeys, signer, verifier } from './security/ed25519.ts'
export { canonical } from './protocol/canonical.ts'
export type { SignFn, VerifyFn, AcceptFn, PeerLabel } from './core/types.ts'
