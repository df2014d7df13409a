/**
 * The requester's tiered checks, given to delegation as its `Verification`: which tier a task gets, the
 * canary sent before it (Tier 2), and what is checked on the answer — a replay of a deterministic task on
 * this node when it has the same capability (Tier 2), the evidence package (Tier 3). Verified answers of
 * deterministic capabilities become canaries for later tasks.
 */
import type { Config } from '../config/index.ts'
import type { Capability, Descriptor, SignatureVerifier } from '../discovery/descriptor.ts'
import type { Check, Verification, VerifyArgs } from '../execution/delegate.ts'
import { CanaryBook, answerHash } from './canary.ts'
import { hashValue, ReceiptReplayGuard, requiresHardware, verifyEvidence } from './evidence/index.ts'
import { TierPolicy } from './policy.ts'

export interface VerificationInit {
  /** the trust settings in force: read on every task, so a config reload applies at once */
  trust: () => Config['trust']
  /** the verified descriptor of a peer, for its attestation key */
  descriptorOf(peer: string): Descriptor | undefined
  /**
   * Runs a deterministic capability on this node when it offers the same one (same id and code), for a
   * replay; undefined when it does not.
   */
  replayLocally?(capability: Capability, input: unknown, timeoutMs: number): Promise<unknown> | undefined
  verify?: SignatureVerifier
  /**
   * A provider's standing on a capability's topic (the reputation's): its trust, for Tier 1's threshold, and
   * whether this node caught it failing, for trying it last. Without it Tier 1 never checks.
   */
  standing?(peer: string, capability: Capability): { trust: number; caught: boolean }
  /** the canary book's randomness (which tasks get a canary, which challenge): seeded in the simulator */
  random?: () => number
}

/**
 * @example
 * const verification = createVerification({ trust: () => config.trust, descriptorOf: (p) => store.get(p)?.descriptor })
 * delegate({ ...components, verification }, request)
 */
export function createVerification(init: VerificationInit): Verification & { book: CanaryBook } {
  let trust = init.trust()
  let policy = new TierPolicy(trust.policy)
  const book = new CanaryBook({
    configured: trust.canaries,
    ...trust.canary,
    ...(init.random !== undefined ? { random: init.random } : {}),
  })
  const replayGuard = new ReceiptReplayGuard()
  /** the settings of the config in force, rebuilt only when a reload replaced them */
  const current = () => {
    const next = init.trust()
    if (next !== trust) {
      trust = next
      policy = new TierPolicy(trust.policy)
      book.configure({ configured: trust.canaries, ...trust.canary })
    }
    return trust
  }

  const evidenceCheck = (args: VerifyArgs): Check => {
    const { peer, capability, reply } = args
    if (reply.receipt === undefined)
      return { name: 'evidence', result: 'fail', peer, reason: 'the provider sent no evidence' }
    const attest = init.descriptorOf(peer)?.attest
    const verdict = verifyEvidence(reply.receipt, {
      expectedTask: args.taskId,
      expectedProvider: peer,
      expectedCap: capability.id,
      expectedInputHash: hashValue(args.input ?? null),
      expectedOutputHash: hashValue(reply.output ?? null),
      ...(attest !== undefined ? { providerDescriptorAttest: attest } : {}),
      policy: current().tpm.policy,
      requireHardware: requiresHardware(capability, current().evidence.requireHardware),
      replay: replayGuard,
      ...(init.verify !== undefined ? { verify: init.verify } : {}),
    })
    if (!verdict.ok)
      return {
        name: 'evidence',
        result: 'fail',
        peer,
        reason: `${verdict.reason}: ${verdict.message}`,
        // dated ahead of our clock: the provider's clock is off (or ours), which is not a lie about the work
        ...(verdict.reason === 'clock-skew' ? { outcome: 'error' as const } : {}),
      }
    if (verdict.kind === 'tpm' && capability.deterministic === true)
      book.learn(capability.id, args.input, reply.output)
    return {
      name: 'evidence',
      result: 'pass',
      peer,
      reason: verdict.kind === 'tpm' ? 'tpm quote' : 'software receipt',
    }
  }

  const replayCheck = async (args: VerifyArgs): Promise<Check | undefined> => {
    const { capability, peer } = args
    if (capability.deterministic !== true) return undefined
    const running = init.replayLocally?.(capability, args.input, args.timeoutMs)
    if (running === undefined) return undefined
    let mine: unknown
    try {
      mine = await running
    } catch (err) {
      return {
        name: 'replay',
        result: 'skipped',
        peer,
        reason: `the local replay failed: ${(err as Error).message}`,
      }
    }
    if (answerHash(mine) !== answerHash(args.reply.output))
      return { name: 'replay', result: 'fail', peer, reason: 'the answer differs from this node’s own run' }
    book.learn(capability.id, args.input, mine)
    return { name: 'replay', result: 'pass', peer }
  }

  return {
    book,
    plan: (capability, requested, peer) => {
      const minTrust = current().policy.minTrust
      const tier = policy.tierFor(capability, requested)
      // Tier 1 is "trust above a threshold": below it, a challenge first when there is one to send
      if (
        tier === 1 &&
        requested === 'auto' &&
        peer !== undefined &&
        init.standing !== undefined &&
        minTrust > 0 &&
        book.has(capability.id) &&
        init.standing(peer, capability).trust < minTrust
      )
        return policy.plan(2)
      return policy.plan(tier)
    },
    suspect: (peer, capability) => init.standing?.(peer, capability).caught ?? false,
    challenge: (capability) => {
      const picked = book.pick(capability.id)
      return picked === undefined
        ? undefined
        : { input: picked.input, check: (output) => book.check(picked, output) }
    },
    evidenceFor: (peer) => (init.descriptorOf(peer)?.attest.tpm === true ? 'tpm' : 'receipt'),
    learn: (capability, input, output) => {
      if (capability.deterministic === true) book.learn(capability.id, input, output)
    },
    async verify(args) {
      const checks: Check[] = []
      if (args.plan.challenge) {
        const replay = await replayCheck(args)
        if (replay !== undefined) checks.push(replay)
        else if (!args.challenged)
          checks.push({
            name: 'canary',
            result: 'skipped',
            peer: args.peer,
            reason: 'no known answer or local replay for this capability',
          })
      }
      if (args.plan.evidence) checks.push(evidenceCheck(args))
      return checks
    },
  }
}
