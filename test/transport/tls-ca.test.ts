/**
 * A TLS `ca` that holds no usable certificate (garbage, the CA's private
 * key given by mistake, a certificate whose bytes are damaged) is refused
 * when the options are set up, by `listen` and `connect` alike, with a
 * TypeError that says so: otherwise the node would start and refuse every
 * peer, blaming the peer.
 */
import test from 'tape'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Network, connect, listen, type TlsOptions } from '../../lib/net.ts'
import { makeTestPki } from '../support/certs.ts'
import { node } from '../support/streams.ts'

const pki = makeTestPki()
const caKey = readFileSync(join(pki.dir, 'cluster-ca.key'))
/** The CA certificate with a run of its base64 replaced: PEM framing intact, the certificate inside unreadable. */
const damaged = Buffer.from(pki.ca.toString('utf8').replace(/\n([A-Za-z0-9+/]{64}\n){3}/, (m) => '\n' + 'A'.repeat(64) + '\n' + m.slice(66)))

test('a ca without a usable certificate: listen and connect throw a TypeError saying so', async (t) => {
  const g = node('a')
  const network = new Network(g)
  const bad: [string, unknown, RegExp][] = [
    ['garbage', Buffer.from('this is not a certificate\n'), /tls: ca holds no certificate/],
    ['the CA\'s private key', caKey, /tls: ca holds no certificate .*private key/],
    ['an array with one entry without a certificate', [pki.ca, 'garbage'], /tls: ca\[1\] holds no certificate/],
    ['a damaged certificate', damaged, /tls: ca holds a certificate that cannot be read/],
  ]
  for (const [what, ca, re] of bad) {
    const opts = { ...pki.nodeA, ca } as TlsOptions
    t.throws(() => connect(network, { host: '127.0.0.1', port: 1, tls: opts }), (err: unknown) => err instanceof TypeError && re.test(err.message), `connect: ${what}`)
    let err: unknown = null
    await listen(network, { port: 0, host: '127.0.0.1', tls: opts }).then((l) => l.close(), (e) => (err = e))
    t.ok(err instanceof TypeError && re.test(err.message), `listen: ${what} (${(err as Error | null)?.message})`)
  }
  const l = await listen(network, { port: 0, host: '127.0.0.1', tls: { ...pki.nodeA, ca: [pki.ca, pki.rogueCa] } })
  t.ok(l.port > 0, 'two good CA certificates are taken')
  await network.close()
  t.end()
})

test.onFinish(() => pki.remove())
