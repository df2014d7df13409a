/**
 * Device profiles: a YAML file in `devices/` describes a device *type* (its sensors, actions and availability,
 * topics hanging from a base topic); a config entry `{id, profile, topic, …overrides}` names one device of that
 * type. {@link deviceFromProfile} joins the two into the {@link DeviceSpec} the bridge serves. The format is
 * documented in `devices/README.md`.
 */
import { readdir, readFile } from 'node:fs/promises'
import { dirname, extname, basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { ConfigError, type ConfigProblem } from '../config/errors.ts'
import { parseYamlSource } from '../config/yaml-source.ts'
import { MAX_TOPIC_BYTES, topicProblem } from './topics.ts'
import { DEVICE_ID, PART_ID, type DeviceSpec } from './types.ts'
import { EXIT, KithError } from '../util/errors.ts'

/** Largest profile file read; the shipped ones are about 2 KiB. */
export const MAX_PROFILE_BYTES = 64 * 1024
/** How long an action waits for its state confirmation when the profile states no timeout (ms). */
export const DEFAULT_CONFIRM_TIMEOUT = 5_000

declare const __KITH_PROFILES__: string | undefined

const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/
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

/** A topic template, checked by filling it with sample values. */
function topicTemplate(withBase: boolean) {
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

/** A strict object whose unknown-key issue lists the keys it does take. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `allowed keys: ${allowed}` : undefined),
  })
}

const title = z.string().trim().min(1).max(120)
const description = z.string().trim().max(2000)
const tags = z.array(z.string().min(1).max(40)).max(32)
/** as long as the template engine takes (MAX_TEMPLATE_LENGTH in template.ts) */
const template = z.string().min(1).max(1024)
const jsonSchema = z.record(z.string(), z.unknown())
const partId = z.string().regex(PART_ID, 'use 1-32 lowercase letters, digits, "_" or "-"')
const risk = z.enum(['low', 'medium', 'high'])
const timeout = z.number().int().min(100).max(600_000)
const words = z.array(z.string().min(1).max(64)).min(1).max(8)

const sensorSchema = strict({
  id: partId,
  title,
  kind: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'use a lowercase word such as temperature or power'),
  topic: topicTemplate(true),
  value: template.optional(),
  unit: z.string().min(1).max(16).optional(),
  schema: jsonSchema.optional(),
})

const actionSchema = strict({
  id: partId,
  title,
  description: description.optional(),
  risk,
  input: jsonSchema
    .refine((s) => s.type === 'object', 'must be a JSON Schema with type: object')
    .default({ type: 'object', properties: {}, additionalProperties: false }),
  topic: topicTemplate(true),
  payload: template,
  retain: z.boolean().default(false),
  confirm: strict({
    topic: topicTemplate(true),
    when: template,
    timeout: timeout.default(DEFAULT_CONFIRM_TIMEOUT),
  }).optional(),
})

const availabilitySchema = strict({
  topic: topicTemplate(true),
  value: template.optional(),
  online: words.default(['online']),
  offline: words.default(['offline']),
})

/** The schema of one profile file. */
export const profileSchema = strict({
  profile: z.string().regex(PROFILE_NAME, 'use 1-64 lowercase letters, digits, "_" or "-"'),
  title,
  description: description.optional(),
  /** which MQTT convention the topics and payloads follow, e.g. `zigbee2mqtt` */
  convention: z.string().trim().min(1).max(200).optional(),
  tags: tags.default([]),
  manufacturer: z.string().trim().min(1).max(120).optional(),
  model: z.string().trim().min(1).max(120).optional(),
  /** the base topic when a config entry gives none; may use {id} */
  base: topicTemplate(false).optional(),
  sensors: z.array(sensorSchema).max(64).default([]),
  actions: z.array(actionSchema).max(64).default([]),
  availability: z.array(availabilitySchema).max(4).default([]),
  availabilityMode: z.enum(['all', 'any', 'latest']).optional(),
}).superRefine((p, ctx) => {
  if (p.sensors.length + p.actions.length === 0)
    ctx.addIssue({
      code: 'custom',
      path: ['sensors'],
      message: 'a profile needs at least one sensor or action',
    })
  const seen = new Set<string>()
  for (const [list, parts] of [
    ['sensors', p.sensors],
    ['actions', p.actions],
  ] as const) {
    parts.forEach((part, i) => {
      if (seen.has(part.id))
        ctx.addIssue({
          code: 'custom',
          path: [list, i, 'id'],
          message: `duplicate id "${part.id}" (sensors and actions share one namespace)`,
        })
      seen.add(part.id)
    })
  }
  p.availability.forEach((a, i) => {
    const both = a.online.filter((w) => a.offline.includes(w))
    if (both.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['availability', i],
        message: `"${both[0]}" is both online and offline`,
      })
  })
})

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

