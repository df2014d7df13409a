/** `mqtt:`: the broker kith runs or uses, its limits, and the discovery conventions devices are imported by. */
import { z } from 'zod'
import { DEVICE_ID } from '../devices/types.ts'
import { DEFAULT_MQTT, hostPort, peerIdString, riskValue, topicPrefix } from './schema-values.ts'

const int = (min: number, max: number) => z.number().int().min(min).max(max)

const flag = (description: string) => z.boolean().default(true).meta({ description })
const prefix = (value: string) =>
  topicPrefix.default(value).meta({ description: 'The topic prefix that convention publishes under.' })

const discovery = z
  .strictObject({
    homeassistant: flag('Import Home Assistant MQTT discovery (<prefix>/…/config).'),
    homeassistantPrefix: prefix('homeassistant'),
    homie: flag('Import Homie v5 (<prefix>/5/…) and v4 devices.'),
    homiePrefix: prefix('homie'),
    tasmota: flag(
      "Import Tasmota's own discovery (<prefix>/<MAC>/config and …/sensors), what default builds publish.",
    ),
    tasmotaPrefix: prefix('tasmota/discovery'),
    maxDevices: int(0, 4096).default(256).meta({ description: 'Devices imported at most.' }),
    birth: z
      .union([
        z.literal(false),
        z.strictObject({
          topic: z
            .string()
            .min(1)
            .max(256)
            .regex(/^[^+#\0]+$/, 'a topic to publish to: no wildcards')
            .default('homeassistant/status')
            .meta({ description: 'Where the birth message is published.' }),
          payload: z.string().max(256).default('online').meta({ description: 'What it says.' }),
        }),
      ])
      .default({ topic: 'homeassistant/status', payload: 'online' })
      .meta({
        description:
          "Home Assistant's birth message, sent when kith connects so device software (Zigbee2MQTT, Tasmota, " +
          'ESPHome) announces its devices again; `false` sends none.',
      }),
  })
  .prefault({})
  .meta({ description: 'The MQTT discovery conventions devices are imported from.' })

const tls = z
  .strictObject({
    ca: z.string().min(1).optional().meta({ description: 'PEM file of the CA that signed the broker.' }),
    cert: z.string().min(1).optional().meta({ description: 'PEM file of the client certificate.' }),
    key: z.string().min(1).optional().meta({ description: 'PEM file of the client key.' }),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .meta({ description: 'Refuse a broker whose certificate does not verify.' }),
  })
  .optional()
  .meta({ description: 'TLS for an mqtts:// broker (paths relative to this file).' })

const imported = z
  .record(
    z.string().regex(DEVICE_ID, 'not a device id'),
    z.strictObject({
      risk: riskValue.optional().meta({ description: "Overrides the risk of the device's actions." }),
      allow: z.array(peerIdString).max(256).optional().meta({
        description: 'Peers (besides this node and trust.pretrusted) that may run its high-risk actions.',
      }),
      ignore: z.boolean().optional().meta({ description: '`true`: do not import this device.' }),
    }),
  )
  .default({})
  .meta({
    description: 'Per imported device id: risk overrides, who may run its high-risk actions, or ignore it.',
  })

const mqtt = z
  .strictObject({
    broker: z
      .union([
        z.literal('embedded'),
        z.literal('off'),
        z
          .string()
          .regex(/^mqtts?:\/\/[^\s/]+(:\d{1,5})?\/?$/, 'expected embedded, off or mqtt(s)://host:port'),
      ])
      .default('embedded')
      .meta({
        description:
          '`embedded` runs an MQTT broker (aedes) inside the node; mqtt://host:port or mqtts://host:port uses ' +
          'that broker; `off`: no MQTT.',
        examples: ['mqtt://192.168.1.5:1883'],
      }),
    listen: hostPort.default(DEFAULT_MQTT).meta({
      description:
        'Where the embedded broker listens; beyond loopback mqtt.username and a password are required. Two ' +
        'nodes on one machine need their own.',
    }),
    username: z.string().min(1).max(256).optional().meta({
      description:
        'The embedded broker demands it (with the password) from clients; an external one is sent it.',
    }),
    password: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .meta({ description: 'The password that goes with username.' }),
    passwordFile: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: 'A file whose first line is the password, instead of mqtt.password.',
        examples: ['mqtt.password'],
      }),
    tls,
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional()
      .meta({
        description:
          'Client id at the broker. Absent: kith- and the start of the peer id (a persistent session needs it stable).',
      }),
    protocol: z
      .enum(['auto', '5', '3.1.1'])
      .default('auto')
      .meta({ description: 'MQTT version; auto tries 5 where the broker speaks it, else 3.1.1.' }),
    outbox: int(0, 100_000).default(1000).meta({
      description: 'Commands held while the broker is unreachable; beyond it a command fails at once.',
    }),
    maxPayloadBytes: int(256, 1024 * 1024)
      .default(64 * 1024)
      .meta({
        description:
          'The largest message accepted from a device (bytes); larger ones are dropped and counted.',
      }),
    maxRatePerTopic: z.number().positive().max(100_000).default(50).meta({
      description: 'Messages per second one topic may send (burst 4×); the excess is dropped and counted.',
    }),
    maxClients: int(1, 10_000)
      .default(256)
      .meta({ description: 'Clients the embedded broker accepts at once.' }),
    discovery,
    imported,
    profiles: z
      .array(z.string().min(1))
      .max(16)
      .default([])
      .meta({ description: 'More folders of device profiles, besides the shipped devices/.' }),
  })
  .refine((m) => m.password == null || m.passwordFile == null, {
    path: ['passwordFile'],
    message: 'give mqtt.password or mqtt.passwordFile, not both',
  })

/** `mqtt:` */
export const mqttSection = mqtt
  .prefault({})
  .meta({ description: 'MQTT: the broker devices talk through, its limits, and how devices are imported.' })
