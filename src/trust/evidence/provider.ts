/**
 * The provider's side of Tier 3: signs a receipt for every task it runs and, where it has a TPM, adds a quote
 * whose nonce is the receipt's hash. A missing or broken TPM is logged and never stops the node: evidence then
 * goes out software-only, marked as such. Each quote is checked here before it leaves (the same TypeScript
 * verifier a requester runs), so a quote spoiled by a PCR that changed mid-command is made again once.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConfigFile } from '../../config/schema.ts'
import type { Identity } from '../../connectivity/identity.ts'
import { type Logger, silentLogger } from '../../util/logger.ts'
import { type AttestationKey, loadOrCreateAttestationKey } from './attestation-key.ts'
import type { EvidencePackage, PcrHash, TpmQuote } from './package.ts'
import { parsePcrSpec } from './quote.ts'
import { encodeReceipt, type Receipt, type ReceiptFields } from './receipt.ts'
import { makeQuote } from './tpm-quote.ts'
import { resolveTcti, TpmTools } from './tpm-tools.ts'
import { verifyQuote } from './verify-quote.ts'
import { sha256 } from '../../util/canonical.ts'

/** Quotes that fail in a row before the TPM is given up until the next start. */
const MAX_FAILURES = 3

export interface EvidenceProviderInit {
  config: { trust: Pick<ConfigFile['trust'], 'tpm'> }
  identity: Pick<Identity, 'peerId' | 'sign'>
  /** the node's data directory; the AK's blobs go to `<dataDir>/tpm/` */
  dataDir: string
  /** the component's logger, already named (`kith:trust:evidence`) by its caller; silent when absent */
  logger?: Logger
  /** environment of the tpm2-tools processes; default process.env */
  env?: NodeJS.ProcessEnv
}

export interface EvidenceProvider {
  /** finds the TPM and makes or loads the AK; never throws for a missing or broken TPM */
  start(): Promise<void>
  stop(): Promise<void>
  /** the descriptor's `attest`: `tpm` is true only while quotes can be made */
  describe(): { tpm: boolean; akPub?: Uint8Array }
  /**
   * Signs a receipt for a finished task (`provider` is this node) and quotes it when the TPM is up and
   * `options.tpm` is not false (a requester that asked for `evidence: 'receipt'` need not wait for a quote).
   */
  produce(fields: ReceiptFields, options?: { tpm?: boolean }): Promise<EvidencePackage>
}

interface TpmState {
  tools: TpmTools
  workDir: string
  ak?: AttestationKey
}

class Provider implements EvidenceProvider {
  private readonly init: EvidenceProviderInit
  private readonly log: Logger
  private readonly peer: string
  private readonly pcrs: { hash: PcrHash; pcrs: number[] }
  private tpm: TpmState | undefined
  private failures = 0

  constructor(init: EvidenceProviderInit) {
    this.init = init
    // the caller named this logger: a second child with `component` would write the key twice on every line
    this.log = init.logger ?? silentLogger()
    this.peer = init.identity.peerId.toString()
    const spec = parsePcrSpec(init.config.trust.tpm.pcrs)
    if (!spec.ok) throw new Error(`trust.tpm.pcrs: ${spec.reason}`)
    this.pcrs = { hash: spec.value.hash as PcrHash, pcrs: spec.value.pcrs }
  }

  async start(): Promise<void> {
    const config = this.init.config.trust.tpm
    const tcti = resolveTcti(config)
    if (tcti == null) {
      if (config.enabled === true) {
        this.log.error(
          'trust.tpm.enabled is true, but no TCTI is set and /dev/tpmrm0 is absent; evidence is software-only',
        )
      } else {
        this.log.info('no TPM; evidence is software-only')
      }
      return
    }
    const tools = new TpmTools({
      tcti,
      timeoutMs: config.timeoutMs,
      ...(this.init.env != null ? { env: this.init.env } : {}),
    })
    const workDir = await mkdtemp(join(tmpdir(), 'kith-tpm-'))
    const state: TpmState = { tools, workDir }
    this.tpm = state
    try {
      state.ak = await tools.exclusive(() => this.loadAk(state))
      this.log.info(
        {
          tcti,
          ak: Buffer.from(state.ak.name).toString('hex'),
          persistent: state.ak.persistent,
          pcrs: config.pcrs,
        },
        'TPM attestation key ready; evidence carries quotes',
      )
    } catch (err) {
      const level = config.enabled === true ? 'error' : 'warn'
      this.log[level]({ err, tcti }, 'the TPM does not answer as expected; evidence is software-only')
      await this.release(state, true)
    }
  }