export type Profile = z.output<typeof profileSchema>
export type DeviceConfig = z.output<typeof deviceConfigSchema>
/** A `devices:` entry as written, before validation. */
export type DeviceConfigInput = z.input<typeof deviceConfigSchema>

/** One thing wrong, at a path relative to what was being checked. */
export interface DeviceProblem {
  path: Array<string | number>
  message: string
}

/**
 * A `devices:` entry that does not fit its profile, with every problem found; or devices configured where the
 * node cannot run them (no problems listed: the message says what to change).
 */
export class DeviceConfigError extends KithError {
  static override readonly code = 'bad_device_config'
  static override readonly status = 400
  static override readonly exitCode = EXIT.config
  readonly problems: DeviceProblem[]

  constructor(problems: DeviceProblem[], message = 'invalid device entry') {
    super(problems.map((p) => `${p.path.join('.') || '(entry)'}: ${p.message}`).join('\n') || message)
    this.name = 'DeviceConfigError'
    this.problems = problems
  }
}

/** Zod issues as problems, an unknown key reported at the key itself. */
export function zodProblems(error: z.ZodError): DeviceProblem[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map((seg) => (typeof seg === 'number' ? seg : String(seg)))
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown key (${issue.message})` }))
    return [{ path, message: issue.message }]
  })
}

/**
 * The device an entry describes: the profile's parts with the entry's base topic, title, tags and overrides.
 * The entry is validated here too, so a raw config entry may be passed. Throws {@link DeviceConfigError} listing
 * every problem (unknown key, unknown override, a topic that does not work out).
 *
 * @example
 * const spec = deviceFromProfile(
 *   { id: 'kitchen-plug', profile: 'smart-plug', topic: 'zigbee2mqtt/kitchen_plug', actions: { set: { risk: 'high' } } },
 *   profiles.get('smart-plug')!,
 * )
 * spec.actions[0].commandTopic // 'zigbee2mqtt/kitchen_plug/set'
 */
export function deviceFromProfile(input: DeviceConfigInput, profile: Profile): DeviceSpec {
  const parsed = deviceConfigSchema.safeParse(input)
  if (!parsed.success) throw new DeviceConfigError(zodProblems(parsed.error))
  const entry = parsed.data
  const problems: DeviceProblem[] = []
  const { id } = entry
  if (entry.profile !== profile.profile)
    problems.push({
      path: ['profile'],
      message: `is "${entry.profile}" but the profile given is "${profile.profile}"`,
    })
  const names = (parts: Array<{ id: string }>) => parts.map((p) => p.id).join(', ') || 'none'
  for (const [part, o] of Object.entries(entry.actions ?? {})) {
    const action = profile.actions.find((a) => a.id === part)
    if (action == null)
      problems.push({
        path: ['actions', part],
        message: `profile ${profile.profile} has no action "${part}" (actions: ${names(profile.actions)})`,
      })
    else if (o.timeout != null && action.confirm == null)
      problems.push({
        path: ['actions', part, 'timeout'],
        message: `action "${part}" has no state confirmation, so a timeout does not apply`,
      })
  }
  for (const part of Object.keys(entry.sensors ?? {}))
    if (!profile.sensors.some((s) => s.id === part))
      problems.push({
        path: ['sensors', part],
        message: `profile ${profile.profile} has no sensor "${part}" (sensors: ${names(profile.sensors)})`,
      })

  let base: string | undefined
  let baseFailed = false
  const baseTemplate = entry.topic ?? profile.base
  if (baseTemplate != null) {
    try {
      base = fillTopic(baseTemplate, { id })
    } catch (err) {
      baseFailed = true
      problems.push({ path: ['topic'], message: (err as Error).message })
    }
  }
  const topic = (t: string, what: string, path: Array<string | number> = ['topic']): string => {
    if (baseFailed) return t
    if (base == null && t.includes('{base}')) {
      const message = `is required: profile ${profile.profile} has no default base topic`
      if (!problems.some((p) => p.message === message)) problems.push({ path: ['topic'], message })
      return t
    }
    try {
      return fillTopic(t, { base, id })
    } catch (err) {
      problems.push({ path, message: `gives ${what} a topic that ${(err as Error).message}` })
      return t
    }
  }

  const spec: DeviceSpec = {
    id,
    title: entry.title ?? profile.title,
    ...optional('description', entry.description ?? profile.description),
    tags: [...new Set([...profile.tags, ...(entry.tags ?? [])])],
    source: 'profile',
    ...optional('manufacturer', profile.manufacturer),
    ...optional('model', profile.model),
    sensors: profile.sensors.map((s) => {
      const override = entry.sensors?.[s.id]?.topic
      return {
        id: s.id,
        title: s.title,
        kind: s.kind,
        topic: topic(
          override ?? s.topic,
          `sensor ${s.id}`,
          override != null ? ['sensors', s.id, 'topic'] : ['topic'],
        ),
        ...optional('value', s.value),
        ...optional('unit', s.unit),
        ...optional('schema', s.schema),
      }
    }),
    actions: profile.actions.map((a) => {
      const o = entry.actions?.[a.id]
      return {
        id: a.id,
        title: a.title,
        ...optional('description', a.description),
        risk: o?.risk ?? a.risk,
        input: a.input,
        commandTopic: topic(a.topic, `action ${a.id}`),
        payload: a.payload,
        retain: a.retain,
        ...(a.confirm != null
          ? {
              confirm: {
                topic: topic(a.confirm.topic, `action ${a.id} (confirmation)`),
                when: a.confirm.when,
                timeout: o?.timeout ?? a.confirm.timeout,
              },
            }
          : {}),
      }
    }),
    availability: profile.availability.map((a) => ({
      topic: topic(a.topic, 'availability'),
      ...optional('value', a.value),
      online: a.online,
      offline: a.offline,
    })),
    ...optional('availabilityMode', profile.availabilityMode),
  }
  if (problems.length > 0) throw new DeviceConfigError(problems)
  return spec
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

export interface LoadProfilesOptions {
  /** compiles a template and throws when it is not valid (the bridge passes `compileTemplate`) */
  checkTemplate?: (source: string) => unknown
}

/**
 * Reads every `*.yaml` / `*.yml` profile in `dirs`; a later directory's profile replaces an earlier one of the
 * same name (so a user's folder can refine a shipped profile). Throws {@link ConfigError} listing every problem
 * as `FILE:LINE: path: message`.
 *
 * @example
 * const profiles = await loadProfiles([builtinProfileDir()])
 * profiles.get('smart-plug')?.title // 'Smart plug'
 */
export async function loadProfiles(
  dirs: string[],
  options: LoadProfilesOptions = {},
): Promise<Map<string, Profile>> {
  const profiles = new Map<string, Profile>()
  const problems: ConfigProblem[] = []
  for (const dir of dirs) {
    let files: string[]
    const embedded = dir === EMBEDDED_PROFILES ? embeddedProfiles() : undefined
    try {
      files =
        embedded !== undefined
          ? [...embedded.keys()].sort()
          : (await readdir(dir, { withFileTypes: true }))
              .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
              .map((e) => join(dir, e.name))
              .sort()
    } catch (err) {
      problems.push({
        source: dir,
        line: 0,
        path: '(dir)',
        message: `cannot read: ${(err as Error).message}`,
      })
      continue
    }
    const here = new Map<string, string>()
    for (const file of files) {
      const text = embedded?.get(file)
      const read = text !== undefined ? parseProfile(text, file, options) : await readProfile(file, options)
      if (Array.isArray(read)) {
        problems.push(...read)
        continue
      }
      const earlier = here.get(read.profile)
      if (earlier != null) {
        problems.push({
          source: file,
          line: 1,
          path: 'profile',
          message: `"${read.profile}" is also defined in ${earlier}`,
        })
        continue
      }
      here.set(read.profile, file)
      profiles.set(read.profile, read)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return profiles
}

async function readProfile(file: string, options: LoadProfilesOptions): Promise<Profile | ConfigProblem[]> {
  let text: string
  try {
    const bytes = await readFile(file)
    if (bytes.byteLength > MAX_PROFILE_BYTES)
      return [{ source: file, line: 0, path: '(file)', message: `larger than ${MAX_PROFILE_BYTES} bytes` }]
    text = bytes.toString('utf8')
  } catch (err) {
    return [{ source: file, line: 0, path: '(file)', message: `cannot read: ${(err as Error).message}` }]
  }
  return parseProfile(text, file, options)
}

function parseProfile(text: string, file: string, options: LoadProfilesOptions): Profile | ConfigProblem[] {
  const source = parseYamlSource(text, file)
  if (Array.isArray(source)) return source
  const at = (path: Array<string | number>, message: string): ConfigProblem => ({
    source: file,
    line: source.locate(path).line,
    path: path.join('.') || '(file)',
    message,
  })
  const parsed = profileSchema.safeParse(source.value)
  if (!parsed.success) return zodProblems(parsed.error).map((p) => at(p.path, p.message))
  const profile = parsed.data
  const problems: ConfigProblem[] = []
  const stem = basename(file, extname(file))
  if (profile.profile !== stem)
    problems.push(
      at(['profile'], `must match the file name: "${stem}" (one profile per file, named after it)`),
    )
  if (options.checkTemplate != null) {
    const check = (path: Array<string | number>, t: string | undefined) => {
      if (t == null) return
      try {
        options.checkTemplate?.(t)
      } catch (err) {
        problems.push(at(path, `bad template: ${(err as Error).message}`))
      }
    }
    profile.sensors.forEach((s, i) => check(['sensors', i, 'value'], s.value))
    profile.actions.forEach((a, i) => {
      check(['actions', i, 'payload'], a.payload)
      check(['actions', i, 'confirm', 'when'], a.confirm?.when)
    })
    profile.availability.forEach((a, i) => check(['availability', i, 'value'], a.value))
  }
  return problems.length > 0 ? problems : profile
}

/** Stands for the shipped profiles embedded in a bundle, in place of a folder in {@link loadProfiles}' list. */
export const EMBEDDED_PROFILES = 'builtin:devices'

/**
 * The shipped profiles embedded by the bundler (scripts/build-binary.ts defines `__KITH_PROFILES__` as the JSON
 * of `{file name: text}`), keyed `builtin:devices/<file>`; undefined when running from a checkout.
 */
function embeddedProfiles(): Map<string, string> | undefined {
  if (typeof __KITH_PROFILES__ !== 'string') return undefined
  const files = JSON.parse(__KITH_PROFILES__) as Record<string, string>
  return new Map(Object.entries(files).map(([name, text]) => [`${EMBEDDED_PROFILES}/${name}`, text]))
}

/**
 * Where the shipped profiles are: the repository's `devices/` folder, or, in a bundle or the single binary,
 * {@link EMBEDDED_PROFILES}, which {@link loadProfiles} reads from the bundle itself.
 *
 * @example
 * await loadProfiles([builtinProfileDir(), '/etc/kith/devices'])
 */
export function builtinProfileDir(): string {
  if (typeof __KITH_PROFILES__ === 'string') return EMBEDDED_PROFILES
  const url = import.meta.url as string | undefined
  if (typeof url === 'string' && url.startsWith('file:')) return fileURLToPath(new URL('../../devices/', url))
  return resolve(dirname(process.execPath), 'devices')
}

export interface DevicesFromConfigOptions {
  /** where `devices.N…` was written, for problems located at a file and line */
  locate?: (path: ReadonlyArray<PropertyKey>) => { source: string; line: number }
}

/**
 * Validates a config's `devices:` list and builds each device from its profile. Throws {@link ConfigError}
 * listing every problem at `devices.N.field` (unknown profile, unknown key, duplicate id, bad topic).
 *
 * @example
 * const specs = devicesFromConfig(config.devices, profiles, { locate: config.locate })
 */
export function devicesFromConfig(
  entries: readonly unknown[],
  profiles: ReadonlyMap<string, Profile>,
  options: DevicesFromConfigOptions = {},
): DeviceSpec[] {
  const problems: ConfigProblem[] = []
  const report = (i: number, p: DeviceProblem) => {
    const path = ['devices', i, ...p.path]
    const where = options.locate?.(path) ?? { source: 'config', line: 0 }
    problems.push({ ...where, path: path.join('.'), message: p.message })
  }
  const specs: DeviceSpec[] = []
  const ids = new Set<string>()
  entries.forEach((raw, i) => {
    const parsed = deviceConfigSchema.safeParse(raw)
    if (!parsed.success) return zodProblems(parsed.error).forEach((p) => report(i, p))
    const entry = parsed.data
    if (ids.has(entry.id)) return report(i, { path: ['id'], message: `duplicate device id "${entry.id}"` })
    ids.add(entry.id)
    const profile = profiles.get(entry.profile)
    if (profile == null) {
      const known = [...profiles.keys()].sort().join(', ') || 'none loaded'
      return report(i, { path: ['profile'], message: `unknown profile "${entry.profile}" (known: ${known})` })
    }
    try {
      specs.push(deviceFromProfile(entry, profile))
    } catch (err) {
      if (!(err instanceof DeviceConfigError)) throw err
      err.problems.forEach((p) => report(i, p))
    }
  })
  if (problems.length > 0) throw new ConfigError(problems)
  return specs
}
