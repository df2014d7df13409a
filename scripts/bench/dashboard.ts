/**
 * The household dashboard (dashboard issue, "Small and fast on a Pi"): how long the page takes until it shows
 * the household, in Debian's chromium (playwright-core) against `kith start --init --demo` (two nodes, four
 * virtual devices), each load in a fresh browser context (empty cache, as a first visit):
 *
 * - `load`: navigation start until the network view lists both nodes (read in the page, `performance.now()`).
 * - `load-slow-client`: the same with the browser slowed to a phone on household Wi-Fi: CPU 4× slower
 *   (DevTools CPU throttling), 40 ms round trips, 10 Mbit/s down, 5 Mbit/s up.
 * - `first-paint`: first contentful paint of the plain load.
 * - `update`: a task run through `POST /v1/tasks` until its row is on the open tasks view: the path of a live
 *   update (journal → `GET /v1/events` → the page fetches `/v1/tasks` → render).
 * - `transfer-gzip` / `transfer-raw`: the bytes of every file of the page, as served gzip'd and unpacked.
 * - `load-arm64-qemu`: `load` with the hub being the arm64 binary under qemu-aarch64-static (where qemu and
 *   the sysroot of scripts/arm64-sysroot.sh exist): emulation runs many times slower than a Pi 4, so this is a
 *   pessimistic stand-in for a Pi-class hub.
 *
 * KITH_BENCH_DASHBOARD_N sets the loads (and updates) per metric per run (default 10).
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { loadDashboard } from '../../src/api/dashboard.ts'
import { launchChromium } from '../../test/browser.ts'
import { bundle, buildBinary } from '../build-binary.ts'
import { buildDashboard, DASHBOARD_OUT } from '../build-dashboard.ts'
import { Child, nodeEnv } from './lib/process.ts'
import { SampleSet } from './lib/samples.ts'
import type { BenchContext, RunOutput, Target } from './lib/types.ts'

export const name = 'dashboard'
export const description =
  'Household dashboard in Debian chromium (playwright-core) against `kith start --init --demo` on this ' +
  'machine (2 nodes, 4 virtual devices): navigation start until the network view lists both nodes, each load ' +
  'in a fresh context (empty cache); the same with the browser slowed to a phone on Wi-Fi (CPU 4× slower, ' +
  '40 ms RTT, 10/5 Mbit/s); first contentful paint; a task posted to the API until its row shows on the ' +
  'open tasks view (live update over GET /v1/events); and the bytes of the page, gzip’d and raw. 10 loads ' +
  'and 10 updates per metric per run; and the plain load with the hub being the arm64 binary under ' +
  'qemu-aarch64-static (one household, 30 loads).'
export const defaultRuns = 3
// the goal is a load under 1 s from a Pi-class node; the slowed browser is informative
export const targets: Record<string, Target> = {
  load: { max: 1000 },
  update: { max: 1000 },
}

const READY_TIMEOUT_MS = 60_000
const QEMU = '/usr/bin/qemu-aarch64-static'

/** Loads the page and resolves with `performance.now()` in the page when both nodes are listed. */
async function timedLoad(page: Page, url: string): Promise<{ shown: number; paint: number }> {
  await page.goto(url)
  // a function, not a string: the page's CSP forbids eval; the DOM types are not this program's
  const handle = await page.waitForFunction(
    () => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } })
        .document
      return doc.querySelectorAll('[data-peer]').length >= 2 ? performance.now() : 0
    },
    undefined,
    { polling: 'raf', timeout: 30_000 },
  )
  const shown = (await handle.jsonValue()) as number
  const paint = await page.evaluate(
    () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
  )
  return { shown, paint }
}

async function loads(browser: Browser, url: string, n: number, slow: boolean, samples: SampleSet) {
  for (let i = 0; i < n; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
    const page = await context.newPage()
    if (slow) {
      const cdp = await context.newCDPSession(page)
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
      await cdp.send('Network.enable')
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 40,
        downloadThroughput: (10e6 / 8) | 0,
        uploadThroughput: (5e6 / 8) | 0,
      })
    }
    const { shown, paint } = await timedLoad(page, url)
    samples.add(slow ? 'load-slow-client' : 'load', 'ms', shown)
    if (!slow && Number.isFinite(paint)) samples.add('first-paint', 'ms', paint)
    await context.close()
  }
}

async function updates(browser: Browser, api: string, n: number, samples: SampleSet) {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${api}/#/tasks`)
  await page.locator('[data-live="connected"]').waitFor({ timeout: 30_000 })
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${api}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capability: 'kith_desk_plug.power', input: {} }),
    })
    const { id } = (await res.json()) as { id: string }
    const posted = performance.now()
    await page.locator(`[data-task="${id}"]`).first().waitFor({ timeout: 30_000 })
    samples.add('update', 'ms', performance.now() - posted)
    // apart, so that each update is its own event rather than one coalesced with the last
    await new Promise((r) => setTimeout(r, 300))
  }
  await context.close()
}

