/**
 * The house reads top-down: cli → node (wiring) → planes → util/store. Every folder of src/ is a plane with a
 * rank; a file may import its own plane or a lower one, nothing outside src/ but packages and package.json, and
 * no two planes import each other in a cycle. docs/architecture.md shows the same order.
 *
 * Imports are read with TypeScript's own pre-processor (static, type-only, re-exports and `import()`), so an
 * import written in a comment or a string does not count.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')

/** Lowest first; planes in one group rank alike. `src/version.ts` counts as util. */
const PLANES: string[][] = [
  ['util', 'store'],
  ['config'],
  ['connectivity'],
  ['discovery'],
  ['execution'],
  ['trust'],
  ['devices'],
  ['fleet'],
  ['api'],
  ['node'],
  ['cli'],
]

/**
 * Folders of src/ that are on their way out and so have no place in the order; each ranks as the plane named,
 * for as long as the folder exists. An entry whose folder is gone fails the test below: delete it then.
 */
const LEAVING: Record<string, { ranksAs: string; why: string }> = {}

/**
 * Imports that break the order today, each with the change that removes it (`from` a file, `to` the file it
 * imports, both relative to the repository). An entry that matches no import fails the test, so the list only
 * shrinks. trust → execution/write-queue.ts needs no entry: trust ranks above execution, so the order allows
 * it; the write queue moves to store/ because that is where it belongs, not because of the direction.
 */
const ALLOWED: Array<{ from: string; to: string; why: string }> = []

const RANK = new Map<string, number>([
  ...PLANES.flatMap((group, rank) => group.map((plane) => [plane, rank] as const)),
  ...Object.entries(LEAVING).map(
    ([plane, { ranksAs }]) => [plane, PLANES.findIndex((g) => g.includes(ranksAs))] as const,
  ),
])

/** One import of one file: the text as written, and the repository path it resolves to (relative ones only). */
interface Import {
  from: string
  specifier: string
  to?: string
}

/** The plane of a repository path under src/, or undefined for a file directly in src/ other than version.ts. */
function planeOf(path: string): string | undefined {
  const parts = path.split('/')
  if (parts[0] !== 'src') return undefined
  if (parts.length === 2) return parts[1] === 'version.ts' ? 'util' : undefined
  return parts[1]
}

