import * as fs from 'node:fs'
import * as path from 'node:path'

/**
 * Why `dir` cannot be a store's folder, or null: it, or the nearest part
 * of its path that exists, is a file (or anything else but a folder).
 * Other problems (permissions) are left to the store's own calls to report.
 */
export function notAFolder(dir: string): string | null {
  let at = path.resolve(dir)
  for (;;) {
    let st: fs.Stats | undefined
    try {
      st = fs.statSync(at)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return null
    }
    if (st !== undefined) {
      if (st.isDirectory()) return null
      return at === path.resolve(dir) ? 'it is not a folder' : `${at} is not a folder`
    }
    const up = path.dirname(at)
    if (up === at) return null
    at = up
  }
}
