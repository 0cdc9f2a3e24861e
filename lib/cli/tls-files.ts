/**
 * The node's TLS options from its flags: reads the certificate, key, CA or
 * secret files named by `--tls-*` and `--secret-file`. Throws an Error whose
 * message names the flag, the file and the reason; it does not check that
 * the files hold usable PEM (`listen` does, with a TypeError).
 */
import * as fs from 'node:fs'
import type { TlsOptions } from '../transport/tls.ts'
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
        ca: readFlagFile('tls-ca', flags.caFile),
      }
  }
}