/** Every `.ts` file under `dir`, as repository paths. */
function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`
    if (e.isDirectory()) return tsFiles(path)
    return e.isFile() && e.name.endsWith('.ts') ? [path] : []
  })
}

/** The imports of `file` (a repository path) given its text. */
function importsOf(file: string, text: string): Import[] {
  const { importedFiles } = ts.preProcessFile(text, true, true)
  return importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return { from: file, specifier }
    const to = relative(ROOT, resolve(ROOT, dirname(file), specifier))
      .split('\\')
      .join('/')
    return { from: file, specifier, to }
  })
}

/**
 * Every way `imports` break the order: an import of a higher plane, an import from outside src/ (packages and
 * package.json aside), a file in no plane, and a cycle of files that spans planes. One line each, naming the
 * file and the import.
 */
function violations(imports: readonly Import[], files: readonly string[]): string[] {
  const out: string[] = []
  const allowed = (i: Import) => ALLOWED.some((a) => a.from === i.from && a.to === i.to)
  for (const file of files) {
    const plane = planeOf(file)
    if (plane == null || !RANK.has(plane))
      out.push(`${file}: not in a plane; put it in a folder of the order (test/unit/architecture.test.ts)`)
  }
  for (const i of imports) {
    if (i.to == null || allowed(i)) continue
    if (i.to === 'package.json') continue
    if (!i.to.startsWith('src/')) {
      out.push(`${i.from} imports ${i.specifier}: outside src/ (the binary is built from src/ alone)`)
      continue
    }
    const [from, to] = [planeOf(i.from), planeOf(i.to)]
    const [a, b] = [RANK.get(from ?? ''), RANK.get(to ?? '')]
    if (a != null && b != null && b > a)
      out.push(`${i.from} imports ${i.specifier}: ${from} may not import ${to}, a higher plane`)
  }
  for (const cycle of crossPlaneCycles(imports.filter((i) => !allowed(i))))
    out.push(`cycle across planes among ${cycle.join(', ')}`)
  return out
}

/** Strongly connected components (Tarjan) of the file graph that hold files of more than one plane. */
function crossPlaneCycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>()
  for (const i of imports) {
    if (i.to?.startsWith('src/') !== true) continue
    edges.set(i.from, [...(edges.get(i.from) ?? []), i.to])
  }
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (new Set(component.map(planeOf)).size > 1) found.push(component.sort())
  }
  for (const v of edges.keys()) if (!index.has(v)) visit(v)
  return found
}

/** STYLE.md: files mostly 100–250 lines, never above 400 */
const MAX_FILE_LINES = 400

const FILES = tsFiles('src')
const IMPORTS = FILES.flatMap((file) => importsOf(file, readFileSync(join(ROOT, file), 'utf8')))

describe('planes import one way', () => {
  it('reads every file and import of src/', () => {
    // a parser that found nothing would pass every rule below
    expect(FILES.length).toBeGreaterThan(100)
    expect(IMPORTS.some((i) => i.from === 'src/cli/main.ts' && i.to === 'src/node/config.ts')).toBe(true)
    expect(IMPORTS.some((i) => i.from === 'src/cli/main.ts' && i.specifier === 'commander')).toBe(true)
  })

  it('has no upward import, no import from outside src/ and no cycle across planes', () => {
    expect(violations(IMPORTS, FILES)).toEqual([])
  })

  it('imports only the packages package.json lists as dependencies (node: built-ins aside)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>
    }
    const undeclared = IMPORTS.filter((i) => i.to == null && !i.specifier.startsWith('node:'))
      .map((i) => ({
        ...i,
        name: i.specifier
          .split('/')
          .slice(0, i.specifier.startsWith('@') ? 2 : 1)
          .join('/'),
      }))
      // a devDependency or a package that only arrives with another is missing from a bundle or an update
      .filter((i) => !(i.name in pkg.dependencies))
      .map((i) => `${i.from} imports ${i.specifier}: add ${i.name} to package.json's dependencies`)
    expect(undeclared).toEqual([])
  })

  it('keeps every file of src/ at 400 lines or fewer (STYLE.md)', () => {
    const long = FILES.map((file) => ({
      file,
      lines: readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1,
    }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines; split it along a seam`)
    expect(long).toEqual([])
  })

  it('keeps no stale exception', () => {
    const stale = [
      ...Object.entries(LEAVING)
        .filter(([folder]) => !existsSync(join(ROOT, 'src', folder)))
        .map(([folder, { why }]) => `LEAVING.${folder}: src/${folder}/ is gone (${why}); delete the entry`),
      ...ALLOWED.filter((a) => !IMPORTS.some((i) => i.from === a.from && i.to === a.to)).map(
        (a) => `ALLOWED ${a.from} → ${a.to}: no such import any more (${a.why}); delete the entry`,
      ),
    ]
    expect(stale).toEqual([])
  })

  it('names each kind of violation with the file and the import', () => {
    const fake = (from: string, specifier: string): Import[] => importsOf(from, `import '${specifier}'`)
    const imports = [
      ...fake('src/config/load.ts', '../devices/profile.ts'),
      ...fake('src/cli/demo.ts', '../../firmware-bridge/household.ts'),
      ...fake('src/version.ts', '../package.json'),
      ...fake('src/util/a.ts', '../store/b.ts'),
      ...fake('src/store/b.ts', '../util/a.ts'),
      ...fake('src/devices/c.ts', './d.ts'),
      ...fake('src/devices/d.ts', './c.ts'),
      ...importsOf('src/node/e.ts', `// import '../cli/main.ts'\nconst s = "import('../cli/main.ts')"`),
    ]
    expect(violations(imports, ['src/loose.ts', 'src/devices/c.ts'])).toEqual([
      'src/loose.ts: not in a plane; put it in a folder of the order (test/unit/architecture.test.ts)',
      'src/config/load.ts imports ../devices/profile.ts: config may not import devices, a higher plane',
      'src/cli/demo.ts imports ../../firmware-bridge/household.ts: outside src/ (the binary is built from src/ alone)',
      'cycle across planes among src/store/b.ts, src/util/a.ts',
    ])
  })
})