/** A demo household started by `command`, up once the hub holds the demo peer and the plug. */
async function household(
  ctx: BenchContext,
  command: readonly string[],
  dir: string,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = READY_TIMEOUT_MS,
): Promise<{ api: string; stop(): Promise<void> }> {
  const [program, ...args] = command as [string, ...string[]]
  const node = new Child(
    program,
    [...args, 'start', '--config', join(dir, 'kith.yaml'), '--init', '--demo'],
    {
      cwd: ctx.root,
      env: nodeEnv({ KITH_API: '127.0.0.1:0', KITH_NETWORK_LISTEN: '[/ip4/127.0.0.1/tcp/0]', ...env }),
    },
  )
  const stop = async () => {
    node.process.kill('SIGTERM')
    await node.waitForExit(30_000).catch(() => node.kill())
  }
  try {
    await node.waitForStdout((l) => l.includes('"event":"ready"'), timeoutMs)
    const { api } = JSON.parse(node.stdout.find((l) => l.text.includes('"ready"'))!.text) as { api: string }
    // the demo peer and the virtual devices come up after the ready line
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const { descriptors } = (await (await fetch(`${api}/v1/descriptors`)).json()) as {
        descriptors: Array<{ caps: Array<{ id: string }> }>
      }
      const caps = descriptors.flatMap((d) => d.caps.map((c) => c.id))
      if (descriptors.length >= 2 && caps.includes('kith_desk_plug.power')) return { api, stop }
      if (Date.now() > deadline) throw new Error('the demo household did not come up')
      await new Promise((res) => setTimeout(res, 200))
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * The arm64 binary (built here) under qemu-user with Debian's arm64 libc, or undefined without them: an
 * emulated hub many times slower than a Pi, so a pessimistic stand-in for one.
 */
async function arm64Command(
  ctx: BenchContext,
): Promise<{ command: string[]; env: NodeJS.ProcessEnv } | undefined> {
  const sysroot = join(ctx.root, '.cache', 'arm64-sysroot')
  if (!existsSync(QEMU) || !existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) return undefined
  const out = join(ctx.tmpDir, 'dist')
  await mkdir(out, { recursive: true })
  ctx.log('building the arm64 binary')
  const built = await buildBinary(out, 'arm64', await bundle(out), { xz: false })
  return { command: [QEMU, built.file], env: { QEMU_LD_PREFIX: sysroot } }
}

export async function run(ctx: BenchContext): Promise<RunOutput> {
  await buildDashboard({ ifStale: true })
  const assets = loadDashboard(DASHBOARD_OUT)
  let raw = 0
  for (const f of assets.files.values()) raw += f.body.byteLength
  const n = ctx.envInt('KITH_BENCH_DASHBOARD_N', 10)
  const samples = new SampleSet()
  const checkout = [process.execPath, join(ctx.root, 'src/cli/main.ts')]
  for (let r = 0; r < ctx.runs; r++) {
    const hub = await household(ctx, checkout, join(ctx.tmpDir, `run-${r}`))
    let browser: Browser | undefined
    try {
      browser = await launchChromium()
      ctx.log(`run ${r + 1}/${ctx.runs}: ${n} loads plain, ${n} slowed, ${n} updates`)
      // one load first, uncounted: chromium's own start-up (first context, first process) is not the page's
      await loads(browser, `${hub.api}/`, 1, false, new SampleSet())
      await loads(browser, `${hub.api}/`, n, false, samples)
      await loads(browser, `${hub.api}/`, n, true, samples)
      await updates(browser, hub.api, n, samples)
    } finally {
      await browser?.close()
      await hub.stop()
    }
    samples.add('transfer-gzip', 'KiB', assets.gzipBytes / 1024)
    samples.add('transfer-raw', 'KiB', raw / 1024)
  }
  const arm = await arm64Command(ctx)
  if (arm === undefined) ctx.log('qemu-aarch64-static or the arm64 sysroot missing: the arm64 hub is skipped')
  else {
    const hub = await household(ctx, arm.command, join(ctx.tmpDir, 'arm64'), arm.env, 240_000)
    const browser = await launchChromium()
    try {
      ctx.log(`arm64 under qemu: ${n * ctx.runs} loads`)
      await loads(browser, `${hub.api}/`, 1, false, new SampleSet())
      const emulated = new SampleSet()
      await loads(browser, `${hub.api}/`, n * ctx.runs, false, emulated)
      samples.add('load-arm64-qemu', 'ms', emulated.get('load')?.samples ?? [])
    } finally {
      await browser.close()
      await hub.stop()
    }
  }
  return {
    results: [...samples.values()],
    comparisons: [
      { name: 'slow client ÷ plain load', numerator: 'load-slow-client', denominator: 'load' },
      ...(arm !== undefined
        ? [{ name: 'arm64 hub under qemu ÷ x64 hub', numerator: 'load-arm64-qemu', denominator: 'load' }]
        : []),
    ],
  }
}
