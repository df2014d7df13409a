/**
 * The pages `npm run docs` keeps current: each a hand-written Markdown file with one generated part, and the
 * function that generates it.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { configReference } from './config-reference.ts'
import { errorReference } from './error-reference.ts'
import { replaceGenerated } from './generated-block.ts'
import { httpReference } from './http-reference.ts'

export const GENERATED_PAGES: ReadonlyArray<{ file: string; block: () => string }> = [
  { file: 'docs/configuration.md', block: () => configReference() },
  { file: 'docs/http-api.md', block: () => httpReference() },
  { file: 'docs/errors.md', block: () => errorReference() },
]

/**
 * Each page as it is on disk and as `npm run docs` would write it.
 *
 * @example
 * const stale = (await renderPages(root)).filter((p) => p.current !== p.next)
 */
export async function renderPages(
  root: string,
): Promise<Array<{ file: string; current: string; next: string }>> {
  return Promise.all(
    GENERATED_PAGES.map(async ({ file, block }) => {
      const current = await readFile(join(root, file), 'utf8')
      return { file, current, next: replaceGenerated(current, block(), file) }
    }),
  )
}
