/**
 * The node's attestation key (AK): made once under the TPM's endorsement key, kept, and used for every quote.
 *
 * At first start: `tpm2_createek` (ECC P-256, else RSA), then `tpm2_createak` under it (ECC P-256 with
 * ECDSA/SHA-256, else RSA 2048 with RSASSA/SHA-256). Its public area (TPM2B_PUBLIC: what the descriptor
 * advertises) and its private blob (wrapped by the EK, useless outside this TPM) are saved as `ak.pub` and
 * `ak.priv` in `<dataDir>/tpm/` (mode 0600). The key is then made persistent at the configured handle, so a
 * quote is one `tpm2_quote` and leaves nothing loaded. On later starts the key at that handle is used when it
 * is the saved one; otherwise the saved blobs are loaded again under the EK (which the TPM derives from its
 * seed, so it is the same key). When the handle is taken by another key, or the owner hierarchy refuses, the
 * key is loaded from its saved context for each quote instead (and flushed after it).
 *
 * Every function here runs TPM commands: call them inside `TpmTools.exclusive`.
 */
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../util/logger.ts'
import { isAttestationKey, parsePublic, publicName, type TpmPublic } from './tpm-public.ts'
import type { TpmTools } from './tpm-tools.ts'

export const AK_PUBLIC_FILE = 'ak.pub'
export const AK_PRIVATE_FILE = 'ak.priv'
const MAX_BLOB_BYTES = 4096

export interface AttestationKey {
  /** TPM2B_PUBLIC: the descriptor's `attest.akPub` */
  public: Uint8Array
  /** the TPM name: nameAlg + hash of the public area */
  name: Uint8Array
  /** what `tpm2_quote -c` takes: the persistent handle, or the saved context file */
  ref: string
  /** false when the key is loaded per quote, which leaves a transient object to flush */
  persistent: boolean
}

export interface AttestationKeyInit {
  tools: TpmTools
  /** where the blobs are kept: `<dataDir>/tpm` */
  dir: string
  /** a private scratch directory for the tools' files */
  workDir: string
  /** the persistent handle to keep the key at */
  handle: number
  logger: Logger
}

interface Blobs {
  public: Uint8Array
  private: Uint8Array
  parsed: TpmPublic
}

const hex = (handle: number) => `0x${handle.toString(16)}`
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b)

async function readBlob(file: string): Promise<Uint8Array | undefined> {
  try {
    const info = await stat(file)
    if (!info.isFile() || info.size > MAX_BLOB_BYTES) return undefined
    return new Uint8Array(await readFile(file))
  } catch {
    return undefined
  }
}

