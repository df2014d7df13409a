/**
 * The single binary (issue 6): its size raw and xz for both targets; start-to-ready of the x64 binary against
 * the checkout (`node src/cli/main.ts`) in the same run; idle memory after a wait with 4 peers connected, for
 * the binary and the checkout side by side (two households at once, on loopback); and the arm64 binary's
 * start-to-ready under qemu-user, informative only (emulation makes it many times slower than a Pi).
 *
 * Knobs: KITH_BENCH_BINARY_DIR reuses binaries already built there (else they are built into the scratch
 * directory); KITH_BENCH_IDLE_MS (default 60000) and KITH_BENCH_IDLE_RUNS (default 3) for the idle memory;
 * KITH_BENCH_QEMU_RUNS (default 3).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Child, MIB, nodeEnv, readMemoryStatus, type MemoryStatus } from './lib/process.ts'
import type { BenchContext, MetricSamples, RunOutput, Target } from './lib/types.ts'

const exec = promisify(execFile)

export const name = 'binary'
export const description =
  'The single binary (Node 24 SEA, scripts/build-binary.ts): size raw and xz per target; x64 spawn-to-ready ' +
  'of the binary and of the checkout CLI (fresh `kith init` each run, loopback, port 0); VmRSS (and its ' +
  'private RssAnon / file-backed RssFile parts) of a node idle for 60 s with 4 peers connected, binary and ' +
  'checkout measured as two households at once; arm64 spawn-to-ready under qemu-aarch64-static (informative).'
export const defaultRuns = 5
export const targets: Record<string, Target> = {
  'size-xz-x64': { max: 50 },
  'size-xz-arm64': { max: 50 },
  'ready-binary-x64': { max: 1000 },
  'rss-idle-binary': { max: 64 },
}

const QEMU = '/usr/bin/qemu-aarch64-static'
const READY_TIMEOUT_MS = 120_000
const MB = 1e6

type Command = string[]

async function buildOrReuse(ctx: BenchContext): Promise<string> {
  const reuse = process.env.KITH_BENCH_BINARY_DIR
  if (reuse !== undefined && reuse !== '') return reuse
  const out = join(ctx.tmpDir, 'dist')
  ctx.log('building both binaries (with xz)…')
  await exec(process.execPath, [join(ctx.root, 'scripts/build-binary.ts'), '--out', out], {
    cwd: ctx.root,
    maxBuffer: 16 << 20,
  })
  return out
}

async function init(command: Command, dir: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const [cmd, ...args] = command
  await exec(
    cmd as string,
    [...args, 'init', '--dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'],
    { env: nodeEnv(env) },
  )
  return join(dir, 'kith.yaml')
}

interface Started {
  child: Child
  readyMs: number
  ready: { peerId: string; api: string; listen: string[] }
}

async function start(
  ctx: BenchContext,
  command: Command,
  config: string,
  extra: { env?: NodeJS.ProcessEnv; bootstrap?: string } = {},
): Promise<Started> {
  const [cmd, ...args] = command
  const env = nodeEnv({
    ...extra.env,
    ...(extra.bootstrap !== undefined ? { KITH_NETWORK_BOOTSTRAP: `[${extra.bootstrap}]` } : {}),
  })
  const begun = performance.now()
  const child = new Child(cmd as string, [...args, 'start', '--config', config], { cwd: ctx.root, env })
  try {
    const at = await child.waitForStdout((l) => l.startsWith('{"event":"ready"'), READY_TIMEOUT_MS)
    const line = child.stdout.find((l) => l.text.startsWith('{"event":"ready"'))?.text ?? '{}'
    return { child, readyMs: at - begun, ready: JSON.parse(line) as Started['ready'] }
  } catch (err) {
    child.kill()
    throw new Error(`${command.join(' ')} start: ${(err as Error).message}\n${child.stderrTail()}`, {
      cause: err,
    })
  }
}

async function stop(started: Started): Promise<void> {
  started.child.process.kill('SIGTERM')
  const exit = await started.child.waitForExit(15_000)
  if (exit.code !== 0) throw new Error(`exit code ${exit.code}, signal ${exit.signal}`)
}

async function peerCount(api: string): Promise<number> {
  const body = (await (await fetch(`${api}/v1/peers`)).json()) as { peers: unknown[] }
  return body.peers.length
}

/** A node with 4 peers bootstrapping to it, idle for `idleMs`; returns the node's memory then. */
async function household(
  ctx: BenchContext,
  command: Command,
  dir: string,
  idleMs: number,
): Promise<MemoryStatus> {
  const main = await start(ctx, command, await init(command, join(dir, 'main')))
  const peers: Started[] = []
  try {
    const bootstrap = main.ready.listen[0] as string
    for (let i = 0; i < 4; i++)
      peers.push(await start(ctx, command, await init(command, join(dir, `peer-${i}`)), { bootstrap }))
    const deadline = Date.now() + 60_000
    while ((await peerCount(main.ready.api)) < 4) {
      if (Date.now() > deadline) throw new Error('4 peers did not connect within 60 s')
      await sleep(200)
    }
    await sleep(idleMs)
    if ((await peerCount(main.ready.api)) < 4) throw new Error('a peer went away during the idle wait')
    return await readMemoryStatus(main.child.pid)
  } finally {
    for (const p of [...peers, main]) await stop(p).catch(() => p.child.kill())
  }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  const idleMs = ctx.envInt('KITH_BENCH_IDLE_MS', 60_000)
  const idleRuns = ctx.envInt('KITH_BENCH_IDLE_RUNS', 3)
  const qemuRuns = ctx.envInt('KITH_BENCH_QEMU_RUNS', 3)
  const samples = new Map<string, { unit: string; values: number[] }>()
  const add = (metric: string, unit: string, value: number) => {
    const entry = samples.get(metric) ?? { unit, values: [] }
    entry.values.push(value)
    samples.set(metric, entry)
  }

  const dist = await buildOrReuse(ctx)
  for (const arch of ['x64', 'arm64']) {
    const file = join(dist, `kith-linux-${arch}`)
    add(`size-raw-${arch}`, 'MB', (await stat(file)).size / MB)
    add(`size-xz-${arch}`, 'MB', (await stat(`${file}.xz`)).size / MB)
  }
  add('size-bundle', 'MB', (await stat(join(dist, 'kith.cjs'))).size / MB)

  const binary: Command = [join(dist, 'kith-linux-x64')]
  const checkout: Command = [process.execPath, join(ctx.root, 'src/cli/main.ts')]
  for (let i = 1; i <= ctx.runs; i++) {
    for (const [label, command] of [
      ['binary-x64', binary],
      ['checkout', checkout],
    ] as const) {
      const node = await start(ctx, command, await init(command, join(ctx.tmpDir, `ready-${label}-${i}`)))
      add(`ready-${label}`, 'ms', node.readyMs)
      add(`rss-ready-${label}`, 'MiB', (await readMemoryStatus(node.child.pid)).rss / MIB)
      await stop(node)
    }
    ctx.log(`ready run ${i}/${ctx.runs}`)
  }

  for (let i = 1; i <= idleRuns; i++) {
    const [b, c] = await Promise.all([
      household(ctx, binary, join(ctx.tmpDir, `idle-binary-${i}`), idleMs),
      household(ctx, checkout, join(ctx.tmpDir, `idle-checkout-${i}`), idleMs),
    ])
    for (const [label, m] of [
      ['binary', b],
      ['checkout', c],
    ] as const) {
      add(`rss-idle-${label}`, 'MiB', m.rss / MIB)
      add(`rss-anon-idle-${label}`, 'MiB', m.rssAnon / MIB)
      add(`rss-file-idle-${label}`, 'MiB', m.rssFile / MIB)
      add(`threads-idle-${label}`, 'threads', m.threads)
    }
    ctx.log(
      `idle run ${i}/${idleRuns}: binary ${(b.rss / MIB).toFixed(1)} MiB, checkout ${(c.rss / MIB).toFixed(1)} MiB`,
    )
  }

  const sysroot = join(ctx.root, '.cache', 'arm64-sysroot')
  if (existsSync(QEMU) && existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) {
    const arm: Command = [QEMU, join(dist, 'kith-linux-arm64')]
    const env = { QEMU_LD_PREFIX: sysroot }
    for (let i = 1; i <= qemuRuns; i++) {
      const node = await start(ctx, arm, await init(arm, join(ctx.tmpDir, `qemu-${i}`), env), { env })
      add('ready-arm64-qemu', 'ms', node.readyMs)
      await stop(node)
    }
  } else ctx.log('qemu-aarch64-static or the arm64 sysroot (scripts/arm64-sysroot.sh) missing: arm64 skipped')

  const results: MetricSamples[] = [...samples].map(([metric, { unit, values }]) => ({
    metric,
    unit,
    samples: values,
  }))
  return {
    results,
    comparisons: [
      {
        name: 'binary vs checkout start-to-ready',
        numerator: 'ready-binary-x64',
        denominator: 'ready-checkout',
      },
      { name: 'binary vs checkout idle RSS', numerator: 'rss-idle-binary', denominator: 'rss-idle-checkout' },
      {
        name: 'binary vs checkout idle RssAnon',
        numerator: 'rss-anon-idle-binary',
        denominator: 'rss-anon-idle-checkout',
      },
    ],
  }
}
