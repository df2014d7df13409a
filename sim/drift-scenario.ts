/**
 * The schema of scenario 2, capability drift and TTL (`kind: drift`): every node's true state and offer
 * drift at given rates; household requesters select providers with kith's matcher from what they heard;
 * each TTL of the grid is run once per advertising mode (kith's bodyless notices, or flooded bodies) and per
 * drift scale, on the same seeds. Every field is optional; the defaults are kith's own where kith has one.
 */
import { z } from 'zod'
import { ANNOUNCER_DEFAULTS } from '../src/discovery/announce-decision.ts'
import { SAMPLER_DEFAULTS } from '../src/discovery/sampler.ts'
import { MAX_CATALOGUE } from './catalogue.ts'

export const ADVERTISING = ['kith', 'flood', 'periodic'] as const
/**
 * `kith`: bodyless notices and pulls (the announcer's `bodyless` mode); `flood`: its `flood` mode;
 * `periodic`: an ablation, flooded bodies every ttl/3 only, with no announce on a band crossing or an offer
 * change (plain soft state, as a TTL-only design would do)
 */
export type Advertising = (typeof ADVERTISING)[number]

const ms = z.number().min(0)
const fraction = z.number().min(0).max(1)
/** events per node per minute */
const rate = z.number().min(0).max(600)

export const driftScenario = z
  .strictObject({
    kind: z.literal('drift'),
    name: z.string().min(1).default('ttl-drift'),
    /** every node; each provides, and `requesters` of them also select */
    nodes: z.number().int().min(2).max(10_000).default(100),
    /** household nodes: hold kith's store, intake and matcher, select providers, and never go offline */
    requesters: z.number().int().min(1).default(10),
    /** descriptor TTLs to compare (ms); both modes refresh every max(1 s, ttl/3), as the announcer does */
    ttlsMs: z
      .array(z.number().int().min(1_000).max(3_600_000))
      .min(1)
      .default([5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000]),
    modes: z.array(z.enum(ADVERTISING)).min(1).default(['kith', 'flood']),
    /** how the truth drifts; each kind of change is a Poisson process of its own per node */
    drift: z
      .strictObject({
        /** load changes per node per minute */
        load: rate.default(1),
        /** share of load changes that go above kith's loadHigh band (BAND_DEFAULTS.loadHighEnter) */
        busyShare: fraction.default(0.3),
        /** battery readings that change, per battery-powered node per minute */
        battery: rate.default(0.5),
        /** share of battery changes that go below kith's batteryLow band (BAND_DEFAULTS.batteryLowEnter) */
        lowShare: fraction.default(0.3),
        /** share of nodes on battery power (never charging) */
        batteryShare: fraction.default(0.3),
        /** capabilities withdrawn or offered again, per node per minute (one of its own, toggled) */
        withdraw: rate.default(0.2),
        /** times a node goes offline, per node per minute while online; requesters never do */
        offline: rate.default(0.1),
        /** mean time offline (ms); the node then restarts and signs a new body */
        meanDownMs: ms.default(60_000),
      })
      .prefault({}),
    /** every drift rate above is multiplied by each of these: one axis of the grid */
    driftScales: z.array(z.number().min(0).max(100)).min(1).default([1]),
    capabilities: z
      .strictObject({
        count: z.number().int().min(2).max(MAX_CATALOGUE).default(12),
        perNode: z.number().int().min(1).max(MAX_CATALOGUE).default(3),
        /** Zipf exponent of how often each capability is asked for */
        zipf: z.number().min(0).max(4).default(1),
      })
      .prefault({}),
    selection: z
      .strictObject({
        /** mean gap between two selections of one requester (ms; exponential gaps) */
        intervalMs: z.number().min(10).default(1_000),
      })
      .prefault({}),
    /** how often a node reads its own state (the StateSampler's interval, ms) */
    samplerMs: z.number().int().min(100).default(SAMPLER_DEFAULTS.intervalMs),
    announcer: z
      .strictObject({
        /** least gap between two announces of one node (ms) */
        minIntervalMs: ms.default(ANNOUNCER_DEFAULTS.minIntervalMs),
        /** pulls one node runs at once */
        maxConcurrentPulls: z.number().int().min(1).default(ANNOUNCER_DEFAULTS.maxConcurrentPulls),
      })
      .prefault({}),
    links: z
      .strictObject({
        latencyMs: z.strictObject({ min: ms, max: ms }).default({ min: 5, max: 60 }),
        jitterMs: ms.default(3),
        loss: fraction.default(0.01),
        /** gossip and pulls run over TCP: a loss is retransmitted (`stream`) rather than dropped */
        transport: z.enum(['stream', 'datagram']).default('stream'),
      })
      .prefault({}),
    /** virtual time before measuring: every store fills (ms) */
    warmupMs: ms.default(30_000),
    /** virtual time measured after the warm-up (ms) */
    durationMs: z.number().min(1_000).default(300_000),
    seeds: z.number().int().min(1).max(1000).default(5),
    seed: z.number().int().min(0).default(1),
  })
  .superRefine((s, ctx) => {
    if (s.requesters > s.nodes)
      ctx.addIssue({ code: 'custom', path: ['requesters'], message: 'more than nodes' })
    if (s.links.latencyMs.max < s.links.latencyMs.min)
      ctx.addIssue({ code: 'custom', path: ['links', 'latencyMs'], message: 'max is below min' })
    if (s.capabilities.perNode > s.capabilities.count)
      ctx.addIssue({ code: 'custom', path: ['capabilities', 'perNode'], message: 'more than count' })
  })

export type DriftScenario = z.output<typeof driftScenario>
