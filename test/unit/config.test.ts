import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, formatProblem, loadConfig } from '../../src/config/index.ts'
import { tempDir, writeText } from '../helpers.ts'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

async function problems(file: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    await loadConfig(file, { env })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem)
    throw err
  }
  throw new Error('expected the config to be rejected')
}

describe('loadConfig', () => {
  it('fills every default for an empty file', async () => {
    const file = await writeText(dir, 'kith.yaml', '')
    const config = await loadConfig(file, { env: {} })
    expect(config.api.listen).toBe('127.0.0.1:7700')
    expect(config.network.listen).toEqual(['/ip4/127.0.0.1/tcp/7701'])
    expect(config.network.mdns).toBe(true)
    expect(config.paths.identity).toBe(join(dir, 'identity.key'))
    expect(config.paths.database).toBe(join(dir, 'kith.db'))
  })

  it('loads a valid file with the api shorthand and nested settings', async () => {
    const file = await writeText(
      dir,
      'kith.yaml',
      'name: hall\napi: 127.0.0.1:9000\nnetwork:\n  maxConnections: 8\n  bootstrap: [/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSNnorxwZYTvcQMkQnLoM6sZQf4bURGGD4pDP1VDUoSdg]\n',
    )
    const config = await loadConfig(file, { env: {} })
    expect(config.name).toBe('hall')
    expect(config.api.listen).toBe('127.0.0.1:9000')
    expect(config.network.maxConnections).toBe(8)
    expect(config.network.bootstrap).toHaveLength(1)
  })

  it('reports a YAML syntax error with its line', async () => {
    const file = await writeText(dir, 'kith.yaml', 'name: hall\nnetwork:\n  listen: [\n')
    const out = await problems(file)
    expect(out[0]).toMatch(new RegExp(`^${file}:\\d+: \\(yaml\\): `))
  })

  it('refuses a "billion laughs" file of nested aliases as a problem, not a crash', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]']
    for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg'])
      levels.push(`${name}: &${name} [${`*${prev}, `.repeat(9)}]`)
    const file = await writeText(dir, 'kith.yaml', levels.join('\n'))
    expect(await problems(file)).toEqual([
      `${file}:1: (yaml): Excessive alias count indicates a resource exhaustion attack`,
    ])
  })

  it('reports an unknown key at the line of the key', async () => {
    const file = await writeText(dir, 'kith.yaml', 'name: hall\nnetwork:\n  maxConnection: 8\n')
    expect(await problems(file)).toEqual([`${file}:3: network.maxConnection: unknown key`])
  })

  it('reports a wrong type at the line of the key', async () => {
    const file = await writeText(dir, 'kith.yaml', 'network:\n  mdns: true\n  maxConnections: many\n')
    const [line] = await problems(file)
    expect(line).toMatch(new RegExp(`^${file}:3: network.maxConnections: .*expected number`))
  })

  it('reports a bad multiaddr with its list index', async () => {
    const file = await writeText(
      dir,
      'kith.yaml',
      'network:\n  listen:\n    - /ip4/127.0.0.1/tcp/1\n    - /ip4/nowhere/tcp/x\n',
    )
    expect(await problems(file)).toEqual([`${file}:4: network.listen.1: not a valid multiaddr`])
  })

  it('reports every problem at once', async () => {
    const file = await writeText(dir, 'kith.yaml', 'nmae: x\napi: nowhere\nlog:\n  level: loud\n')
    const out = await problems(file)
    expect(out).toHaveLength(3)
  })

  it('requires a token when the API listens beyond loopback', async () => {
    const file = await writeText(dir, 'kith.yaml', 'api: 0.0.0.0:7700\n')
    expect(await problems(file)).toEqual([
      `${file}:1: api.listen: the API listens beyond loopback, so api.token or api.tokenFile is required`,
    ])
  })

  it('reads the token from a token file and rejects a short one', async () => {
    await chmod(await writeText(dir, 'api.token', 'a-very-long-shared-secret\n'), 0o600)
    const file = await writeText(dir, 'kith.yaml', 'api:\n  listen: 0.0.0.0:7700\n  tokenFile: api.token\n')
    expect((await loadConfig(file, { env: {} })).apiToken).toBe('a-very-long-shared-secret')
    await writeText(dir, 'api.token', 'short\n')
    expect(await problems(file)).toEqual([
      `${file}:3: api.tokenFile: the token in it is shorter than 16 characters`,
    ])
  })

  it('refuses a secret in a file readable by others, and takes one its group can read', async () => {
    const token = await writeText(dir, 'api.token', 'a-very-long-shared-secret\n')
    const password = await writeText(dir, 'mqtt.password', 'correct horse battery\n')
    const file = await writeText(
      dir,
      'kith.yaml',
      'api:\n  listen: 0.0.0.0:7700\n  tokenFile: api.token\nmqtt:\n  passwordFile: mqtt.password\n',
    )
    await chmod(token, 0o644)
    await chmod(password, 0o604)
    expect(await problems(file)).toEqual([
      `${file}:3: api.tokenFile: ${token} is readable by others (mode 644); run chmod o-r ${token}`,
      `${file}:5: mqtt.passwordFile: ${password} is readable by others (mode 604); run chmod o-r ${password}`,
    ])
    // kith install writes the token 0640 for the service's group
    await chmod(token, 0o640)
    await chmod(password, 0o600)
    expect((await loadConfig(file, { env: {} })).mqttPassword).toBe('correct horse battery')

    // kith init writes kith.yaml 0644, without a secret: a secret written into it later makes it a problem
    const inline = await writeText(
      dir,
      'inline.yaml',
      'api:\n  listen: 127.0.0.1:7700\n  token: a-very-long-shared-secret\nmqtt: { password: hunter2 }\n',
    )
    await chmod(inline, 0o644)
    expect(await problems(inline)).toEqual([
      `${inline}:3: api.token: ${inline} holds this secret and is readable by others (mode 644); run chmod o-r ${inline}`,
      `${inline}:4: mqtt.password: ${inline} holds this secret and is readable by others (mode 644); run chmod o-r ${inline}`,
    ])
    await chmod(inline, 0o640)
    expect((await loadConfig(inline, { env: {} })).apiToken).toBe('a-very-long-shared-secret')
  })

  it('checks the file a secret comes from: the fleet file, or none for an environment override', async () => {
    const fleet = await writeText(dir, 'fleet.yaml', 'mqtt: { password: from-the-fleet }\n')
    const file = await writeText(dir, 'kith.yaml', 'fleet: fleet.yaml\n')
    await chmod(fleet, 0o644)
    expect(await problems(file)).toEqual([
      `${fleet}:1: mqtt.password: ${fleet} holds this secret and is readable by others (mode 644); run chmod o-r ${fleet}`,
    ])
    await chmod(fleet, 0o600)
    const config = await loadConfig(file, { env: { KITH_API_TOKEN: 'a-very-long-shared-secret' } })
    expect(config.apiToken).toBe('a-very-long-shared-secret')
  })

  it('reports a missing capability script', async () => {
    const file = await writeText(
      dir,
      'kith.yaml',
      'capabilities:\n  - id: echo\n    kind: script\n    title: Echo\n    script: echo.js\n',
    )
    const [line] = await problems(file)
    expect(line).toMatch(
      new RegExp(`^${file}:5: capabilities.0.script: cannot read script .*echo.js: ENOENT`),
    )
  })

  it('reports an unreadable config file', async () => {
    const out = await problems(join(dir, 'missing.yaml'))
    expect(out[0]).toMatch(/missing.yaml: \(file\): cannot read: ENOENT/)
  })

  it('merges a fleet file under the node file and points at the file that set a bad value', async () => {
    await writeText(
      dir,
      'fleet.yaml',
      'network:\n  maxConnections: 16\n  dht: server\nlog:\n  level: chatty\n',
    )
    const file = await writeText(dir, 'kith.yaml', 'fleet: fleet.yaml\nnetwork:\n  maxConnections: 8\n')
    const out = await problems(file)
    expect(out).toEqual([
      `${join(dir, 'fleet.yaml')}:5: log.level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"`,
    ])
    await writeText(dir, 'fleet.yaml', 'network:\n  maxConnections: 16\n  dht: server\n')
    const config = await loadConfig(file, { env: {} })
    expect(config.network.maxConnections).toBe(8)
    expect(config.network.dht).toBe('server')
    expect(config.paths.fleet).toBe(join(dir, 'fleet.yaml'))
  })

  it('takes overrides from KITH_* variables derived from the schema', async () => {
    const file = await writeText(dir, 'kith.yaml', 'network:\n  maxConnections: 8\n')
    const config = await loadConfig(file, {
      env: {
        KITH_API: '127.0.0.1:9100',
        KITH_NETWORK_MAX_CONNECTIONS: '12',
        KITH_NETWORK_MDNS: 'false',
        KITH_NAME: '1234',
      },
    })
    expect(config.api.listen).toBe('127.0.0.1:9100')
    expect(config.network.maxConnections).toBe(12)
    expect(config.network.mdns).toBe(false)
    expect(config.name).toBe('1234')
  })

  it('rejects an unknown KITH_* variable and a bad override, naming the variable', async () => {
    const file = await writeText(dir, 'kith.yaml', '')
    const out = await problems(file, { KITH_NETWORK_MAX_CONECTIONS: '3', KITH_LOG_LEVEL: 'loud' })
    expect(out).toContain('env:KITH_NETWORK_MAX_CONECTIONS: (env): not a kith setting')
    expect(out.some((l) => l.startsWith('env:KITH_LOG_LEVEL: log.level:'))).toBe(true)
  })
})
