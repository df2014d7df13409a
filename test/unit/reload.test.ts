/**
 * Config reloads: which changes apply live and which need a restart, that a reload that cannot be applied
 * changes nothing, and the config watcher (content changes count, touches do not).
 */
import { rename, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Config, ConfigError, loadConfig } from '../../src/config/index.ts'
import { ConfigWatcher, watchedFiles } from '../../src/config/watch.ts'
import {
  applyLive,
  classifyChanges,
  ConfigReloader,
  diffConfig,
  effectiveConfig,
  type LiveParts,
} from '../../src/node/reload.ts'
import { ContractPolicy } from '../../src/execution/contracts.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { tempDir, waitFor, writeText } from '../helpers.ts'

const PEER = '12D3KooWSNnorxwZYTvcQMkQnLoM6sZQf4bURGGD4pDP1VDUoSdg'
let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('kith-reload-'))
})
afterEach(() => cleanup())

let n = 0
async function config(yaml: string): Promise<Config> {
  return loadConfig(await writeText(dir, `kith-${n++}.yaml`, yaml), { env: {}, checkFiles: false })
}

const BASE = 'api: 127.0.0.1:7700\ndiscovery: { ttl: 15000 }\n'
const CAP = 'capabilities:\n  - { id: double, kind: script, title: Double, script: double.js }\n'

describe('diffConfig and classifyChanges', () => {
  it('names each changed key by its path, lists compared whole', async () => {
    const a = await config(`${BASE}network: { listen: [/ip4/127.0.0.1/tcp/1] }\n`)
    const b = await config(
      `api: { listen: 127.0.0.1:7800, maxConnections: 8 }\ndiscovery: { ttl: 6000 }\nnetwork: { listen: [/ip4/127.0.0.1/tcp/2] }\n${CAP}`,
    )
    expect(diffConfig(a, b)).toEqual([
      'api.listen',
      'api.maxConnections',
      'network.listen',
      'discovery.ttl',
      'capabilities',
    ])
    expect(diffConfig(a, await config(`${BASE}network: { listen: [/ip4/127.0.0.1/tcp/1] }\n`))).toEqual([])
  })

  it('counts a changed token as api.token without showing it', async () => {
    const a = await config('api: { token: a-long-enough-token-1 }\n')
    const b = await config('api: { token: a-long-enough-token-2 }\n')
    expect(diffConfig(a, b)).toEqual(['api.token'])
  })

  it('applies capabilities, devices, ttl, trust lists, log level and name live; the rest needs a restart', () => {
    const paths = [
      'name',
      'log.level',
      'capabilities',
      'devices',
      'discovery.ttl',
      'trust.pretrusted',
      'execution.allowPeers',
      'mqtt.profiles',
      'api.listen',
      'api.token',
      'identity',
      'network.listen',
      'mqtt.broker',
      'mqtt.listen',
      'dataDir',
      'discovery.mode',
      'execution.sandbox.workers',
    ]
    expect(classifyChanges(paths)).toEqual({
      applied: paths.slice(0, 8),
      restartRequired: paths.slice(8),
    })
  })

  it('reports a changed owner as needing a restart, keeping the old one in effect', async () => {
    const a = await config(BASE)
    const b = await config(`owner: ${PEER}\n${BASE}`)
    expect(diffConfig(a, b)).toEqual(['owner'])
    expect(classifyChanges(['owner'])).toEqual({ applied: [], restartRequired: ['owner'] })
    expect(effectiveConfig(a, b).owner).toBeUndefined()
  })

  it('keeps the old value of a restart path in effect, so the next reload reports it again', async () => {
    const a = await config(BASE)
    const b = await config(`api: 127.0.0.1:7800\ndiscovery: { ttl: 6000 }\nlog: { level: debug }\n${CAP}`)
    const now = effectiveConfig(a, b)
    expect(now.api.listen).toBe('127.0.0.1:7700')
    expect(now.discovery.ttl).toBe(6000)
    expect(now.log.level).toBe('debug')
    expect(now.capabilities.map((c) => c.id)).toEqual(['double'])
    expect(diffConfig(now, b)).toEqual(['api.listen'])
  })
})

/** Fake planes that record what a reload asked of them. */
function fakeParts(options: { failDevices?: boolean; failScripts?: boolean; scriptChanged?: boolean } = {}) {
  const calls: string[] = []
  const logger = { level: 'info' }
  const parts: LiveParts = {
    execution: {
      replaceCapabilities: async (caps) => {
        if (options.failScripts === true) throw new Error('cannot read script')
        calls.push(`caps:${caps.map((c) => c.id).join(',')}`)
        return { added: [], changed: options.scriptChanged === true ? ['double'] : [], removed: [] }
      },
      updateAccess: (access) => calls.push(`access:${access.pretrusted.length}`),
    },
    devices: {
      resolveDevices: async () => {
        if (options.failDevices === true) throw new Error('unknown profile')
        return []
      },
      replaceDevices: async () => ({ added: [], changed: [], removed: [] }),
      bridge: { updateAccess: (access) => calls.push(`bridge:${access.trusted.length}`) },
    },
    local: { replaceCapabilities: (caps) => calls.push(`local:${caps.length}`) },
    setTtl: (ttl) => calls.push(`ttl:${ttl}`),
    announce: () => calls.push('announce'),
    logger,
  }
  return { parts, calls, logger }
}

