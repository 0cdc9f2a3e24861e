/**
 * Certificates for TLS tests, made at run time with the `openssl` binary
 * (the commands README.md shows): a cluster CA with two node certificates,
 * and a rogue CA with one node certificate. ECDSA P-256, with
 * subjectAltName. Throws a clear error when openssl is missing.
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import { join } from 'node:path'

export interface NodeCert {
  cert: Buffer
  key: Buffer
}

export interface TestPki {
  dir: string
  /** The cluster CA certificate, and the rogue CA's. */
  ca: Buffer
  rogueCa: Buffer
  nodeA: NodeCert
  nodeB: NodeCert
  /** Signed by the rogue CA. */
  rogue: NodeCert
  /** Remove the folder. */
  remove(): void
}

const OPENSSL = process.env.OPENSSL ?? 'openssl'

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
    if (e.code === 'ENOENT') {
      throw new Error(`these tests make certificates with the openssl binary, and "${OPENSSL}" was not found: install OpenSSL or set OPENSSL to its path`)
    }
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`)
  }
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '3650', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ])
}

function makeNode(dir: string, ca: string, name: string): NodeCert {
  openssl(dir, [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`,
  ])
  fs.writeFileSync(
    join(dir, `${name}.ext`),
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:${name},DNS:localhost,IP:127.0.0.1\n`,
  )
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '825', '-sha256', '-extfile', `${name}.ext`,
  ])
  return { cert: fs.readFileSync(join(dir, `${name}.crt`)), key: fs.readFileSync(join(dir, `${name}.key`)) }
}

export function makeTestPki(): TestPki {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'scuttle-tls-'))
  try {
    makeCa(dir, 'cluster-ca')
    makeCa(dir, 'rogue-ca')
    return {
      dir,
      ca: fs.readFileSync(join(dir, 'cluster-ca.crt')),
      rogueCa: fs.readFileSync(join(dir, 'rogue-ca.crt')),
      nodeA: makeNode(dir, 'cluster-ca', 'node-a'),
      nodeB: makeNode(dir, 'cluster-ca', 'node-b'),
      rogue: makeNode(dir, 'rogue-ca', 'rogue'),
      remove: () => fs.rmSync(dir, { recursive: true, force: true }),
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
