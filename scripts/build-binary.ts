/**
 * `npm run build:binary`: builds kith as one executable per platform, offline, from what the npm registry ships.
 *
 *   1. esbuild bundles src/ (libp2p and every other dependency included) into dist/kith.cjs, and the sandbox
 *      worker into dist/sandbox-worker.cjs; the shipped device profiles and the dashboard (built by Vite) go
 *      inside the bundle.
 *   2. Node's single executable application (SEA) support turns the bundle into a blob, and postject injects it
 *      into the Node binary that the registry ships as `node-linux-<arch>`, the same version as the Node running
 *      this script (a blob only runs on the Node that made it).
 *   3. Each binary gets an .xz archive and SHA-256 sums (`<file>.sha256`, and all of them in SHA256SUMS).
 *
 * Why Node SEA rather than pkg: vercel/pkg is archived, and its fork @yao-pkg/pkg downloads its patched Node
 * builds from GitHub, which a build machine with only the npm registry cannot reach (README, "Single binary").
 *
 * Usage: node scripts/build-binary.ts [--arch x64,arm64] [--out dist] [--no-xz] [--xz-level 0-9]
 *
 * The release archives use xz -6 (28 MB for x64); the test suite asks for -0, which makes the same kind of
 * archive in a sixth of the time.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { build } from 'esbuild'
import { SEA_WORKER_ASSET } from '../src/execution/sandbox/constants.ts'
import { buildDashboard, DASHBOARD_OUT } from './build-dashboard.ts'
import { fetchNodeBase, type Arch } from './lib/node-base.ts'

const run = promisify(execFile)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** The fuse postject flips so that Node looks for the injected blob (Node's docs, "Single executable applications"). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
/**
 * V8 flags built into the binary. The young generation's semi-spaces grow to 16 MiB each by default and never
 * shrink back: an idle node kept 32 MiB of new space for about 9 MiB of live objects. Capped at 2 MiB, idle RSS
 * falls by about 10 MiB at the cost of more (short) scavenges under load.
 */
const EXEC_ARGV = ['--max-semi-space-size=2']
/** Tools that drop the debug information Node's release binaries carry (about 18 MB), per target. */
const STRIP: Record<Arch, string> = { x64: 'strip', arm64: 'aarch64-linux-gnu-strip' }

export interface BuiltBinary {
  arch: Arch
  file: string
  bytes: number
  xzBytes?: number
  sha256: string
  stripped: boolean
}

/** Bundles the node and its sandbox worker; returns the two files. */
export async function bundle(out: string): Promise<{ main: string; worker: string }> {
  const devices = join(ROOT, 'devices')
  const profiles: Record<string, string> = {}
  for (const name of (await readdir(devices)).filter((n) => /\.ya?ml$/.test(n)).sort())
    profiles[name] = await readFile(join(devices, name), 'utf8')
  // the dashboard's files go inside the bundle, as base64 by relative path (src/api/dashboard.ts)
  await buildDashboard({ ifStale: true })
  const dashboard: Record<string, string> = {}
  for (const path of (await readdir(DASHBOARD_OUT, { recursive: true })).sort()) {
    const full = join(DASHBOARD_OUT, path)
    if ((await stat(full)).isFile())
      dashboard[path.split('\\').join('/')] = (await readFile(full)).toString('base64')
  }
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    // error classes and loggers name themselves after their constructors
    keepNames: true,
    legalComments: 'linked',
    logLevel: 'warning',
    // every `import.meta` use in src/ has a CommonJS fallback (sandbox worker, shipped profiles, dashboard)
    logOverride: { 'empty-import-meta': 'silent' },
    define: {
      __KITH_PROFILES__: JSON.stringify(JSON.stringify(profiles)),
      __KITH_DASHBOARD__: JSON.stringify(JSON.stringify(dashboard)),
    },
  } as const
  const main = join(out, 'kith.cjs')
  const worker = join(out, SEA_WORKER_ASSET)
  const [built] = await Promise.all([
    build({
      ...common,
      entryPoints: [join(ROOT, 'src/cli/main.ts')],
      outfile: main,
      sourcemap: 'linked',
      metafile: true,
    }),
    build({ ...common, entryPoints: [join(ROOT, 'src/execution/sandbox/worker.ts')], outfile: worker }),
  ])
  const leaked = simInputs(Object.keys(built.metafile.inputs))
  if (leaked.length > 0)
    throw new Error(`the bundle includes the simulator (${leaked.join(', ')}): src/ must not import sim/`)
  return { main, worker }
}

