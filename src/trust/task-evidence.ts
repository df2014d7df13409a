/**
 * What the trust plane gives the execution plane (as functions, so execution imports nothing of trust): a
 * provider's evidence packages, and a requester's local replay of a deterministic capability (Tier 2).
 */
import { randomUUID } from 'node:crypto'
import type { Capability } from '../discovery/descriptor.ts'
import type { CapabilityRegistry } from '../execution/registry.ts'
import type { EvidenceFields } from '../execution/serve.ts'
import type { Logger } from '../util/logger.ts'
import { encodeEvidence, type EvidenceProvider, hashValue } from './evidence/index.ts'

/**
 * The encoded evidence package of a task this node ran for another; undefined when it cannot make one (the
 * reply then goes without, and the requester's Tier 3 check fails it).
 *
 * @example
 * createExecution({ …, produceEvidence: evidenceProducer(evidence, log) })
 */
export function evidenceProducer(
  evidence: EvidenceProvider,
  log: Logger,
): (fields: EvidenceFields) => Promise<Uint8Array | undefined> {
  return async (fields) => {
    try {
      const pkg = await evidence.produce(
        {
          task: fields.task,
          cap: fields.cap,
          codeHash:
            fields.codeHash !== undefined ? Buffer.from(fields.codeHash, 'hex') : hashValue(fields.cap),
          inputHash: hashValue(fields.input ?? null),
          outputHash: hashValue(fields.output ?? null),
          start: fields.start,
          end: fields.end,
        },
        { tpm: fields.tpm },
      )
      return encodeEvidence(pkg)
    } catch (err) {
      log.warn({ err, task: fields.task }, 'no evidence for the task')
      return undefined
    }
  }
}

/**
 * Runs a deterministic capability on this node to check another peer's answer, when this node offers the same
 * one; undefined when it does not.
 *
 * @example
 * createVerification({ …, replayLocally: localReplay(registry, self) })
 */
export function localReplay(
  registry: Pick<CapabilityRegistry, 'get'>,
  self: string,
): (capability: Capability, input: unknown, timeoutMs: number) => Promise<unknown> | undefined {
  return (capability, input, timeoutMs) => {
    const mine = registry.get(capability.id)
    // the same id in one household is the same function (a fleet renders it from one definition)
    if (mine == null || mine.capability.deterministic !== true || capability.deterministic !== true)
      return undefined
    return mine.run(input, AbortSignal.timeout(timeoutMs), { id: randomUUID(), peer: self })
  }
}
