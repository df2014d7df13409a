import { generateKeyPairSync } from 'node:crypto'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createIdentity, IdentityError, loadIdentity } from '../../src/connectivity/identity.ts'
import { tempDir } from '../helpers.ts'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

describe('identity', () => {
  it('creates a mode-0600 PEM key and loads the same peer id back', async () => {
    const file = join(dir, 'identity.key')
    const created = await createIdentity(file)
    const loaded = await loadIdentity(file)
    expect(loaded.peerId.toString()).toBe(created.peerId.toString())
    expect(loaded.peerId.toString()).toMatch(/^12D3KooW/)
    expect((await readFile(file, 'utf8')).startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true)
  })

  it('signs with a key whose libp2p public key verifies the signature', async () => {
    const id = await createIdentity(join(dir, 'identity.key'))
    const data = new TextEncoder().encode('hello')
    const sig = id.sign(data)
    expect(await id.privateKey.publicKey.verify(data, sig)).toBe(true)
    expect(Buffer.from(id.privateKey.publicKey.raw)).toEqual(Buffer.from(id.publicKey))
  })

  it('refuses to replace an existing identity', async () => {
    const file = join(dir, 'identity.key')
    await createIdentity(file)
    await expect(createIdentity(file)).rejects.toThrow(/already exists/)
  })

  it('refuses a key file readable by others', async () => {
    const file = join(dir, 'identity.key')
    await createIdentity(file)
    await chmod(file, 0o644)
    await expect(loadIdentity(file)).rejects.toThrow(/readable by others \(mode 644\)/)
  })

  it('gives a clear error for a missing key, never a new one', async () => {
    const file = join(dir, 'identity.key')
    await expect(loadIdentity(file)).rejects.toThrow(IdentityError)
    await expect(loadIdentity(file)).rejects.toThrow(/kith init/)
  })

  it('rejects a corrupt key file', async () => {
    const file = join(dir, 'identity.key')
    await writeFile(file, '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n', {
      mode: 0o600,
    })
    await expect(loadIdentity(file)).rejects.toThrow(/corrupt/)
  })

  it('rejects a key of another type', async () => {
    const file = join(dir, 'identity.key')
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
    await expect(loadIdentity(file)).rejects.toThrow(/holds a ec key; kith needs Ed25519/)
  })
})
