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
import { deviceFields, PROFILE_NAME, strict, topicTemplate } from '../config/devices-schema.ts'
import { ConfigError, type ConfigProblem } from '../config/errors.ts'
import { parseYamlSource } from '../config/yaml-source.ts'
import { EXIT, KithError } from '../util/errors.ts'

/** Largest profile file read; the shipped ones are about 2 KiB. */
export const MAX_PROFILE_BYTES = 64 * 1024
/** How long an action waits for its state confirmation when the profile states no timeout (ms). */
export const DEFAULT_CONFIRM_TIMEOUT = 5_000

declare const __KITH_PROFILES__: string | undefined

const { title, description, tags, partId, risk, timeout } = deviceFields
/** as long as the template engine takes (MAX_TEMPLATE_LENGTH in template.ts) */
const template = z.string().min(1).max(1024)
const jsonSchema = z.record(z.string(), z.unknown())
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

export type Profile = z.output<typeof profileSchema>

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
