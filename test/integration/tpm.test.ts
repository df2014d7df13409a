/**
 * Tier 3 evidence end to end with a real software TPM (swtpm in socket mode on loopback, driven through
 * tpm2-tools): a provider makes its attestation key at first start and quotes receipts; a separate verifier,
 * in another process without tpm2-tools, accepts them with only the AK public key and the evidence; tampered
 * attest, another receipt's quote, another AK and PCRs off policy are each refused with their reason; the AK
 * survives restarts of the node and of the TPM; a TPM that stops answering means software-only evidence.
 */
import { execFile } from 'node:child_process'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/schema.ts'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import {
  createEvidenceProvider,
  encodeEvidence,
  type EvidencePackage,
  type EvidenceProvider,
  hashValue,
  type ReceiptFields,
  signReceipt,
  verifyEvidence,
} from '../../src/trust/evidence/index.ts'
import { freePortPair, startSwtpm, type Swtpm } from '../fixtures/tpm/swtpm.ts'
import { freePort, ROOT, tempDir } from '../helpers.ts'
import { skipWithout } from '../system.ts'

const run = promisify(execFile)
const ZERO = '00'.repeat(32)

describe.skipIf(skipWithout('swtpm'))('Tier 3 evidence with swtpm', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let tpm: Swtpm
  let alice: Identity
  let bob: Identity
  const running: EvidenceProvider[] = []

  const provider = async (identity: Identity, dataDir: string, tcti = tpm.tcti) => {
    const config = configSchema.parse({ trust: { tpm: { enabled: true, tcti, timeoutMs: 10_000 } } })
    const p = createEvidenceProvider({ config, identity, dataDir })
    running.push(p)
    await p.start()
    return p
  }
  const fields = (task: string, output: unknown = { ok: true }): ReceiptFields => ({
    task,
    cap: 'hall.lock',
    codeHash: hashValue('function run() {}'),
    inputHash: hashValue({ lock: true }),
    outputHash: hashValue(output),
    start: Date.now() - 20,
    end: Date.now(),
  })
  const verifyFor = (
    pkg: EvidencePackage | Uint8Array,
    task: string,
    akPub: Uint8Array | undefined,
    extra = {},
  ) =>
    verifyEvidence(pkg, {
      expectedTask: task,
      expectedProvider: alice.peerId.toString(),
      providerDescriptorAttest: { tpm: akPub != null, akPub },
      ...extra,
    })
  const tpmTool = (tool: string, args: string[]) =>
    run(tool, args, { env: { ...process.env, TPM2TOOLS_TCTI: tpm.tcti }, timeout: 10_000 })

  beforeAll(async () => {
    const tmp = await tempDir('kith-tpm-')
    dir = tmp.dir
    cleanup = tmp.cleanup
    await mkdir(join(dir, 'swtpm'))
    tpm = await startSwtpm(join(dir, 'swtpm'))
    alice = await createIdentity(join(dir, 'alice.key'))
    bob = await createIdentity(join(dir, 'bob.key'))
  })
  afterAll(async () => {
    for (const p of running) await p.stop()
    await tpm?.stop()
    await cleanup?.()
  })

  it('makes an AK at first start, keeps its blobs private, and quotes a receipt another process verifies', async () => {
    const p = await provider(alice, join(dir, 'alice'))
    const attest = p.describe()
    expect(attest.tpm).toBe(true)
    expect(attest.akPub?.byteLength).toBeGreaterThan(60)
    for (const file of ['ak.pub', 'ak.priv']) {
      expect((await stat(join(dir, 'alice', 'tpm', file))).mode & 0o777).toBe(0o600)
    }
    const pkg = await p.produce(fields('task-first-0001'))
    expect(pkg.kind).toBe('tpm')
    const bytes = encodeEvidence(pkg)

    // the verifier: another process, only the AK public and the evidence, no tpm2-tools on its PATH
    const script = join(dir, 'verify.ts')
    const entry = pathToFileURL(join(ROOT, 'src/trust/evidence/index.ts')).href
    await writeFile(
      script,
      `import { verifyEvidence } from '${entry}'
const [evidence, akPub, task, provider, policy] = process.argv.slice(2)
const v = verifyEvidence(Buffer.from(evidence, 'hex'), {
  expectedTask: task, expectedProvider: provider, policy: JSON.parse(policy),
  providerDescriptorAttest: { tpm: true, akPub: Buffer.from(akPub, 'hex') },
})
console.log(JSON.stringify({ ok: v.ok, kind: v.kind, reason: v.ok ? undefined : v.reason, checks: v.checks.map((c) => c.name) }))
`,
    )
    const args = [
      script,
      Buffer.from(bytes).toString('hex'),
      Buffer.from(attest.akPub!).toString('hex'),
      'task-first-0001',
      alice.peerId.toString(),
      JSON.stringify({ 'sha256:7': [ZERO] }),
    ]
    const { stdout } = await run(process.execPath, args, { env: { PATH: '' } })
    expect(JSON.parse(stdout)).toEqual({
      ok: true,
      kind: 'tpm',
      checks: [
        'format',
        'signature',
        'task',
        'provider',
        'fresh',
        'ak',
        'quote-signature',
        'nonce',
        'pcr-digest',
        'pcr-policy',
      ],
    })
  })

  it('refuses a tampered attest, another receipt’s quote, another AK and PCRs off policy, each with its reason', async () => {
    const p = await provider(alice, join(dir, 'alice'))
    const akPub = p.describe().akPub
    const pkg = await p.produce(fields('task-second-001'))
    expect(verifyFor(pkg, 'task-second-001', akPub).ok).toBe(true)

    const attest = pkg.quote!.attest.slice()
    attest[attest.byteLength - 1]! ^= 0xff
    expect(verifyFor({ ...pkg, quote: { ...pkg.quote!, attest } }, 'task-second-001', akPub)).toMatchObject({
      ok: false,
      reason: 'quote-signature',
    })

    // an honest receipt for the same task, signed by the provider, carrying the quote of the first one
    const second = { ...fields('task-second-001', { ok: false }), provider: alice.peerId.toString() }
    const mixed: EvidencePackage = { ...pkg, receipt: second, sig: signReceipt(second, alice.sign) }
    expect(verifyFor(mixed, 'task-second-001', akPub)).toMatchObject({ ok: false, reason: 'wrong-nonce' })

    // bob's node on the same TPM: the AK handle is alice's, so his key is loaded per quote
    const other = await provider(bob, join(dir, 'bob'))
    const bobAk = other.describe().akPub
    expect(bobAk).toBeDefined()
    expect(Buffer.from(bobAk!).equals(akPub!)).toBe(false)
    expect(verifyFor(pkg, 'task-second-001', bobAk)).toMatchObject({ ok: false, reason: 'wrong-ak' })
    const bobs = await other.produce(fields('task-bob-00001'))
    expect(bobs.kind).toBe('tpm')
    const bobVerdict = verifyEvidence(bobs, {
      expectedTask: 'task-bob-00001',
      expectedProvider: bob.peerId.toString(),
      providerDescriptorAttest: { tpm: true, akPub: bobAk },
    })
    expect(bobVerdict.ok).toBe(true)

    const pcr7 = Buffer.from(pkg.quote!.pcrs.values[7]!).toString('hex')
    const policy = { 'sha256:7': [pcr7] }
    expect(verifyFor(pkg, 'task-second-001', akPub, { policy }).ok).toBe(true)
    await tpmTool('tpm2_pcrextend', [`7:sha256=${'ab'.repeat(32)}`])
    const after = await p.produce(fields('task-third-0001'))
    expect(after.kind).toBe('tpm')
    expect(verifyFor(after, 'task-third-0001', akPub)).toMatchObject({ ok: true, kind: 'tpm' })
    expect(verifyFor(after, 'task-third-0001', akPub, { policy })).toMatchObject({
      ok: false,
      reason: 'pcr-policy',
    })
  })

  it('requires hardware evidence where the policy says so', async () => {
    const p = await provider(alice, join(dir, 'alice'))
    const akPub = p.describe().akPub
    const quoted = await p.produce(fields('task-hardware-1'))
    const plain = await p.produce(fields('task-hardware-2'), { tpm: false })
    expect(plain.kind).toBe('software')
    expect(verifyFor(quoted, 'task-hardware-1', akPub, { requireHardware: true }).ok).toBe(true)
    expect(verifyFor(plain, 'task-hardware-2', akPub, { requireHardware: true })).toMatchObject({
      reason: 'hardware-required',
    })
  })

  it('reuses the AK across node restarts, TPM restarts, and an evicted handle', async () => {
    const first = await provider(alice, join(dir, 'alice'))
    const akPub = first.describe().akPub!
    await first.stop()
    const again = await provider(alice, join(dir, 'alice'))
    expect(again.describe().akPub).toEqual(akPub)
    await again.stop()

    await tpm.restart()
    const afterReset = await provider(alice, join(dir, 'alice'))
    expect(afterReset.describe().akPub).toEqual(akPub)
    const pkg = await afterReset.produce(fields('task-reset-0001'))
    expect(verifyFor(pkg, 'task-reset-0001', akPub)).toMatchObject({ ok: true, kind: 'tpm' })
    await afterReset.stop()

    // the persistent copy gone: the saved blobs load again under the EK, which the TPM derives anew
    await tpmTool('tpm2_evictcontrol', ['-C', 'o', '-c', '0x81014b49'])
    const reloaded = await provider(alice, join(dir, 'alice'))
    expect(reloaded.describe().akPub).toEqual(akPub)
    const pkg2 = await reloaded.produce(fields('task-reload-001'))
    expect(verifyFor(pkg2, 'task-reload-001', akPub)).toMatchObject({ ok: true, kind: 'tpm' })
    // and it is persistent again
    await expect(tpmTool('tpm2_readpublic', ['-c', '0x81014b49'])).resolves.toBeDefined()
  })

  it('falls back to software evidence when the TPM is unreachable or stops answering', async () => {
    const nowhere = await provider(alice, join(dir, 'alice'), `swtpm:host=127.0.0.1,port=${await freePort()}`)
    expect(nowhere.describe()).toEqual({ tpm: false })
    expect((await nowhere.produce(fields('task-nowhere-01'))).kind).toBe('software')

    // a TPM that accepts connections and never answers: every command ends at its deadline
    const port = await freePortPair()
    const held: Socket[] = []
    const silent = [port, port + 1].map((at) =>
      createServer((socket) => held.push(socket)).listen(at, '127.0.0.1'),
    )
    try {
      const config = configSchema.parse({
        trust: { tpm: { enabled: true, tcti: `swtpm:host=127.0.0.1,port=${port}`, timeoutMs: 300 } },
      })
      const mute = createEvidenceProvider({ config, identity: alice, dataDir: join(dir, 'mute') })
      await mute.start()
      expect(mute.describe()).toEqual({ tpm: false })
      expect((await mute.produce(fields('task-mute-0001'))).kind).toBe('software')
      await mute.stop()
    } finally {
      for (const socket of held) socket.destroy()
      await Promise.all(silent.map((server) => new Promise((resolve) => server.close(resolve))))
    }

    const p = await provider(alice, join(dir, 'alice'))
    expect(p.describe().tpm).toBe(true)
    await tpm.stop()
    for (let i = 0; i < 3; i++) {
      const pkg = await p.produce(fields(`task-gone-000${i}`))
      expect(pkg.kind).toBe('software')
      expect(verifyFor(pkg, `task-gone-000${i}`, undefined).ok).toBe(true)
    }
    expect(p.describe()).toEqual({ tpm: false })
  })
})
