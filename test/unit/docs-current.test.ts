/**
 * The generated parts of docs/configuration.md (from the config schema) and docs/http-api.md (from the
 * OpenAPI document) match what `npm run docs` writes now: a changed key, default, description or route
 * fails here until the pages are regenerated.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { configKeys } from '../../src/config/explain.ts'
import { BEGIN_GENERATED, END_GENERATED, replaceGenerated } from '../../scripts/docs/generated-block.ts'
import { GENERATED_PAGES, renderPages } from '../../scripts/docs/pages.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('generated docs', () => {
  it('are current (run `npm run docs` when this fails)', async () => {
    for (const page of await renderPages(root))
      expect(page.current === page.next, `${page.file} is out of date: run npm run docs`).toBe(true)
  })

  it('keep the hand-written text around the generated part', async () => {
    for (const { file } of GENERATED_PAGES) {
      const text = await readFile(join(root, file), 'utf8')
      expect(text.indexOf(BEGIN_GENERATED), file).toBeGreaterThan(0)
      expect(text.indexOf(END_GENERATED), file).toBeGreaterThan(text.indexOf(BEGIN_GENERATED))
    }
    expect(replaceGenerated(`intro\n${BEGIN_GENERATED}\nold\n${END_GENERATED}\nend`, 'new')).toBe(
      `intro\n${BEGIN_GENERATED}\nnew\n${END_GENERATED}\nend`,
    )
    expect(() => replaceGenerated('no markers', 'new', 'x.md')).toThrow(/x\.md needs the lines/)
  })

  it('list every config key and every endpoint of the contract', async () => {
    const config = await readFile(join(root, 'docs/configuration.md'), 'utf8')
    for (const key of configKeys()) {
      // a top-level section is a heading; every other key is a row
      const section = !key.path.includes('.') && key.type === 'map'
      expect(config, key.path).toContain(section ? `## \`${key.path}\`` : `| \`${key.path}\` |`)
    }
    const http = await readFile(join(root, 'docs/http-api.md'), 'utf8')
    for (const endpoint of [
      'GET /healthz',
      'GET /v1/descriptors',
      'POST /v1/tasks',
      'GET /metrics',
      'POST /mcp',
    ])
      expect(http).toContain(`| \`${endpoint}\` |`)
  })
})
