/**
 * The shape users write for devices: a `devices:` entry in a node's config, and the fields and MQTT topic
 * rules it shares with the profile files in `devices/`. It lives in config so the config schema needs nothing
 * from the devices plane; the devices plane builds its profile schema from these same parts.
 */
import { z } from 'zod'
import { MAX_TOPIC_BYTES, topicProblem } from '../util/mqtt-topic.ts'

/** Device and part ids: capability ids are `<device>.<part>`, at most 64 characters in all. */
export const DEVICE_ID = /^[a-z0-9][a-z0-9_-]{0,30}$/
export const PART_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/
/** A profile's name, which is also its file name without `.yaml`. */
export const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/
const PLACEHOLDER = /\{([^{}]*)\}/g

/**
 * Substitutes `{base}` and `{id}` (plain text, not Jinja) and checks the result; throws an Error whose message
 * says what is wrong.
 *
 * @example
 * fillTopic('{base}/set', { base: 'zigbee2mqtt/kitchen_plug', id: 'kitchen-plug' }) // 'zigbee2mqtt/kitchen_plug/set'
 */
export function fillTopic(template: string, vars: { base?: string; id: string }): string {
  const topic = template.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'id') return vars.id
    if (name === 'base' && vars.base != null) return vars.base
    throw new Error(
      name === 'base'
        ? 'uses {base}, which is not available here'
        : `unknown placeholder ${whole}; use {base} or {id}`,
    )
  })
  const problem = topicProblem(topic, { filled: true })
  if (problem != null) throw new Error(topic === template ? problem : `"${topic}" ${problem}`)
  return topic
}

/**
 * A topic template, checked by filling it with sample values.
 *
 * @example
 * topicTemplate(true).parse('{base}/set') // '{base}/set'
 */
export function topicTemplate(withBase: boolean) {
  return z
    .string()
    .min(1)
    .max(MAX_TOPIC_BYTES)
    .superRefine((t, ctx) => {
      try {
        fillTopic(t, withBase ? { base: 'sample/base', id: 'sample' } : { id: 'sample' })
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
      }
    })
}

/**
 * A strict object whose unknown-key issue lists the keys it does take.
 *
 * @example
 * strict({ id: z.string() }).safeParse({ id: 'a', colour: 'red' }) // issue: "allowed keys: id"
 */
export function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `allowed keys: ${allowed}` : undefined),
  })
}

/** The fields device entries and profiles share, so both read the same words the same way. */
export const deviceFields = {
  title: z.string().trim().min(1).max(120),
  description: z.string().trim().max(2000),
  tags: z.array(z.string().min(1).max(40)).max(32),
  partId: z.string().regex(PART_ID, 'use 1-32 lowercase letters, digits, "_" or "-"'),
  risk: z.enum(['low', 'medium', 'high']),
  timeout: z.number().int().min(100).max(600_000),
}

const { title, description, tags, partId, risk, timeout } = deviceFields

/** The schema of one `devices:` entry in a node's config. */
export const deviceConfigSchema = strict({
  id: z
    .string()
    .regex(DEVICE_ID, 'use 1-31 lowercase letters, digits, "_" or "-", starting with a letter or digit')
    .meta({ description: "The device's id; its capabilities are <id>.<part>.", examples: ['kitchen-plug'] }),
  profile: z
    .string()
    .regex(PROFILE_NAME, 'not a profile name')
    .meta({ description: 'The profile (a file in devices/ or mqtt.profiles) that describes its type.' }),
  topic: topicTemplate(false)
    .optional()
    .meta({
      description: "The base topic the profile's topics hang from; may use {id}.",
      examples: ['zigbee2mqtt/kitchen_plug'],
    }),
  title: title.optional().meta({ description: "Overrides the profile's title." }),
  description: description.optional().meta({ description: "Overrides the profile's description." }),
  tags: tags.optional().meta({ description: "Added to the profile's tags." }),
  actions: z
    .record(
      partId,
      strict({
        risk: risk.optional().meta({ description: "Overrides the action's risk." }),
        timeout: timeout
          .optional()
          .meta({ description: 'How long the action waits for its confirmation (ms).' }),
      }),
    )
    .optional()
    .meta({ description: 'Overrides per action id of the profile.' }),
  sensors: z
    .record(partId, strict({ topic: topicTemplate(true).meta({ description: "The sensor's own topic." }) }))
    .optional()
    .meta({ description: 'Overrides per sensor id of the profile.' }),
  allow: z
    .array(z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{40,100}$/, 'not a peer id'))
    .max(256)
    .optional()
    .meta({
      description:
        "Peers (besides this node and trust.pretrusted) that may run this device's high-risk actions.",
    }),
})

export type DeviceConfig = z.output<typeof deviceConfigSchema>
/** A `devices:` entry as written, before validation. */
export type DeviceConfigInput = z.input<typeof deviceConfigSchema>