/** Writes `data` so that no reader sees half a file, readable by the owner only. */
async function writePrivate(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`
  await writeFile(tmp, data, { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, file)
}

async function readSaved(dir: string, log: Logger): Promise<Blobs | undefined> {
  const pub = await readBlob(join(dir, AK_PUBLIC_FILE))
  const priv = await readBlob(join(dir, AK_PRIVATE_FILE))
  if (pub == null || priv == null) return undefined
  const parsed = parsePublic(pub)
  if (!parsed.ok || !isAttestationKey(parsed.value)) {
    log.warn(
      { dir },
      `the saved attestation key does not parse (${parsed.ok ? 'not an AK' : parsed.reason}); making a new one`,
    )
    return undefined
  }
  return { public: pub, private: priv, parsed: parsed.value }
}

/** The public area at `handle`, or undefined when nothing readable is there. */
async function publicAt(init: AttestationKeyInit): Promise<Uint8Array | undefined> {
  const out = join(init.workDir, 'handle.pub')
  try {
    await init.tools.run('tpm2_readpublic', ['-c', hex(init.handle), '-o', out])
    return await readBlob(out)
  } catch {
    return undefined
  }
}

async function createEk(init: AttestationKeyInit): Promise<string> {
  const ctx = join(init.workDir, 'ek.ctx')
  try {
    await init.tools.run('tpm2_createek', ['-c', ctx, '-G', 'ecc', '-u', join(init.workDir, 'ek.pub')])
  } catch (err) {
    init.logger.debug({ err }, 'no ECC endorsement key; trying RSA')
    await init.tools.run('tpm2_createek', ['-c', ctx, '-G', 'rsa', '-u', join(init.workDir, 'ek.pub')])
  }
  return ctx
}

/** Loads saved blobs under the EK, whose auth policy wants a PolicySecret session of the endorsement hierarchy. */
async function loadUnderEk(init: AttestationKeyInit, ek: string, saved: Blobs, ctx: string): Promise<void> {
  const { tools, workDir, dir } = init
  const session = join(workDir, 'session.ctx')
  await tools.run('tpm2_startauthsession', ['--policy-session', '-S', session])
  try {
    await tools.run('tpm2_policysecret', ['-S', session, '-c', 'e'])
    await tools.run('tpm2_load', [
      ...['-C', ek, '-u', join(dir, AK_PUBLIC_FILE), '-r', join(dir, AK_PRIVATE_FILE)],
      ...['-c', ctx, '-P', `session:${session}`],
    ])
  } finally {
    await tools.run('tpm2_flushcontext', [session]).catch(() => undefined)
  }
}

async function createAk(init: AttestationKeyInit, ek: string, ctx: string): Promise<Blobs> {
  const { tools, workDir, dir } = init
  const pubFile = join(workDir, AK_PUBLIC_FILE)
  const privFile = join(workDir, AK_PRIVATE_FILE)
  let lastError: unknown
  for (const [alg, scheme] of [
    ['ecc', 'ecdsa'],
    ['rsa', 'rsassa'],
  ] as const) {
    try {
      await tools.run('tpm2_createak', [
        '-C',
        ek,
        '-c',
        ctx,
        '-G',
        alg,
        '-g',
        'sha256',
        '-s',
        scheme,
        '-u',
        pubFile,
        '-r',
        privFile,
      ])
      const pub = await readBlob(pubFile)
      const priv = await readBlob(privFile)
      const parsed = parsePublic(pub)
      if (pub == null || priv == null || !parsed.ok || !isAttestationKey(parsed.value)) {
        throw new Error('tpm2_createak wrote no usable attestation key')
      }
      await writePrivate(join(dir, AK_PRIVATE_FILE), priv)
      await writePrivate(join(dir, AK_PUBLIC_FILE), pub)
      return { public: pub, private: priv, parsed: parsed.value }
    } catch (err) {
      lastError = err
      init.logger.debug({ err, alg }, 'could not create an attestation key of this kind')
    }
  }
  throw lastError
}

/**
 * The node's AK, made or reused as described above. Throws when the TPM cannot give one.
 *
 * @example
 * const ak = await tools.exclusive(() => loadOrCreateAttestationKey({ tools, dir, workDir, handle, logger }))
 */
export async function loadOrCreateAttestationKey(init: AttestationKeyInit): Promise<AttestationKey> {
  const { tools, dir, workDir, logger } = init
  await mkdir(dir, { recursive: true, mode: 0o700 })
  // without a resource manager, whatever an earlier run left loaded still takes the TPM's few object slots
  await tools.flush()
  let saved = await readSaved(dir, logger)
  const held = await publicAt(init)
  if (saved != null && held != null && same(held, saved.public)) {
    return { public: saved.public, name: publicName(saved.parsed), ref: hex(init.handle), persistent: true }
  }
  const ctx = join(workDir, 'ak.ctx')
  try {
    const ek = await createEk(init)
    if (saved != null) {
      try {
        await loadUnderEk(init, ek, saved, ctx)
      } catch (err) {
        logger.warn(
          { err },
          'the saved attestation key does not load in this TPM (cleared, or another TPM); making a new one',
        )
        saved = undefined
      }
    }
    saved ??= await createAk(init, ek, ctx)
    let persistent = false
    if (held == null) {
      try {
        // the EK and the AK still take object slots (a TPM may have only three): loading the context needs one
        await tools.flush()
        await tools.run('tpm2_evictcontrol', ['-C', 'o', '-c', ctx, hex(init.handle)])
        persistent = true
      } catch (err) {
        logger.info({ err }, 'the owner hierarchy refused a persistent attestation key; loading it per quote')
      }
    } else {
      logger.info(
        { handle: hex(init.handle) },
        'another key holds the AK handle (an earlier AK of this node? free it with tpm2_evictcontrol -C o -c <handle>); loading the attestation key per quote',
      )
    }
    const name = publicName(saved.parsed)
    return { public: saved.public, name, ref: persistent ? hex(init.handle) : ctx, persistent }
  } finally {
    await tools.flush()
  }
}
