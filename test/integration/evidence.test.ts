/**
 * The evidence plane's config keys and policy helpers, and the provider's behaviour without a usable TPM:
 * it starts, says it has no TPM, and signs software-only evidence. (With a real software TPM:
 * test/integration/tpm.test.ts.)
 */
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/schema.ts'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import {
  checkPcrPolicy,
  createEvidenceProvider,
  hashValue,
  requiresHardware,
  verifyEvidence,
} from '../../src/trust/evidence/index.ts'
import { hasResourceManager, resolveTcti, TpmTools } from '../../src/trust/evidence/tpm-tools.ts'
import { componentLogger } from '../../src/util/logger.ts'
import { tempDir } from '../helpers.ts'

let dir: string
let cleanup: () => Promise<void>
let identity: Identity

beforeAll(async () => {
  const tmp = await tempDir('kith-evidence-')
  dir = tmp.dir
  cleanup = tmp.cleanup
  identity = await createIdentity(join(dir, 'identity.key'))
})
afterAll(() => cleanup())

const fields = () => ({
  task: 'task-abcdef01',
  cap: 'echo',
  codeHash: hashValue('code'),
  inputHash: hashValue({ x: 1 }),
  outputHash: hashValue({ x: 1 }),
  start: Date.now() - 10,
  end: Date.now(),
})

describe('trust config', () => {
  it('defaults: TPM auto, PCRs 0-7 of sha256, no policy, nothing requires hardware', () => {
    const { trust } = configSchema.parse({})
    expect(trust.pretrusted).toEqual([])
    expect(trust.tpm).toEqual({
      enabled: 'auto',
      pcrs: 'sha256:0,1,2,3,4,5,6,7',
      timeoutMs: 5000,
      akHandle: 0x81014b49,
    })
    expect(trust.evidence).toEqual({ requireHardware: [] })
  })

  it('accepts a TCTI, a PCR policy and hardware requirements', () => {
    const { trust } = configSchema.parse({
      trust: {
        tpm: {
          enabled: true,
          tcti: 'swtpm:host=127.0.0.1,port=2321',
          pcrs: 'sha256:7',
          policy: { 'sha256:7': ['ab'.repeat(32)] },
        },
        evidence: { requireHardware: ['door.*', 'lock'] },
      },
    })
    expect(trust.tpm.policy).toEqual({ 'sha256:7': ['ab'.repeat(32)] })
    expect(trust.evidence.requireHardware).toEqual(['door.*', 'lock'])
  })

  it('refuses bad PCR specs, policy keys and values with their paths', () => {
    const problems = (tpm: unknown) =>
      configSchema.safeParse({ trust: { tpm } }).error?.issues.map((i) => i.path.join('.')) ?? []
    expect(problems({ pcrs: 'sha256:24' })).toEqual(['trust.tpm.pcrs'])
    expect(problems({ pcrs: 'sha256' })).toEqual(['trust.tpm.pcrs'])
    expect(problems({ policy: { 'sha256:99': ['00'] } })[0]).toMatch(/^trust\.tpm\.policy/)
    expect(problems({ policy: { 'sha256:7': ['00'] } })).toEqual(['trust.tpm.policy.sha256:7.0'])
    expect(problems({ policy: { 'sha1:7': ['00'.repeat(20)] } })).toEqual([])
    expect(problems({ tcti: 'device:/dev/tpm rm0' })).toEqual(['trust.tpm.tcti'])
    expect(problems({ enabled: 'yes' })).toEqual(['trust.tpm.enabled'])
  })
})

describe('policy helpers', () => {
  it('matches capability ids and tags against hardware globs', () => {
    expect(requiresHardware({ id: 'door.unlock', tags: [] }, ['door.*'])).toBe(true)
    expect(requiresHardware({ id: 'garage.open', tags: ['lock', 'garage'] }, ['lock'])).toBe(true)
    expect(requiresHardware({ id: 'doorbell', tags: [] }, ['door.*'])).toBe(false)
    expect(requiresHardware({ id: 'door.unlock' }, [])).toBe(false)
    expect(requiresHardware({ id: 'a.b' }, ['a?b'])).toBe(true)
  })

  it('checks PCR values against known-good ones', () => {
    const pcrs = {
      alg: 'sha256' as const,
      selection: [0, 7],
      values: [new Uint8Array(32), new Uint8Array(32).fill(0xab)],
    }
    expect(checkPcrPolicy(pcrs, undefined)).toEqual({ ok: true })
    expect(checkPcrPolicy(pcrs, { 'sha256:7': ['AB'.repeat(32)] })).toEqual({ ok: true })
    expect(checkPcrPolicy(pcrs, { 'sha256:0': ['ab'.repeat(32)] }).ok).toBe(false)
  })
})

