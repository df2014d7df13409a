/**
 * The one schema for `kith.yaml`: every key a user may write, its default, and what makes it valid.
 * Defaults live here and nowhere else; `kith init` writes only what differs from them.
 */
import { isIP } from 'node:net'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { deviceConfigSchema } from '../devices/profile.ts'
import { DEVICE_ID } from '../devices/types.ts'

export const CONFIG_VERSION = 1
export const DEFAULT_API = '127.0.0.1:7700'
export const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/7701'
export const DEFAULT_MQTT = '127.0.0.1:1883'

function isMultiaddr(value: string): boolean {
  try {
    multiaddr(value)
    return true
  } catch {
    return false
  }
}

/** True when `value` parses as a libp2p peer id. */
export function isPeerId(value: string): boolean {
  try {
    peerIdFromString(value)
    return true
  } catch {
    return false
  }
}

/** Splits `HOST:PORT` (IPv6 hosts in brackets); undefined when the text is not of that form. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value)
  if (match == null) return undefined
  const host = match[1] ?? match[2] ?? ''
  const port = Number(match[3])
  if (port > 65535) return undefined
  if (match[1] != null && isIP(host) !== 6) return undefined
  return { host, port }
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

const hostPort = z.string().refine((v) => parseHostPort(v) != null, 'expected HOST:PORT, e.g. 127.0.0.1:7700')
const multiaddrString = z.string().refine(isMultiaddr, 'not a valid multiaddr')
const peerIdString = z.string().refine(isPeerId, 'not a valid libp2p peer id')
const dialableMultiaddr = multiaddrString.refine(
  (v) => /\/p2p\/[^/]+$/.test(v),
  'a bootstrap address must end in /p2p/<peer id>',
)
const jsonSchema = z.record(z.string(), z.unknown())
const topicPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,3}$/, 'a topic prefix without wildcards')
const capabilityId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'use 1-64 lowercase letters, digits, ".", "_" or "-"')

/** One PCR bank and its PCRs, as tpm2-tools write it: `sha256:0,1,2,3,4,5,6,7`. */
const pcrSpec = /^(sha1|sha256|sha384|sha512):(\d|1\d|2[0-3])(,(\d|1\d|2[0-3]))*$/
const pcrKey = /^(sha1|sha256|sha384|sha512):(\d|1\d|2[0-3])$/
const PCR_HEX_LENGTH = { sha1: 40, sha256: 64, sha384: 96, sha512: 128 } as const

/** A verification tier (DESIGN.md, "Tiers"). */
const tierValue = z.union([z.literal(1), z.literal(2), z.literal(3)])

const capability = z.strictObject({
  id: capabilityId,
  kind: z.literal('script'),
  title: z.string().min(1).max(120),
  description: z.string().max(2000).default(''),
  tags: z.array(z.string().min(1).max(40)).max(32).default([]),
  risk: z.enum(['low', 'medium', 'high']).default('low'),
  script: z.string().min(1),
  input: jsonSchema.default({}),
  output: jsonSchema.default({}),
  deterministic: z.boolean().default(false),
  /** sensor capabilities (`<device>.<sensor>`) the script may read with `await device.read(id)` */
  sensors: z.array(capabilityId).max(64).default([]),
  /** percent; below it, on battery power and not charging, the capability is withdrawn from the descriptor */
  minBattery: z.number().min(0).max(100).optional(),
  /** load per core (1-minute load average / cores); above it the capability is withdrawn */
  maxLoad: z.number().positive().optional(),
})

const api = z.strictObject({
  listen: hostPort.default(DEFAULT_API),
  token: z.string().min(16, 'a token must be at least 16 characters').optional(),
  tokenFile: z.string().min(1).optional(),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
  maxConnections: z.number().int().min(1).max(4096).default(64),
  /** sockets at once from one host other than this machine; a quarter of maxConnections stays for this machine */
  maxConnectionsPerAddress: z.number().int().min(1).max(4096).default(16),
  /** a socket that sends no byte for this long after connecting is closed (idle sockets must not fill the cap) */
  firstByteTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
})

