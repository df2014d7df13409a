/**
 * `npm run docs`: rewrites the generated parts of docs/configuration.md (from the config schema's
 * descriptions), docs/http-api.md (from the OpenAPI document of the API's routes) and docs/errors.md (from the
 * error classes). The prose around them is hand-written. `--check` writes nothing and exits 1 naming the pages that are out of date.
 */
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderPages } from './docs/pages.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const check = process.argv.includes('--check')

try {
  const stale = (await renderPages(root)).filter((page) => page.current !== page.next)
  for (const page of stale) {
    if (check) console.error(`${page.file} is out of date: run npm run docs`)
    else await writeFile(join(root, page.file), page.next)
  }
  if (!check)
    console.log(stale.length > 0 ? `wrote ${stale.map((p) => p.file).join(', ')}` : 'docs are current')
  if (check && stale.length > 0) process.exitCode = 1
} catch (err) {
  console.error(`gen-docs: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
}
