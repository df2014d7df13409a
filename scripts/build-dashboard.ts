/**
 * `npm run build:dashboard`: builds the household dashboard (dashboard/, Preact) with Vite into
 * dist/dashboard/, which the node serves at `/` from a checkout and the binary build embeds.
 *
 * Usage: node scripts/build-dashboard.ts [--if-stale]
 *   --if-stale  build only when a file under dashboard/ is newer than the last build (what `npm start` does)
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const DASHBOARD_SRC = join(ROOT, 'dashboard')
export const DASHBOARD_OUT = join(ROOT, 'dist/dashboard')

function newest(dir: string): number {
  let at = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    at = Math.max(at, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs)
  }
  return at
}

/** True when dist/dashboard/ is missing or older than a file of dashboard/ or the lock file. */
export function dashboardStale(): boolean {
  const index = join(DASHBOARD_OUT, 'index.html')
  if (!existsSync(index)) return true
  const built = statSync(index).mtimeMs
  return newest(DASHBOARD_SRC) > built || statSync(join(ROOT, 'package-lock.json')).mtimeMs > built
}

/**
 * Builds the dashboard (only when stale, with `ifStale`); returns whether it built.
 *
 * @example
 * await buildDashboard({ ifStale: true })
 */
export async function buildDashboard(options: { ifStale?: boolean } = {}): Promise<boolean> {
  if (options.ifStale === true && !dashboardStale()) return false
  const { build } = await import('vite')
  await build({ configFile: join(DASHBOARD_SRC, 'vite.config.ts'), logLevel: 'warn' })
  return true
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'if-stale': { type: 'boolean', default: false } } })
  const started = performance.now()
  if (await buildDashboard({ ifStale: values['if-stale'] }))
    console.error(
      `dashboard built into dist/dashboard in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )
}
