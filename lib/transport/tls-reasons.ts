/**
 * Short, stable sentences for why a TLS link was refused, from the error
 * codes of Node and OpenSSL. They appear in the network's 'refused' events
 * and log lines; tests and operators match on them.
 */

/** Certificate verification results (`authorizationError`, or the code of a client's verify error). */
const NOT_FROM_CA = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
])
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])

/** OpenSSL errors (as Node's `ERR_SSL_*` codes) grouped by what they mean for a link. */
const WRONG_SECRET = new Set([
  'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
  'ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC',
  'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
  'ERR_SSL_DECRYPT_ERROR',
  'ERR_SSL_BAD_RECORD_MAC',
])
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_HTTPS_PROXY_REQUEST',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_RECORD_LAYER_FAILURE',
])
const NO_COMMON_MODE = new Set([
  'ERR_SSL_NO_SHARED_CIPHER',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM',
  'ERR_SSL_NO_CIPHERS_AVAILABLE',
])
const NO_COMMON_VERSION = new Set(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'])
const PEER_DISTRUSTS_US = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
])
const BROKE_OFF = new Set(['ECONNRESET', 'EPIPE'])

export const REASON = {
  wrongSecret: 'wrong cluster secret',
  noCertificate: 'no client certificate',
  notTlsPeer: 'the peer does not speak TLS (plain TCP?)',
  tlsOnPlain: 'the peer speaks TLS; this listener is plain TCP',
  noCommonMode: 'no common TLS mode (certificates on one side, a cluster secret on the other?)',
  noCommonVersion: 'no common TLS version',
  certificateRequired: 'the peer requires a client certificate',
  brokeOff: "the peer broke off the TLS handshake (it does not accept this node's certificate or secret?)",
  closedBeforeHello: "the peer closed the link after the TLS handshake, before its hello (it is at its connection limit, maxConnections, or does not accept this node's certificate?)",
  handshakeTimeout: 'no TLS handshake in time',
} as const

/** The part of an OpenSSL message that says what went wrong ("wrong version number"). */
function shortMessage(message: string): string {
  const m = /:(?:SSL routines|[A-Za-z0-9 ]+ routines):[^:]*:([^:]+)/.exec(message)
  return (m?.[1] ?? message).trim()
}

function certificateProblem(code: string, whose: string): string {
  if (NOT_FROM_CA.has(code)) return `${whose} certificate is not signed by the cluster CA (${code})`
  if (OUT_OF_DATE.has(code)) return `${whose} certificate is out of its validity period (${code})`
  return `${whose} certificate was rejected (${code})`
}

/**
 * Why a TLS handshake with a peer failed, as one sentence. `authorizationError`
 * is this node's verdict on the peer's certificate, when it reached one; TLS
 * alerts from the peer say what it thought of this node's credentials.
 */
export function tlsFailure(err: { code?: string; message: string }, authorizationError?: string | null): string {
  if (authorizationError) return certificateProblem(authorizationError, "the peer's")
  const code = err.code ?? ''
  if (NOT_FROM_CA.has(code) || OUT_OF_DATE.has(code)) return certificateProblem(code, "the peer's")
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the peer's certificate was rejected (${code})`
  if (WRONG_SECRET.has(code)) return REASON.wrongSecret
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return REASON.noCertificate
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return REASON.certificateRequired
  if (PEER_DISTRUSTS_US.has(code)) return `the peer does not accept this node's certificate (${shortMessage(err.message)})`
  if (NOT_TLS.has(code)) return REASON.notTlsPeer
  if (NO_COMMON_MODE.has(code)) return REASON.noCommonMode
  if (NO_COMMON_VERSION.has(code)) return REASON.noCommonVersion
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return REASON.handshakeTimeout
  if (BROKE_OFF.has(code)) return REASON.brokeOff
  return `TLS handshake failed: ${shortMessage(err.message)}${code ? ` (${code})` : ''}`
}