  private loadAk(state: TpmState): Promise<AttestationKey> {
    return loadOrCreateAttestationKey({
      tools: state.tools,
      dir: join(this.init.dataDir, 'tpm'),
      workDir: state.workDir,
      handle: this.init.config.trust.tpm.akHandle,
      logger: this.log,
    })
  }

  private async release(state: TpmState, kill: boolean): Promise<void> {
    if (this.tpm === state) this.tpm = undefined
    await state.tools.close(kill)
    await rm(state.workDir, { recursive: true, force: true })
  }

  async stop(): Promise<void> {
    const state = this.tpm
    if (state != null) await this.release(state, true)
  }

  describe(): { tpm: boolean; akPub?: Uint8Array } {
    const ak = this.tpm?.ak
    return ak != null ? { tpm: true, akPub: ak.public } : { tpm: false }
  }

  async produce(fields: ReceiptFields, options: { tpm?: boolean } = {}): Promise<EvidencePackage> {
    const receipt: Receipt = { ...fields, provider: this.peer }
    const body = encodeReceipt(receipt)
    const sig = this.init.identity.sign(body)
    const state = this.tpm
    if (state?.ak == null || options.tpm === false) return { receipt, sig, kind: 'software' }
    try {
      const quote = await state.tools.exclusive(() => this.quote(state, sha256(body)))
      if (this.failures > 0) this.log.info('TPM quotes work again')
      this.failures = 0
      return { receipt, sig, kind: 'tpm', quote }
    } catch (err) {
      // stopped while quoting: not the TPM's fault
      if (this.tpm === state) await this.failed(state, err)
      return { receipt, sig, kind: 'software' }
    }
  }

  /** A quote that passed the requester's own checks here; made twice at most. */
  private async quote(state: TpmState, nonce: Uint8Array): Promise<TpmQuote> {
    // after a failure the AK may have gone (TPM reset, handle evicted): find or load it again first
    if (this.failures > 0 || state.ak == null) {
      const before = state.ak?.public
      state.ak = await this.loadAk(state)
      if (before != null && !Buffer.from(before).equals(state.ak.public)) {
        this.log.warn(
          'the attestation key changed (TPM cleared?); describe() has the new one for the descriptor',
        )
      }
    }
    const ak = state.ak
    let reason = ''
    for (let attempt = 0; attempt < 2; attempt++) {
      const quote = await makeQuote(
        { tools: state.tools, ak, workDir: state.workDir, pcrs: this.pcrs },
        nonce,
      )
      const check = verifyQuote(quote, { akPub: ak.public, nonce })
      if (check.ok) return quote
      reason = `${check.reason}: ${check.message}`
      // a PCR extended between the tools' PCR read and the quote: the next try reads them anew
      if (check.reason !== 'pcr-digest') break
    }
    throw new Error(`the TPM's quote fails its own check (${reason})`)
  }

  private async failed(state: TpmState, err: unknown): Promise<void> {
    this.failures++
    if (this.failures === 1) this.log.warn({ err }, 'TPM quote failed; this evidence is software-only')
    if (this.failures >= MAX_FAILURES && this.tpm === state) {
      this.log.error(
        { err, failures: this.failures },
        'TPM quotes keep failing; software-only evidence until restart',
      )
      await this.release(state, false)
    }
  }
}

/**
 * The evidence provider of a node.
 *
 * @example
 * const evidence = createEvidenceProvider({ config, identity, dataDir: config.paths.dataDir, logger })
 * await evidence.start()
 * descriptor.attest = evidence.describe()
 * reply.receipt = encodeEvidence(await evidence.produce({ task, cap, codeHash, inputHash, outputHash, start, end }))
 */
export function createEvidenceProvider(init: EvidenceProviderInit): EvidenceProvider {
  return new Provider(init)
}
