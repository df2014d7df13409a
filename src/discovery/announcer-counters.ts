/** What the announcer counts (GET /metrics and the control-bytes benchmark read these). */
import type { IntakeCounters } from './intake.ts'

/**
 * Payload bytes as kith hands them to gossipsub or the pull protocol (no gossipsub framing, signatures,
 * encryption or control traffic; the transport measure in the control-bytes benchmark has those), counted
 * the same way in both modes.
 */
export interface AnnouncerCounters {
  announced: number
  /** own notices (or, flooding, own bodies) times the peers gossipsub sent each to */
  gossipBytesOut: number
  /** others' messages passed on: size times the mesh peers other than the sender and the origin */
  forwardBytesOut: number
  /** every message taken in on the topic, once (gossipsub drops duplicates before kith sees them) */
  gossipBytesIn: number
  pullBytesOut: number
  pullBytesIn: number
  pulls: number
  pullFailures: number
  penalized: number
  /** announces of an unchanged body: state and liveness only, nothing to pull or verify */
  heartbeats: number
  /**
   * notices refused, by why: `foreign` speaks for another peer than its signer, `clock_skew` is too far from
   * our clock, `old` is not newer than the last notice applied (reordered or replayed)
   */
  noticesRejected: { malformed: number; unsigned: number; foreign: number; clock_skew: number; old: number }
  /** what taking in bodies cost: signatures checked and avoided */
  intake: IntakeCounters
  /** capabilities the body last signed could not carry (over its size or entry limits); 0 when all fit */
  capabilitiesLeft: number
  /**
   * bodies that could not be signed (what the node offers is over the wire's limits); the last body signed,
   * if any, is announced instead
   */
  signRefused: number
  /** announce rounds that failed for another reason (the state or the seq store threw); the next one retries */
  announceFailed: number
}

/** Counters at zero, sharing the wire's intake counters. */
export function newAnnouncerCounters(intake: IntakeCounters): AnnouncerCounters {
  return {
    announced: 0,
    gossipBytesOut: 0,
    forwardBytesOut: 0,
    gossipBytesIn: 0,
    pullBytesOut: 0,
    pullBytesIn: 0,
    pulls: 0,
    pullFailures: 0,
    penalized: 0,
    heartbeats: 0,
    noticesRejected: { malformed: 0, unsigned: 0, foreign: 0, clock_skew: 0, old: 0 },
    intake,
    capabilitiesLeft: 0,
    signRefused: 0,
    announceFailed: 0,
  }
}
