/**
 * The node's TLS options from its flags: reads the certificate, key, CA or
 * secret files named by `--tls-*` and `--secret-file`. Throws an Error whose
 * message names the flag, the file and the reason, for a file that cannot
 * be read or a CA file without a usable certificate; whether the
 * certificate and key load is checked by `listen` (a TypeError).
 */
import * as fs from 'node:fs'
import { caProblem, type TlsOptions } from '../transport/tls.ts'
import type { TlsFlags } from './args.ts'

function readFlagFile(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a folder' : e.message
    throw new Error(`cannot read --${flag} ${file}: ${why}`)
  }
}

/**
 * A secret file's bytes without the line ending(s) at its end, so that a
 * file written by `echo` or an editor gives the same secret as `--secret`.
 */
function readSecretFile(file: string): Buffer {
  const bytes = readFlagFile('secret-file', file)
  let end = bytes.length
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--
  if (end === 0) throw new Error(`--secret-file ${file} is empty`)
  return bytes.subarray(0, end)
}

/** The CA file's bytes, when they hold a certificate (not a key given by mistake, not garbage). */
function readCaFile(file: string): Buffer {
  const bytes = readFlagFile('tls-ca', file)
  const problem = caProblem(bytes)
  if (problem !== null) throw new Error(`--tls-ca ${file} ${problem}`)
  return bytes
}

export function loadTls(flags: TlsFlags): TlsOptions {
  switch (flags.kind) {
    case 'secret':
      return { secret: flags.secret }
    case 'secret-file':
      return { secret: readSecretFile(flags.secretFile) }
    case 'certificate':
      return {
        cert: readFlagFile('tls-cert', flags.certFile),
        key: readFlagFile('tls-key', flags.keyFile),
        ca: readCaFile(flags.caFile),
      }
  }
}
