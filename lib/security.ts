/**
 * simple-scuttle/security: signed updates (Node.js).
 */
export { generateSigningKeys, signer, verifier } from './security/ed25519.ts'
export { canonical } from './protocol/canonical.ts'
export type { SignFn, VerifyFn, AcceptFn, PeerLabel } from './core/types.ts'
