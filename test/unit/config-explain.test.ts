/**
 * The config reference is read from the schema: every key has a description, the defaults shown are the ones
 * the validator fills in, and `kith config explain` finds keys (list and map entries included) or names the
 * nearest ones.
 */
import { describe, expect, it } from 'vitest'
import { explainConfigKey } from '../../src/cli/config-explain.ts'
import { envNames } from '../../src/config/env.ts'
import { configKeys, findKey, nearestKeys } from '../../src/config/explain.ts'
import { configSchema } from '../../src/config/schema.ts'

const keys = configKeys()

function at(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value)
}

describe('configKeys', () => {
  it('lists the keys of every section, parents before children', () => {
    const paths = keys.map((k) => k.path)
    for (const path of [
      'version',
      'api.listen',
      'network.relay.client',
      'mqtt.discovery.birth',
      'trust.tpm.pcrs',
    ])
      expect(paths).toContain(path)
    expect(paths).toContain('capabilities[].script')
    expect(paths).toContain('mqtt.imported.*.risk')
    expect(paths).toContain('devices[].profile')
    expect(paths.indexOf('network.relay')).toBeLessThan(paths.indexOf('network.relay.client'))
  })

  it('has a description for every key', () => {
    const missing = keys.filter((k) => k.description.trim() === '').map((k) => k.path)
    expect(missing).toEqual([])
  })

  it('shows the defaults the validator fills in', () => {
    const filled = configSchema.parse({})
    let compared = 0
    for (const key of keys) {
      if (key.path.includes('[') || key.path.includes('*') || key.children.length > 0) continue
      const value = at(filled, key.path)
      // keys under an optional section (mqtt.tls) have no value until the section is written
      if (value === undefined && at(filled, key.path.split('.').slice(0, -1).join('.')) === undefined)
        continue
      expect(value, key.path).toEqual(key.default)
      compared++
    }
    expect(compared).toBeGreaterThan(80)
  })

  it('names the environment variable of each key outside lists and maps', () => {
    const names = envNames(configSchema)
    expect(keys.find((k) => k.path === 'api.maxConnections')?.env).toBe('KITH_API_MAX_CONNECTIONS')
    for (const key of keys) if (key.env != null) expect(names.get(key.env)?.path.join('.')).toBe(key.path)
  })

  it('gives ranges and allowed values', () => {
    expect(findKey(keys, 'api.maxConnections')).toMatchObject({
      type: 'integer',
      allowed: '1 … 4096',
      default: 64,
    })
    expect(findKey(keys, 'network.dht')?.type).toBe('`off` | `client` | `server`')
    expect(findKey(keys, 'network.listen')).toMatchObject({
      type: 'list of multiaddrs',
      allowed: '1 … 16 entries',
    })
  })
})

describe('findKey and nearestKeys', () => {
  it('finds list and map entries by index or name', () => {
    expect(findKey(keys, 'capabilities.0.id')?.path).toBe('capabilities[].id')
    expect(findKey(keys, 'capabilities[].id')?.path).toBe('capabilities[].id')
    expect(findKey(keys, 'mqtt.imported.kitchen-plug.risk')?.path).toBe('mqtt.imported.*.risk')
    expect(findKey(keys, 'api.nope')).toBeUndefined()
  })

  it('suggests keys with the same name elsewhere, then near spellings', () => {
    expect(nearestKeys(keys, 'maxConnections')).toEqual(['api.maxConnections', 'network.maxConnections'])
    expect(nearestKeys(keys, 'api.maxConection')[0]).toBe('api.maxConnections')
    expect(nearestKeys(keys, 'qqqqqqqq')).toEqual([])
  })
})

describe('kith config explain', () => {
  it('prints path, type, default, env variable and description of a key', () => {
    const out = explainConfigKey('api.maxConnections')
    expect(out.ok).toBe(true)
    const text = out.ok ? out.text : ''
    expect(text.split('\n')[0]).toBe('api.maxConnections')
    expect(text).toMatch(/type: +integer \(1 … 4096\)/)
    expect(text).toMatch(/default: +64/)
    expect(text).toContain('KITH_API_MAX_CONNECTIONS')
    expect(text).toContain(findKey(keys, 'api.maxConnections')?.description)
  })

  it('lists the keys of a section', () => {
    const out = explainConfigKey('network.relay')
    expect(out.ok && out.text).toMatch(
      /keys:\n +network\.relay\.client +boolean, default true\n +network\.relay\.server/,
    )
  })

  it('lists the top-level keys without a key, and prints JSON with --json', () => {
    const top = explainConfigKey(undefined)
    expect(top.ok && top.text).toContain('trust')
    const json = explainConfigKey('mqtt.broker', { json: true })
    expect(JSON.parse(json.ok ? json.text : '{}')).toMatchObject({ path: 'mqtt.broker', default: 'embedded' })
  })

  it('answers an unknown key with one line naming the nearest keys', () => {
    const out = explainConfigKey('api.maxConection')
    expect(out).toEqual({
      ok: false,
      message: 'no config key "api.maxConection"; did you mean api.maxConnections, network.maxConnections?',
    })
  })
})