const network = z.strictObject({
  listen: z.array(multiaddrString).min(1).max(16).default([DEFAULT_LISTEN]),
  announce: z.array(multiaddrString).max(16).default([]),
  bootstrap: z.array(dialableMultiaddr).max(64).default([]),
  mdns: z.boolean().default(true),
  dht: z.enum(['off', 'client', 'server']).default('client'),
  relay: z
    .strictObject({
      client: z.boolean().default(true),
      server: z.boolean().default(false),
    })
    .prefault({}),
  maxConnections: z.number().int().min(2).max(1024).default(32),
  maxIncomingPendingConnections: z.number().int().min(1).max(256).default(8),
  maxParallelDials: z.number().int().min(1).max(64).default(4),
  peerCacheSize: z.number().int().min(0).max(10_000).default(128),
})

const mqtt = z
  .strictObject({
    /** `embedded` runs an MQTT broker inside the node; `mqtt://` / `mqtts://host:port` uses that broker; `off` no MQTT */
    broker: z
      .union([
        z.literal('embedded'),
        z.literal('off'),
        z
          .string()
          .regex(/^mqtts?:\/\/[^\s/]+(:\d{1,5})?\/?$/, 'expected embedded, off or mqtt(s)://host:port'),
      ])
      .default('embedded'),
    /** where the embedded broker listens; beyond loopback it requires username and password */
    listen: hostPort.default(DEFAULT_MQTT),
    /** credentials: the embedded broker demands them from clients, an external one is sent them */
    username: z.string().min(1).max(256).optional(),
    password: z.string().min(1).max(1024).optional(),
    passwordFile: z.string().min(1).optional(),
    /** TLS for an `mqtts://` broker: PEM file paths */
    tls: z
      .strictObject({
        ca: z.string().min(1).optional(),
        cert: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional(),
    /** client id at the broker; default `kith-` and the start of the peer id (a persistent session needs it stable) */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
    /** MQTT 5 where the broker allows it (`auto` tries 5, then 3.1.1) */
    protocol: z.enum(['auto', '5', '3.1.1']).default('auto'),
    /** commands kept while the broker is unreachable; beyond it a command fails at once */
    outbox: z.number().int().min(0).max(100_000).default(1000),
    /** the largest message accepted from a device (bytes) */
    maxPayloadBytes: z
      .number()
      .int()
      .min(256)
      .max(1024 * 1024)
      .default(64 * 1024),
    /** messages per second one topic may send before the rest are dropped (token bucket, burst 4×) */
    maxRatePerTopic: z.number().positive().max(100_000).default(50),
    /** clients the embedded broker accepts at once */
    maxClients: z.number().int().min(1).max(10_000).default(256),
    /** MQTT discovery conventions to import devices from */
    discovery: z
      .strictObject({
        homeassistant: z.boolean().default(true),
        homeassistantPrefix: topicPrefix.default('homeassistant'),
        homie: z.boolean().default(true),
        homiePrefix: topicPrefix.default('homie'),
        /** Tasmota's own discovery (`tasmota/discovery/<MAC>/config` and `…/sensors`), what default builds publish */
        tasmota: z.boolean().default(true),
        tasmotaPrefix: topicPrefix.default('tasmota/discovery'),
        /** devices imported at most */
        maxDevices: z.number().int().min(0).max(4096).default(256),
        /**
         * Home Assistant's birth message, sent when kith connects so device software (Zigbee2MQTT, Tasmota,
         * ESPHome) announces its devices again; `false` sends none
         */
        birth: z
          .union([
            z.literal(false),
            z.strictObject({
              topic: z
                .string()
                .min(1)
                .max(256)
                .regex(/^[^+#\0]+$/, 'a topic to publish to: no wildcards')
                .default('homeassistant/status'),
              payload: z.string().max(256).default('online'),
            }),
          ])
          .default({ topic: 'homeassistant/status', payload: 'online' }),
      })
      .prefault({}),
    /** per imported device id: risk overrides, who may run its high-risk actions, or `ignore: true` */
    imported: z
      .record(
        z.string().regex(DEVICE_ID, 'not a device id'),
        z.strictObject({
          risk: z.enum(['low', 'medium', 'high']).optional(),
          allow: z.array(peerIdString).max(256).optional(),
          ignore: z.boolean().optional(),
        }),
      )
      .default({}),
    /** extra folders of device profiles, besides the built-in ones */
    profiles: z.array(z.string().min(1)).max(16).default([]),
  })
  .refine((m) => m.password == null || m.passwordFile == null, {
    path: ['passwordFile'],
    message: 'give mqtt.password or mqtt.passwordFile, not both',
  })

export const configSchema = z
  .strictObject({
    version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use 1-63 letters, digits, ".", "_" or "-"')
      .optional(),
    fleet: z.string().min(1).optional(),
    dataDir: z.string().min(1).default('.'),
    identity: z.string().min(1).default('identity.key'),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    api: z.preprocess((v) => (typeof v === 'string' ? { listen: v } : v), api).prefault({}),
    network: network.prefault({}),
    discovery: z
      .strictObject({
        /** how long a descriptor stays live without a refresh (ms); refreshed every ttl/3 */
        ttl: z.number().int().min(3_000).max(3_600_000).default(15_000),
        /** `flood` gossips whole descriptors: only a baseline for benchmarks */
        mode: z.enum(['bodyless', 'flood']).default('bodyless'),
        /**
         * descriptor wire: 2 (summary + catalog pages, and a fitted v1 copy for v1-only peers) or 1 (a single
         * 16 KiB descriptor, as before; capabilities that do not fit are left out). `flood` speaks v1.
         */
        version: z.union([z.literal(1), z.literal(2)]).default(2),
        maxDescriptors: z.number().int().min(16).max(100_000).default(10_000),
        maxClockSkew: z.number().int().min(0).max(600_000).default(30_000),
        sampleInterval: z.number().int().min(500).max(600_000).default(5_000),
      })
      .prefault({}),
    execution: z
      .strictObject({
        /** tasks run at once; absent: the machine's core count (os.availableParallelism()) */
        maxConcurrent: z.number().int().min(1).max(256).optional(),
        /** tasks waiting for a slot; beyond it a request is answered `busy` at once */
        maxQueue: z.number().int().min(0).max(1024).default(16),
        /** deadline (ms) given to a task whose request states none */
        taskTimeout: z.number().int().min(100).max(600_000).default(10_000),
        /** the longest deadline (ms) a request may ask for; longer ones are denied */
        maxTaskTimeout: z.number().int().min(100).max(600_000).default(60_000),
        /** the largest task input (encoded bytes) accepted */
        maxInputBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(256 * 1024),
        /** cooperation rules per requesting peer */
        perPeer: z
          .strictObject({
            /** tasks per second a peer may send, sustained (token bucket refill) */
            ratePerSec: z.number().positive().max(10_000).default(10),
            /** tasks a peer may send in a burst (token bucket size) */
            burst: z.number().int().min(1).max(100_000).default(20),
            /** tasks of one peer running or queued here at once */
            maxConcurrent: z.number().int().min(1).max(256).default(4),
          })
          .prefault({}),
        /** when set, only these peers (and trust.pretrusted) may delegate tasks to this node */
        allowPeers: z.array(peerIdString).max(1024).optional(),
        /**
         * The QuickJS sandbox that runs script capabilities. Defaults are the sandbox's own
         * (src/execution/sandbox/constants.ts, SANDBOX_DEFAULTS); the bounds are its ceilings.
         */
        sandbox: z
          .strictObject({
            /**
             * heap of one task (bytes); each worker's engine reserves this plus about 6 MiB, and at least
             * 16 MiB (the QuickJS build's minimum): below 10 MiB the hard cap stays that of a 10 MiB heap
             */
            memoryBytes: z
              .number()
              .int()
              .min(1024 * 1024)
              .max(512 * 1024 * 1024)
              .default(16 * 1024 * 1024),
            /** QuickJS stack of one task (bytes); above 256 KiB Node's own stack could overflow first */
            stackBytes: z
              .number()
              .int()
              .min(16 * 1024)
              .max(256 * 1024)
              .default(256 * 1024),
            /** longest a script runs (ms, host calls included); absent: execution.maxTaskTimeout */
            timeoutMs: z.number().int().min(10).max(600_000).optional(),
            /** largest output (bytes of JSON); a reply frame holds at most 1 MiB */
            maxOutputBytes: z
              .number()
              .int()
              .min(1024)
              .max(1024 * 1024)
              .default(256 * 1024),
            /** worker threads running scripts; absent: execution.maxConcurrent, else the core count */
            workers: z.number().int().min(1).max(64).optional(),
            /**
             * workers kept running once idle, when the node offers script capabilities (with none, no worker
             * stays); the others end after idleTimeout and start again on demand, giving back ~15 MiB each
             */
            warmWorkers: z.number().int().min(0).max(64).default(1),
            /** how long a worker beyond warmWorkers may sit idle before it ends (ms) */
            idleTimeout: z.number().int().min(1_000).max(86_400_000).default(60_000),
            /** cap of each worker's V8 heap (MiB; the scripts' own heaps are outside it); a fail-safe */
            workerHeapMb: z.number().int().min(32).max(4096).default(256),
          })
          .prefault({}),
      })
      .refine((e) => e.taskTimeout <= e.maxTaskTimeout, {
        path: ['taskTimeout'],
        message: 'must not exceed execution.maxTaskTimeout',
      })
      .refine((e) => e.sandbox.timeoutMs == null || e.sandbox.timeoutMs <= e.maxTaskTimeout, {
        path: ['sandbox', 'timeoutMs'],
        message: 'must not exceed execution.maxTaskTimeout',
      })
      .prefault({}),
    capabilities: z.array(capability).max(256).default([]),
    mqtt: mqtt.prefault({}),
    devices: z.array(deviceConfigSchema).max(512).default([]),
    trust: z
      .strictObject({
        pretrusted: z.array(peerIdString).max(256).default([]),
        /**
         * Tier 1 reputation (src/trust/reputation/): multi-topic EigenTrust over this node's own records and
         * the opinions its peers gossip. Defaults are REPUTATION_DEFAULTS (src/trust/reputation/constants.ts).
         */
        reputation: z
          .strictObject({
            /** share of trust that always flows back to the pre-trusted peers (EigenTrust's a) */
            alpha: z.number().min(0.01).max(0.9).default(0.15),
            /** an observed outcome weighs half after this long (ms) */
            halfLife: z
              .number()
              .int()
              .min(60_000)
              .max(365 * 24 * 3_600_000)
              .default(7 * 24 * 3_600_000),
            /** how often global trust is recomputed (ms); also soon after new evidence */
            recomputeInterval: z.number().int().min(1_000).max(3_600_000).default(30_000),
            /** trust of a peer nobody has evidence about yet, in [0, 1): low, not zero */
            newcomer: z.number().min(0).max(0.5).default(0.05),
            /** peers whose records are kept; the least recently seen are forgotten first */
            maxPeers: z.number().int().min(16).max(100_000).default(1000),
            /** how often this node gossips its opinions (ms); also early after a significant change */
            opinionInterval: z.number().int().min(1_000).max(3_600_000).default(300_000),
          })
          .prefault({}),
        /** the TPM 2.0 behind Tier 3 evidence: quotes made through tpm2-tools (src/trust/evidence/) */
        tpm: z
          .strictObject({
            /** `auto`: use a TPM when one is configured or /dev/tpmrm0 exists; `false`: never; `true`: expected (an error is logged without one) */
            enabled: z.union([z.literal('auto'), z.boolean()]).default('auto'),
            /** tpm2-tss TCTI, e.g. `device:/dev/tpmrm0` or `swtpm:host=127.0.0.1,port=2321`; default /dev/tpmrm0 when it exists */
            tcti: z
              .string()
              .regex(/^[a-z][a-z0-9_-]{0,31}(:\S{1,200})?$/, 'expected a TCTI such as device:/dev/tpmrm0')
              .optional(),
            /** the PCRs every quote covers: one bank, PCRs 0-23 */
            pcrs: z
              .string()
              .regex(pcrSpec, 'expected one bank and its PCRs 0-23, e.g. sha256:0,1,2,3,4,5,6,7')
              .default('sha256:0,1,2,3,4,5,6,7'),
            /** known-good PCR values per fleet: `{"sha256:7": [hex, …]}`; absent: any values (the quote must still verify) */
            policy: z
              .record(
                z.string().regex(pcrKey, 'expected a PCR such as sha256:7'),
                z.array(z.string()).min(1).max(64),
              )
              .optional(),
            /** deadline of one tpm2-tools command (ms) */
            timeoutMs: z.number().int().min(100).max(120_000).default(5_000),
            /** the persistent handle the attestation key is kept at (owner range); when taken or refused, the key is loaded per quote */
            akHandle: z.number().int().min(0x81000000).max(0x817fffff).default(0x81014b49),
          })
          .superRefine((tpm, ctx) => {
            for (const [key, values] of Object.entries(tpm.policy ?? {})) {
              const size = PCR_HEX_LENGTH[key.split(':')[0] as keyof typeof PCR_HEX_LENGTH]
              values.forEach((v, i) => {
                if (!new RegExp(`^[0-9a-fA-F]{${size}}$`).test(v)) {
                  ctx.addIssue({
                    code: 'custom',
                    path: ['policy', key, i],
                    message: `expected ${size} hex digits`,
                  })
                }
              })
            }
          })
          .prefault({}),
        evidence: z
          .strictObject({
            /** capability ids or tags (globs: `*`, `?`) whose results must carry TPM evidence; software-only evidence is refused for them */
            requireHardware: z.array(z.string().min(1).max(80)).max(256).default([]),
          })
          .prefault({}),
        /** which tier a task gets (DESIGN.md, "Tiers"): by risk, overridden per capability */
        policy: z
          .strictObject({
            /** the tier of a task that asks for `auto`, by the capability's risk */
            risk: z
              .strictObject({
                low: tierValue.default(1),
                medium: tierValue.default(2),
                high: tierValue.default(3),
              })
              .prefault({}),
            /** tier per capability id or tag (globs: `*`, `?`), over the risk's; the first match wins */
            capabilities: z.record(z.string().min(1).max(80), tierValue).default({}),
            /**
             * Tier 1's threshold (DESIGN.md: "global trust … above a threshold"): an `auto` task at Tier 1 to
             * a provider trusted less than this on the capability's topic gets a canary first, as at Tier 2,
             * when this node holds one. 0: Tier 1 never checks.
             */
            minTrust: z.number().min(0).max(1).default(0.3),
          })
          .prefault({}),
        /**
         * Tier 2 challenges with known answers, per capability: sent before a real task, exactly like one. A
         * provider that answers wrongly or late is penalised and the task goes to the next candidate.
         */
        canaries: z
          .array(z.strictObject({ capability: capabilityId, input: z.unknown(), output: z.unknown() }))
          .max(1024)
          .default([]),
        canary: z
          .strictObject({
            /** verified answers of deterministic capabilities kept as further canaries, per capability */
            learn: z.number().int().min(0).max(256).default(16),
            /** share of Tier 2 tasks preceded by a canary (1: every one) */
            rate: z.number().min(0).max(1).default(1),
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const bind = parseHostPort(config.api.listen)
    if (
      bind != null &&
      !isLoopbackHost(bind.host) &&
      config.api.token == null &&
      config.api.tokenFile == null
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'listen'],
        message: 'the API listens beyond loopback, so api.token or api.tokenFile is required',
      })
    }
    const mqttBind = parseHostPort(config.mqtt.listen)
    if (
      config.mqtt.broker === 'embedded' &&
      mqttBind != null &&
      !isLoopbackHost(mqttBind.host) &&
      (config.mqtt.username == null || (config.mqtt.password == null && config.mqtt.passwordFile == null))
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'listen'],
        message:
          'the embedded MQTT broker listens beyond loopback, so mqtt.username and mqtt.password (or passwordFile) are required',
      })
    }
    const seen = new Set<string>()
    config.capabilities.forEach((cap, i) => {
      if (seen.has(cap.id))
        ctx.addIssue({ code: 'custom', path: ['capabilities', i, 'id'], message: `duplicate id "${cap.id}"` })
      seen.add(cap.id)
    })
  })

/** A validated config as written: paths still relative to the file they came from. */
export type ConfigFile = z.output<typeof configSchema>
export type CapabilityConfig = ConfigFile['capabilities'][number]
