/**
 * How the discovery importers refuse a message: a thrown {@link Refusal} carries the counted reason, and
 * `handle()` turns it into an {@link ImportRejection}.
 */
import type { ImportEvent, ImportRejection } from './types.ts'

export class Refusal extends Error {
  readonly reason: string
  constructor(reason: string, message: string) {
    super(message)
    this.reason = reason
  }
}

/** Throws a {@link Refusal}: `refuse('bad_topic', 'state_topic has a wildcard')`. */
export function refuse(reason: string, message: string): never {
  throw new Refusal(reason, message)
}

/** What an importer's `handle()` returns. */
export type ImportResult = { events: ImportEvent[]; rejections: ImportRejection[] }
