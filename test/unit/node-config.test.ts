/**
 * The node's config loader: config's own checks plus the devices plane's profile check, reported together as
 * `FILE:LINE: path: message`. Config loading alone checks only the shape of a `devices:` entry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, formatProblem, loadConfig } from '../../src/config/index.ts'
import { loadNodeConfig } from '../../src/node/config.ts'
import { tempDir, writeText } from '../helpers.ts'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

async function problems(load: Promise<unknown>): Promise<string[]> {
  try {
    await load
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem)
    throw err
  }
  return []
}

const TOASTER = 'devices:\n  - id: hall\n    profile: smart-toaster\n'

describe('loadNodeConfig', () => {
  it('reports a device whose profile does not exist at its line', async () => {
    const file = await writeText(dir, 'kith.yaml', TOASTER)
    expect(await problems(loadNodeConfig(file, { env: {} }))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${file}:3: devices\\.0\\.profile: unknown profile "smart-toaster" \\(known: .*smart-plug`,
        ),
      ),
    ])
  })

  it('reports device problems with the file problems, in one error', async () => {
    const file = await writeText(dir, 'kith.yaml', `api:\n  tokenFile: missing.token\n${TOASTER}`)
    const out = await problems(loadNodeConfig(file, { env: {} }))
    expect(out).toHaveLength(2)
    expect(out[0]).toMatch(/:2: api\.tokenFile: cannot read token file .*missing\.token: ENOENT/)
    expect(out[1]).toMatch(/:5: devices\.0\.profile: unknown profile "smart-toaster"/)
  })

  it('loads a config whose devices fit their profiles', async () => {
    const yaml = 'devices:\n  - id: desk\n    profile: smart-plug\n    topic: zigbee2mqtt/desk\n'
    const config = await loadNodeConfig(await writeText(dir, 'kith.yaml', yaml), { env: {} })
    expect(config.devices.map((d) => d.id)).toEqual(['desk'])
  })

  it('skips the profile check with the file checks', async () => {
    const file = await writeText(dir, 'kith.yaml', TOASTER)
    expect(await problems(loadNodeConfig(file, { env: {}, checkFiles: false }))).toEqual([])
  })
})

describe('loadConfig', () => {
  it('checks the shape of a device entry, not whether its profile exists', async () => {
    const file = await writeText(dir, 'kith.yaml', TOASTER)
    expect(await problems(loadConfig(file, { env: {} }))).toEqual([])
    const bad = await writeText(dir, 'bad.yaml', 'devices:\n  - id: Hall\n    profile: smart-plug\n')
    expect(await problems(loadConfig(bad, { env: {} }))).toEqual([
      `${bad}:2: devices.0.id: use 1-31 lowercase letters, digits, "_" or "-", starting with a letter or digit`,
    ])
  })
})
