/**
 * The one schema for `kith.yaml`: every key a user may write, its default, what makes it valid, and (as
 * `.meta({ description })`) what it means. Defaults and descriptions live here and nowhere else: `kith init`
 * writes only what differs from them, and docs/configuration.md and `kith config explain` are generated from
 * them (src/config/explain.ts). Each section is in its own file; this one joins them and checks what spans
 * sections.
 */
import { z } from 'zod'
import { deviceConfigSchema } from './devices-schema.ts'
import { apiSection } from './schema-api.ts'
import { capabilitiesSection, executionSection } from './schema-execution.ts'
import { mqttSection } from './schema-mqtt.ts'
import { discoverySection, networkSection } from './schema-network.ts'
import { trustSection } from './schema-trust.ts'
import { CONFIG_VERSION, isLoopbackHost, isPeerId, parseHostPort } from './schema-values.ts'

export {
  CONFIG_VERSION,
  DEFAULT_API,
  DEFAULT_LISTEN,
  DEFAULT_MQTT,
  isLoopbackHost,
  isPeerId,
  parseHostPort,
} from './schema-values.ts'

export const configSchema = z
  .strictObject({
    version: z
      .literal(CONFIG_VERSION)
      .default(CONFIG_VERSION)
      .meta({ description: 'The config format version.' }),
    owner: z
      .string()
      .refine(isPeerId, 'not a valid libp2p peer id')
      .optional()
      .meta({
        description:
          'The fleet owner id (`kith fleet owner init` prints it): the key whose releases this node will accept. Changing it needs a restart.',
        examples: ['12D3KooWRpMLTTuro1jeoWLcMgFyUqP2hJGitnrZXR22yQhTTbDP'],
        format: 'peer id',
      }),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use 1-63 letters, digits, ".", "_" or "-"')
      .optional()
      .meta({
        description:
          'A name for this node, shown to its peers and on the dashboard: 1-63 letters, digits, ".", "_" or "-".',
        examples: ['hall-hub'],
      }),
    fleet: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: 'A file of shared defaults that this file overrides, key by key (docs/fleets.md).',
        examples: ['../fleet.yaml'],
      }),
    dataDir: z
      .string()
      .min(1)
      .default('.')
      .meta({ description: 'Where kith.db (SQLite: peer cache, reputation, receipts, journal) lives.' }),
    identity: z
      .string()
      .min(1)
      .default('identity.key')
      .meta({ description: "The node's Ed25519 key (PKCS#8 PEM); the file must be mode 0600." }),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .meta({ description: 'The least severe level logged; `debug` also logs stack traces.' }),
      })
      .prefault({})
      .meta({ description: 'Logging, to stderr.' }),
    api: apiSection,
    network: networkSection,
    discovery: discoverySection,
    execution: executionSection,
    capabilities: capabilitiesSection,
    mqtt: mqttSection,
    devices: z
      .array(deviceConfigSchema)
      .max(512)
      .default([])
      .meta({
        description:
          'MQTT devices described by a profile, each {id, profile, …overrides} (devices/README.md); devices ' +
          'that announce themselves are imported through mqtt.discovery instead.',
      }),
    trust: trustSection,
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
