import { errorCode, naming, type StoreFs } from './fs.ts'
import { frame, unframe } from './log-format.ts'
import { parseObject } from './log-replay.ts'

/**
 * The sidecar `log.ndjson.synced`: one checksummed line
 * `["<crc>",{"file":"<file id>","synced":N}]`, padded with spaces to a
 * fixed size and overwritten in place after every fsync of the log. It says
 * that the first N bytes of the log whose header carries that file id were
 * on disk, which survives a truncation of the log that its own markers
 * cannot reveal. It is itself never synced: after a power loss it may be
 * older (it then claims less) or belong to an earlier file (it is then
 * ignored), never claim more than was synced.
 */
export const SIDECAR_SIZE = 128

export interface SyncedClaim {
  file: string
  synced: number
}

/** The text written to the sidecar for `claim`. */
export function sidecarText(claim: SyncedClaim): Buffer {
  const line = frame(JSON.stringify({ file: claim.file, synced: claim.synced }))
  return Buffer.from(line.slice(0, -1).padEnd(SIDECAR_SIZE - 1) + '\n', 'utf8')
}

/**
 * The claim in the sidecar at `path`, or null when there is none or it is
 * not intact (a torn overwrite): the log's own markers then decide alone.
 */
export function readSidecar(fs: StoreFs, path: string): SyncedClaim | null {
  let fd: number
  try {
    fd = fs.open(path, 'r')
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null
    throw err
  }
  const buf = Buffer.alloc(SIDECAR_SIZE * 2)
  let n = 0
  try {
    for (let k; n < buf.length && (k = fs.read(fd, buf, n, buf.length - n, n)) > 0; ) n += k
  } catch (err) {
    throw naming(err, path)
  } finally {
    fs.close(fd)
  }
  let end = buf.indexOf(10)
  if (end === -1 || end >= n) return null
  while (end > 0 && buf[end - 1] === 0x20) end--
  const f = unframe(buf, 0, end)
  if ('problem' in f) return null
  const o = parseObject(f.payload)
  if (typeof o === 'string' || typeof o.file !== 'string' || !Number.isSafeInteger(o.synced) || (o.synced as number) < 0) return null
  return { file: o.file, synced: o.synced as number }
}
