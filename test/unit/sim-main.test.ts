/**
 * `npm run sim -- <scenario> [--seed N] [--seeds K] [--json] [--svg DIR]` (sim/main.ts): the argument handling
 * that `kith sim` had before the simulator left the binary, with the same exit codes.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EX_CONFIG } from '../../src/config/index.ts'
import { EX_USAGE, simMain } from '../../sim/main.ts'

/** Runs simMain with console output captured; returns the exit code and what it printed. */
async function sim(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')))
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')))
  const code = await simMain(args)
  return { code, stdout: out.join('\n'), stderr: err.join('\n') }
}

afterEach(() => vi.restoreAllMocks())

const SMALL = `kind: sybil
name: tiny
nodes: 12
requesters: 2
sybilFractions: [0]
strategies: [full]
seeds: 1
workflow:
  steps: 1
  perRequester: 2
`

describe('npm run sim', () => {
  it('refuses a missing scenario, an unknown option and a bad seed with exit 2 and the usage line', async () => {
    for (const args of [[], ['a.yaml', 'b.yaml'], ['a.yaml', '--sedd', '1']]) {
      const res = await sim(args)
      expect(res.code).toBe(EX_USAGE)
      expect(res.stderr).toContain('usage: npm run sim -- <scenario.yaml>')
    }
    const bad = await sim(['a.yaml', '--seeds', '0'])
    expect(bad.code).toBe(EX_USAGE)
    expect(bad.stderr).toBe('sim: --seeds must be an integer of at least 1, not 0')
  })

  it('exits 78 naming the file and the field for a scenario with problems', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kith-sim-'))
    try {
      const file = join(dir, 'bad.yaml')
      await writeFile(file, 'kind: sybil\nnodes: -3\n')
      const res = await sim([file])
      expect(res.code).toBe(EX_CONFIG)
      expect(res.stderr).toMatch(new RegExp(`^${file}: nodes: `))
      const missing = await sim([join(dir, 'absent.yaml')])
      expect(missing.code).toBe(EX_CONFIG)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('runs a scenario: Markdown tables by default, the report as JSON with --json, files with --svg', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kith-sim-'))
    try {
      const file = join(dir, 'tiny.yaml')
      await writeFile(file, SMALL)
      const md = await sim([file, '--seed', '7'])
      expect(md.code).toBe(0)
      expect(md.stdout).toMatch(/^## tiny \(sybil, 12 nodes, seeds 7\)/)
      const json = await sim([file, '--json', '--svg', join(dir, 'out')])
      expect(json.code).toBe(0)
      expect(JSON.parse(json.stdout)).toMatchObject({ scenario: 'tiny', kind: 'sybil', nodes: 12 })
      expect(await readdir(join(dir, 'out'))).toContain('tiny.md')
      expect(json.stderr).toMatch(/^sim: wrote /)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('prints its help with exit 0', async () => {
    const res = await sim(['--help'])
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('--seeds K')
  })
})