describe('applyLive', () => {
  it('applies the live paths and reports the rest', async () => {
    const { parts, calls, logger } = fakeParts({ scriptChanged: true })
    const a = await config(BASE)
    const b = await config(
      `api: 127.0.0.1:7800\ndiscovery: { ttl: 6000 }\nlog: { level: warn }\ntrust: { pretrusted: [${PEER}] }\n${CAP}`,
    )
    const { config: now, result } = await applyLive(parts, a, b)
    expect(result).toEqual({
      applied: ['log.level', 'discovery.ttl', 'capabilities', 'trust.pretrusted'],
      restartRequired: ['api.listen'],
    })
    expect(calls).toEqual(['caps:double', 'access:1', 'bridge:1', 'ttl:6000', 'local:1', 'announce'])
    expect(logger.level).toBe('warn')
    expect(now.api.listen).toBe('127.0.0.1:7700')
  })

  it('counts a script whose file changed as a capability change, with the config unchanged', async () => {
    const { parts } = fakeParts({ scriptChanged: true })
    const a = await config(`${BASE}${CAP}`)
    const { result } = await applyLive(parts, a, await config(`${BASE}${CAP}`))
    expect(result).toEqual({ applied: ['capabilities'], restartRequired: [] })
  })

  it('changes nothing when the devices or the scripts of the new config cannot be loaded', async () => {
    const a = await config(BASE)
    const b = await config(`discovery: { ttl: 6000 }\nlog: { level: warn }\n${CAP}`)
    for (const failure of [{ failDevices: true }, { failScripts: true }]) {
      const { parts, calls, logger } = fakeParts(failure)
      await expect(applyLive(parts, a, b)).rejects.toThrow()
      expect(calls).toEqual([])
      expect(logger.level).toBe('info')
    }
  })
})

describe('live trust lists', () => {
  it('decides the next request under the new allow-list and household', () => {
    const policy = new ContractPolicy({})
    const ask = (peer: string) =>
      policy.decide({ peer, cap: 'echo', inputBytes: 10, deadlineMs: 1000, evidence: 'none' })
    expect(ask('stranger').accept).toBe(true)
    policy.updateAccess({ pretrusted: [PEER], allowPeers: [] })
    expect(ask('stranger')).toMatchObject({ accept: false, reason: 'not-allowed' })
    expect(ask(PEER)).toMatchObject({ accept: true, priority: 1000 })
    policy.updateAccess({ pretrusted: [] })
    expect(ask('stranger').accept).toBe(true)
  })
})

describe('ConfigReloader', () => {
  it('keeps the running config when the new one is invalid, and reports every problem', async () => {
    const applied: Config[] = []
    const reloader = new ConfigReloader({
      apply: async (next) => {
        applied.push(next)
        return { applied: [], restartRequired: [] }
      },
      log: silentLogger(),
    })
    const problem = { source: '/k.yaml', line: 3, path: 'discovery.tll', message: 'unknown key' }
    const bad = await reloader.reload(() => Promise.reject(new ConfigError([problem])), 'watch')
    expect(bad).toEqual({ ok: false, problems: ['/k.yaml:3: discovery.tll: unknown key'] })
    expect(applied).toEqual([])
    const good = await reloader.reload(() => config(BASE), 'SIGHUP')
    expect(good).toEqual({ ok: true, applied: [], restartRequired: [] })
    expect(reloader.status).toMatchObject({ reloads: 2, failed: 1, last: { ok: true, reason: 'SIGHUP' } })
  })
})

describe('ConfigWatcher', () => {
  it('reloads on a change of content or a replacement, not on a touch; SIGHUP forces one', async () => {
    const file = await writeText(dir, 'kith.yaml', BASE)
    const script = await writeText(dir, 'double.js', 'function run(i) { return i }\n')
    await writeText(dir, 'unrelated.txt', 'x')
    const reasons: string[] = []
    const watcher = new ConfigWatcher({
      files: [file, script],
      onChange: (reason) => {
        reasons.push(reason)
      },
      debounceMs: 20,
    })
    await watcher.start()
    try {
      const now = new Date()
      await utimes(file, now, now)
      await writeFile(file, BASE)
      await waitFor('the touch to be looked at', () => watcher.checks >= 1)
      expect(reasons).toEqual([])

      await writeFile(script, 'function run(i) { return [i] }\n')
      await waitFor('a reload after the script changed', () => reasons.length === 1)
      await writeFile(join(dir, 'next.yaml'), `${BASE}log: { level: warn }\n`)
      await rename(join(dir, 'next.yaml'), file)
      await waitFor('a reload after the file was replaced', () => reasons.length === 2)
      await watcher.reload('SIGHUP')
      expect(reasons).toEqual(['watch', 'watch', 'SIGHUP'])
    } finally {
      watcher.stop()
    }
    const checks = watcher.checks
    await writeFile(file, `${BASE}log: { level: debug }\n`)
    await watcher.reload('SIGHUP')
    expect(watcher.checks).toBe(checks)
  })

  it('watches the config, its include and its scripts', async () => {
    await writeText(dir, 'shared.yaml', 'log: { level: warn }\n')
    const c = await config(`fleet: shared.yaml\n${CAP}${BASE}`)
    expect(watchedFiles(c)).toEqual([c.paths.file, join(dir, 'shared.yaml'), join(dir, 'double.js')])
  })
})
