/**
 * The first object each side sends on a connection, before any gossip:
 * `{hello: 1, id, cluster}`. It names the node, and the cluster it belongs
 * to, so that a node can refuse a stranger, or itself, before state flows.
 */
export const PROTOCOL_VERSION = 1

export interface Hello {
  hello: number
  id: string
  cluster: string
}

export function makeHello(id: string, cluster: string): Hello {
  return { hello: PROTOCOL_VERSION, id, cluster }
}

/** Why `obj` is not an acceptable hello for `cluster`, or null. */
export function helloProblem(obj: unknown, cluster: string, maxIdLength: number): string | null {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'expected a hello object'
  const h = obj as Record<string, unknown>
  if (typeof h.hello !== 'number') return 'expected a hello object'
  if (h.hello !== PROTOCOL_VERSION) return `protocol version ${String(h.hello)} is not supported (this node speaks ${PROTOCOL_VERSION})`
  if (typeof h.id !== 'string' || h.id === '' || h.id.length > maxIdLength) return 'hello without a valid id'
  if (h.cluster !== cluster) return `cluster mismatch: peer is in ${JSON.stringify(h.cluster)}, this node in ${JSON.stringify(cluster)}`
  return null
}
