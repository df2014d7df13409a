/**
 * One device from its profile: a config entry `{id, profile, topic, …overrides}` joined with the profile it
 * names gives the {@link DeviceSpec} the bridge serves, every topic filled in and checked.
 */
import { type DeviceConfigInput, deviceConfigSchema, fillTopic } from '../config/devices-schema.ts'
import { DeviceConfigError, type DeviceProblem, type Profile, zodProblems } from './profile.ts'
import type { DeviceSpec } from './types.ts'

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
