/**
 * A package-lock.json for the consumer app, so that `npm ci --offline`
 * installs it from the npm cache that `npm ci` filled for this repository.
 *
 * Why a lockfile: `npm install --offline <tarball>` resolves each semver
 * range from the registry's full package documents (npm 11 always asks for
 * full metadata when it builds a tree), and `npm ci` never fetches those, so
 * the install fails with ENOTCACHED without network. From a lockfile, npm
 * only needs the tarballs, found in the cache by their integrity. The
 * versions are those of this repository's own lockfile, which is what its
 * tests run against.
 */

interface LockEntry {
  version?: string
  resolved?: string
  integrity?: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  dev?: boolean
  devOptional?: boolean
  optional?: boolean
  peer?: boolean
  [field: string]: unknown
}

export interface Lockfile {
  name?: string
  lockfileVersion: number
  packages: Record<string, LockEntry>
}

export interface PackedPackage {
  name: string
  version: string
  license?: string
  dependencies?: Record<string, string>
  bin?: Record<string, string> | string
  engines?: Record<string, string>
}

/** Where Node would find `name` from the package at `from`, in the layout of `lock`. */
function locate(lock: Lockfile, from: string, name: string): string | undefined {
  let dir = from
  for (;;) {
    const at = `${dir === '' ? '' : dir + '/'}node_modules/${name}`
    if (lock.packages[at] !== undefined) return at
    if (dir === '') return undefined
    const cut = dir.lastIndexOf('/node_modules/')
    dir = cut === -1 ? '' : dir.slice(0, cut)
  }
}

/**
 * The app's package.json dependencies and lockfile: the packed package from
 * `tarball` (a path relative to the app), plus `extra` packages of this
 * repository (their exact versions from `repoLock`), with every dependency
 * below them copied from `repoLock`. Throws if one is missing there.
 */
export function consumerLock(
  repoLock: Lockfile,
  packed: PackedPackage,
  tarball: string,
  tarballIntegrity: string,
  extra: string[],
  registry?: string,
): { dependencies: Record<string, string>; lock: Lockfile } {
  const dependencies: Record<string, string> = { [packed.name]: `file:${tarball}` }
  for (const name of extra) {
    const entry = repoLock.packages[`node_modules/${name}`]
    if (entry?.version === undefined) throw new Error(`${name} is not in the repository's lockfile`)
    dependencies[name] = entry.version
  }
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', version: '1.0.0', dependencies },
    [`node_modules/${packed.name}`]: {
      version: packed.version,
      resolved: `file:${tarball}`,
      integrity: tarballIntegrity,
      license: packed.license,
      dependencies: packed.dependencies,
      bin: typeof packed.bin === 'string' ? { [packed.name]: packed.bin } : packed.bin,
      engines: packed.engines,
    },
  }
  const visit = (from: string, deps: Record<string, string> | undefined, optional: boolean) => {
    for (const name of Object.keys(deps ?? {})) {
      if (name === packed.name) continue
      const at = locate(repoLock, from === `node_modules/${packed.name}` ? '' : from, name)
      if (at === undefined) {
        if (optional) continue
        throw new Error(`${name} (needed by ${from || 'the app'}) is not in the repository's lockfile`)
      }
      if (packages[at] !== undefined) continue
      // The app's own flags: everything is a production dependency here,
      // except optional ones (platform builds), which npm skips when they do not fit.
      const { dev, devOptional, peer, optional: wasOptional, ...entry } = repoLock.packages[at]!
      // An entry without `resolved` makes npm look up the package's
      // metadata to find its tarball, which an offline install can only do
      // if some earlier install happened to cache that metadata; with the
      // tarball's address, the tarball alone (in the cache by its
      // integrity) is enough.
      if (entry.resolved === undefined && registry !== undefined && entry.version !== undefined && entry.integrity !== undefined) {
        const name = at.slice(at.lastIndexOf('node_modules/') + 'node_modules/'.length)
        entry.resolved = `${registry.replace(/\/?$/, '/')}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`
      }
      packages[at] = optional || wasOptional === true ? { ...entry, optional: true } : entry
      visit(at, entry.dependencies, optional)
      visit(at, entry.optionalDependencies, true)
    }
  }
  visit('', Object.fromEntries(extra.map((n) => [n, '*'])), false)
  visit(`node_modules/${packed.name}`, packed.dependencies, false)
  return { dependencies, lock: { name: 'consumer', lockfileVersion: 3, packages } }
}
