/**
 * How the discovery importers refuse a message: a thrown {@link Refusal} carries the counted reason, and
 * `handle()` turns it into an {@link ImportRejection}.
 */
import type { ImportEvent, ImportRejection } from './types.ts'
import { KithError } from '../util/errors.ts'

/** An importer refusing a discovery message; `reason` is what the rejection is counted under. */
export class Refusal extends KithError {
  static override readonly code = 'import_refused'
  static override readonly status = 400
  readonly reason: string
  constructor(reason: string, message: string) {
    super(message)
    this.name = 'Refusal'
    this.reason = reason
  }
}

/** Throws a {@link Refusal}: `refuse('bad_topic', 'state_topic has a wildcard')`. */
export function refuse(reason: string, message: string): never {
  throw new Refusal(reason, message)
}

/** What an importer's `handle()` returns. */
export type ImportResult = { events: ImportEvent[]; rejections: ImportRejection[] }

/**
 * Runs an importer's handling of one message: whatever `handle` throws becomes a rejection of `topic` (a
 * {@link Refusal} with its reason, anything else as `internal`), so no payload can throw out of `handle()`.
 *
 * @example
 * handle(topic, payload) { return importing(topic, (result) => this.#handle(topic, payload, result)) }
 */
export function importing(topic: string, handle: (result: ImportResult) => void): ImportResult {
  const result: ImportResult = { events: [], rejections: [] }
  try {
    handle(result)
  } catch (err) {
    const reason = err instanceof Refusal ? err.reason : 'internal'
    result.rejections.push({ reason, topic, message: (err as Error)?.message ?? String(err) })
  }
  return result
}
