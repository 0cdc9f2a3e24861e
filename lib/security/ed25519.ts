import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { canonical } from '../protocol/canonical.ts'
import type { Rec, SignFn, VerifyFn } from '../core/types.ts'

/**
 * Per-source ed25519 signatures over a record's canonical bytes (Node.js).
 *
 *   const { publicKey, privateKey } = generateSigningKeys()
 *   new Gossip('a', { ...config, sign: signer(privateKey), verify: verifier({ a: publicKeyOfA, b: publicKeyOfB }) })
 *
 * Keys are PEM strings (or KeyObjects). Distributing the public keys of the
 * cluster's members is the application's part (a config file, a directory
 * service); a node needs the public key of every source it accepts.
 */
export function generateSigningKeys(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  }
}

/** `config.sign` for this node, from its private key. */
export function signer(privateKey: string | KeyObject): SignFn {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey
  return (rec: Rec) => sign(null, Buffer.from(canonical(rec)), key).toString('base64')
}

/**
 * `config.verify` from the public keys of the sources this node accepts,
 * by `source_id`. A record without a signature, or whose signature does not
 * match its bytes, is refused as forged; one of a source without a key is
 * refused and passed over (`knows`), as an honest peer may relay it.
 */
export function verifier(publicKeys: Record<string, string | KeyObject>): VerifyFn {
  const keys = new Map<string, KeyObject>()
  for (const [id, k] of Object.entries(publicKeys)) keys.set(id, typeof k === 'string' ? createPublicKey(k) : k)
  const verifyFn: VerifyFn = (rec: Rec) => {
    const key = keys.get(rec.source_id)
    if (key === undefined || typeof rec.sig !== 'string') return false
    try {
      return verify(null, Buffer.from(canonical(rec)), key, Buffer.from(rec.sig, 'base64'))
    } catch {
      return false
    }
  }
  // A source without a key is this node's choice (or a key not rolled out yet), not a forgery by whoever relayed it.
  verifyFn.knows = (source_id: string) => keys.has(source_id)
  return verifyFn
}
