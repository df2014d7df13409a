/**
 * Issue 23: the simulator lives in the top-level sim/ of a checkout, not in the kith binary. The bundle the
 * binary is built from has no file of sim/, and `kith sim` says where the simulator went (exit 2, usage).
 */
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { simInputs } from '../../scripts/build-binary.ts'
import { ROOT, runCli } from '../helpers.ts'

describe('the simulator outside the binary', () => {
  it('the bundle of src/cli/main.ts has no input from sim/', async () => {
    const { metafile } = await build({
      entryPoints: [join(ROOT, 'src/cli/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      write: false,
      metafile: true,
      logLevel: 'silent',
    })
    const inputs = Object.keys(metafile.inputs)
    // the check sees the source tree at all: src/ is in, and a sim/ path would be caught
    expect(inputs.some((p) => p.includes('src/discovery/announcer.ts'))).toBe(true)
    expect(simInputs([join(ROOT, 'sim/report.ts')])).toHaveLength(1)
    expect(simInputs(inputs)).toEqual([])
  }, 120_000)

  it('`kith sim` prints one line naming `npm run sim` and exits 2, whatever its arguments', async () => {
    for (const args of [['sim'], ['sim', 'sim/scenarios/sybil-small.yaml', '--seeds', '1', '--json']]) {
      const res = await runCli(args)
      expect(res.code).toBe(2)
      expect(res.stdout).toBe('')
      expect(res.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(res.stderr).toContain('npm run sim -- <scenario.yaml>')
    }
  })
})