describe('TPM selection', () => {
  it('uses the configured TCTI, else /dev/tpmrm0 when it exists, else none', () => {
    expect(resolveTcti({ enabled: 'auto', tcti: 'swtpm:port=1' }, () => false)).toBe('swtpm:port=1')
    expect(resolveTcti({ enabled: 'auto' }, () => true)).toBe('device:/dev/tpmrm0')
    expect(resolveTcti({ enabled: 'auto' }, () => false)).toBeUndefined()
    expect(resolveTcti({ enabled: false, tcti: 'swtpm:port=1' }, () => true)).toBeUndefined()
  })

  it('knows which TCTIs go through a resource manager', () => {
    expect(hasResourceManager('device:/dev/tpmrm0')).toBe(true)
    expect(hasResourceManager('tabrmd:bus_type=system')).toBe(true)
    expect(hasResourceManager('device:/dev/tpm0')).toBe(false)
    expect(hasResourceManager('swtpm:host=127.0.0.1,port=2321')).toBe(false)
  })

  it('runs only tpm2-tools commands, one at a time', async () => {
    const tools = new TpmTools({ tcti: 'swtpm:port=1', timeoutMs: 1000, env: { PATH: '/nonexistent' } })
    await expect(tools.run('rm', ['-rf', '/'])).rejects.toThrow(/not a tpm2-tools command/)
    await expect(tools.run('tpm2_getcap', ['handles-transient'])).rejects.toThrow(/not installed/)
    const order: number[] = []
    const slow = tools.exclusive(async () => {
      await new Promise((r) => setImmediate(r))
      order.push(1)
    })
    const fast = tools.exclusive(async () => {
      order.push(2)
    })
    await Promise.all([slow, fast])
    expect(order).toEqual([1, 2])
  })
})

describe('provider without a usable TPM', () => {
  const configWith = (tpm: Record<string, unknown>) => configSchema.parse({ trust: { tpm } })

  for (const [what, tpm, env] of [
    ['TPM off', { enabled: false }, undefined],
    ['tpm2-tools missing', { enabled: true, tcti: 'swtpm:host=127.0.0.1,port=1' }, { PATH: '/nonexistent' }],
  ] as const) {
    it(`starts, describes no TPM, and signs software-only evidence (${what})`, async () => {
      const provider = createEvidenceProvider({
        config: configWith(tpm),
        identity,
        dataDir: dir,
        ...(env != null ? { env } : {}),
      })
      await provider.start()
      expect(provider.describe()).toEqual({ tpm: false })
      const pkg = await provider.produce(fields())
      expect(pkg.kind).toBe('software')
      expect(pkg.quote).toBeUndefined()
      const verdict = verifyEvidence(pkg, {
        expectedTask: 'task-abcdef01',
        expectedProvider: identity.peerId.toString(),
      })
      expect(verdict).toMatchObject({ ok: true, kind: 'software' })
      await provider.stop()
    })
  }
})

describe('provider logging', () => {
  it('writes each log line with one component key, the one its caller named', async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(
          ...chunk
            .toString()
            .split('\n')
            .filter((l) => l.length > 0),
        )
        done()
      },
    })
    const root = pino({ level: 'info' }, sink)
    const provider = createEvidenceProvider({
      config: configSchema.parse({ trust: { tpm: { enabled: false } } }),
      identity,
      dataDir: dir,
      logger: componentLogger(root, 'kith:trust:evidence'),
    })
    await provider.start()
    await provider.stop()
    const line = lines.find((l) => l.includes('no TPM'))
    expect(line).toBeDefined()
    expect(line?.match(/"component"/g)).toHaveLength(1)
    expect(JSON.parse(line ?? '{}')).toMatchObject({ component: 'kith:trust:evidence' })
  })
})