/**
 * The simulator's files among a bundle's inputs (esbuild's metafile paths, relative to the working directory).
 * The simulator runs from a checkout only (`npm run sim`), so the binary must not carry any of it.
 */
export function simInputs(inputs: string[]): string[] {
  const sim = join(ROOT, 'sim') + sep
  return inputs.filter((p) => resolve(p).startsWith(sim))
}

async function seaBlob(out: string, arch: Arch, files: { main: string; worker: string }): Promise<string> {
  const blob = join(out, `kith-linux-${arch}.blob`)
  const config = join(out, `sea-config-${arch}.json`)
  const native = arch === (process.arch as Arch)
  await writeFile(
    config,
    JSON.stringify({
      main: files.main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      // V8's code cache is only valid for the CPU that made it: on for the native build, off for the other
      useCodeCache: native,
      assets: { [SEA_WORKER_ASSET]: files.worker },
      execArgv: EXEC_ARGV,
    }),
  )
  await run(process.execPath, ['--experimental-sea-config', config], { cwd: out })
  await rm(config)
  return blob
}

async function strip(file: string, arch: Arch): Promise<boolean> {
  try {
    await run(STRIP[arch], [file])
    return true
  } catch {
    return false
  }
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex')
}

/** Builds `kith-linux-<arch>` in `out` from a bundle already made by {@link bundle}. */
export async function buildBinary(
  out: string,
  arch: Arch,
  files: { main: string; worker: string },
  options: { xz?: boolean; xzLevel?: number } = {},
): Promise<BuiltBinary> {
  const base = await fetchNodeBase(arch, join(ROOT, '.cache', 'node-base'))
  const file = join(out, `kith-linux-${arch}`)
  const blob = await seaBlob(out, arch, files)
  await rm(file, { force: true })
  await copyFile(base, file)
  await chmod(file, 0o755)
  const stripped = await strip(file, arch)
  const postject = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js')
  await run(process.execPath, [postject, file, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
    maxBuffer: 16 << 20,
  })
  await rm(blob)
  const built: BuiltBinary = {
    arch,
    file,
    bytes: (await stat(file)).size,
    sha256: await sha256(file),
    stripped,
  }
  await writeFile(`${file}.sha256`, `${built.sha256}  kith-linux-${arch}\n`)
  if (options.xz !== false) {
    await run('xz', [`-${options.xzLevel ?? 6}`, '-T0', '-k', '-f', file])
    built.xzBytes = (await stat(`${file}.xz`)).size
    await writeFile(`${file}.xz.sha256`, `${await sha256(`${file}.xz`)}  kith-linux-${arch}.xz\n`)
  }
  return built
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'x64,arm64' },
      out: { type: 'string', default: 'dist' },
      'no-xz': { type: 'boolean', default: false },
      'xz-level': { type: 'string', default: '6' },
    },
  })
  const out = resolve(ROOT, values.out)
  const arches = values.arch.split(',').map((a) => a.trim()) as Arch[]
  for (const arch of arches) if (arch !== 'x64' && arch !== 'arm64') throw new Error(`unknown arch: ${arch}`)
  const xzLevel = Number(values['xz-level'])
  if (!Number.isInteger(xzLevel) || xzLevel < 0 || xzLevel > 9)
    throw new Error(`--xz-level takes 0 to 9, not ${values['xz-level']}`)
  await mkdir(out, { recursive: true })
  const started = performance.now()
  const files = await bundle(out)
  const built: BuiltBinary[] = []
  for (const arch of arches)
    built.push(await buildBinary(out, arch, files, { xz: !values['no-xz'], xzLevel }))
  const sums = (await readdir(out)).filter((n) => n.endsWith('.sha256')).sort()
  const lines = await Promise.all(sums.map((n) => readFile(join(out, n), 'utf8')))
  await writeFile(join(out, 'SHA256SUMS'), lines.join(''))
  const mb = (n: number | undefined) => (n === undefined ? '-' : `${(n / 1e6).toFixed(1)} MB`)
  for (const b of built)
    console.log(
      `${b.file}: ${mb(b.bytes)}, xz ${mb(b.xzBytes)}${b.stripped ? '' : ' (not stripped: no strip tool)'}`,
    )
  console.log(
    `bundle ${mb((await stat(files.main)).size)}, built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
}

if (import.meta.main) await main()
