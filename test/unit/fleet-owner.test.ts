import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createOwnerKey,
  loadOwnerKey,
  OwnerKeyError,
  signAsOwner,
  verifyOwner,
} from '../../src/fleet/owner.ts'
import { tempDir } from '../helpers.ts'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

const bytes = new TextEncoder().encode('release 1')

describe('fleet owner key', () => {
  it('creates a mode-0600 PEM key in a 0700 directory and loads the same owner id back', async () => {
    const ownerDir = join(dir, 'owner')
    const created = await createOwnerKey(ownerDir)
    expect(created.id).toMatch(/^12D3KooW/)
    expect(created.file).toBe(join(ownerDir, 'owner.key'))
    expect((await stat(created.file)).mode & 0o777).toBe(0o600)
    expect((await stat(ownerDir)).mode & 0o777).toBe(0o700)
    expect((await readFile(created.file, 'utf8')).startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true)
    const loaded = await loadOwnerKey(created.file)
    expect(loaded.id).toBe(created.id)
    expect(verifyOwner(loaded.id, bytes, signAsOwner(created, bytes))).toBe(true)
  })

  it('refuses to replace an existing key, with a hint', async () => {
    const first = await createOwnerKey(dir)
    const err = await createOwnerKey(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OwnerKeyError)
    expect((err as OwnerKeyError).code).toBe('bad_owner_key')
    expect((err as OwnerKeyError).message).toMatch(/already exists/)
    expect((err as OwnerKeyError).hint).toMatch(/keep it/)
    expect((await loadOwnerKey(first.file)).id).toBe(first.id)
  })

  it('refuses a signature by another key', async () => {
    const owner = await createOwnerKey(join(dir, 'a'))
    const other = await createOwnerKey(join(dir, 'b'))
    expect(verifyOwner(owner.id, bytes, signAsOwner(other, bytes))).toBe(false)
  })

  it('refuses tampered bytes, a cut signature and a malformed id', async () => {
    const owner = await createOwnerKey(dir)
    const sig = signAsOwner(owner, bytes)
    const tampered = Uint8Array.from(bytes)
    tampered[0] = tampered[0]! ^ 1
    expect(verifyOwner(owner.id, tampered, sig)).toBe(false)
    expect(verifyOwner(owner.id, bytes, sig.slice(1))).toBe(false)
    expect(verifyOwner('not-a-peer-id', bytes, sig)).toBe(false)
  })

  it('refuses a key file readable by group or others, saying to chmod it', async () => {
    const { file } = await createOwnerKey(dir)
    await chmod(file, 0o640)
    const err = await loadOwnerKey(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OwnerKeyError)
    expect((err as OwnerKeyError).message).toMatch(/readable by others \(mode 640\)/)
    expect((err as OwnerKeyError).hint).toBe('run chmod 600 on it')
  })

  it('names the command that creates a missing key, and refuses a file that is not a key', async () => {
    const missing = await loadOwnerKey(join(dir, 'owner.key')).catch((e: unknown) => e)
    expect((missing as OwnerKeyError).hint).toMatch(/kith fleet owner init/)
    const junk = join(dir, 'junk.key')
    await writeFile(junk, 'hello', { mode: 0o600 })
    await expect(loadOwnerKey(junk)).rejects.toThrow(/not a PEM private key/)
  })
})
