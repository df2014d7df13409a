import { readdir } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, formatProblem } from '../../src/config/index.ts'
import { DEVICE_ID, fillTopic, PART_ID } from '../../src/config/devices-schema.ts'
import { devicesFromConfig } from '../../src/devices/config-devices.ts'
import {
  builtinProfileDir,
  DeviceConfigError,
  loadProfiles,
  MAX_PROFILE_BYTES,
  type Profile,
} from '../../src/devices/profile.ts'
import { deviceFromProfile } from '../../src/devices/profile-device.ts'
import { topicProblem } from '../../src/util/mqtt-topic.ts'
import { compileTemplate as compile } from '../../src/devices/template.ts'
import { tempDir, writeText } from '../helpers.ts'

async function problemsOf(fn: () => unknown): Promise<string[]> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem)
    if (err instanceof DeviceConfigError) return err.problems.map((p) => `${p.path.join('.')}: ${p.message}`)
    throw err
  }
  throw new Error('expected a rejection')
}

const SHIPPED = [
  'temperature-humidity',
  'smart-plug',
  'dimmable-light',
  'door-window-contact',
  'motion-sensor',
  'thermostat',
  'door-lock',
  'diy-relay',
]

let profiles: Map<string, Profile>
beforeEach(async () => {
  profiles ??= await loadProfiles([builtinProfileDir()])
})

describe('shipped profiles', () => {
  it('loads one profile per YAML file in devices/, including every required device type', async () => {
    const files = (await readdir(builtinProfileDir())).filter((f) => f.endsWith('.yaml'))
    expect(profiles.size).toBe(files.length)
    for (const name of SHIPPED) expect(profiles.has(name), name).toBe(true)
  })

  it('yields a valid device spec for a sample entry of each profile', () => {
    for (const profile of profiles.values()) {
      const spec = deviceFromProfile(
        { id: 'sample_1', profile: profile.profile, topic: 'home/sample_1' },
        profile,
      )
      expect(spec.source).toBe('profile')
      expect(spec.id).toMatch(DEVICE_ID)
      expect(spec.sensors.length + spec.actions.length).toBeGreaterThan(0)
      const topics = [
        ...spec.sensors.map((s) => s.topic),
        ...spec.actions.flatMap((a) => [a.commandTopic, ...(a.confirm != null ? [a.confirm.topic] : [])]),
        ...spec.availability.map((a) => a.topic),
      ]
      for (const t of topics) {
        expect(topicProblem(t, { filled: true }), `${profile.profile}: ${t}`).toBeUndefined()
        expect(t.startsWith('home/sample_1'), `${profile.profile}: ${t}`).toBe(true)
      }
      for (const part of [...spec.sensors, ...spec.actions]) {
        expect(part.id).toMatch(PART_ID)
        expect(`${spec.id}.${part.id}`.length).toBeLessThanOrEqual(64)
      }
      for (const a of spec.actions) {
        expect(a.input.type).toBe('object')
        expect(a.confirm, `${profile.profile}.${a.id} confirms through its state`).toBeDefined()
      }
    }
  })

  it('uses the profile default base topic when the entry gives none', () => {
    const spec = deviceFromProfile({ id: 'hall-relay', profile: 'diy-relay' }, profiles.get('diy-relay')!)
    expect(spec.actions[0]!.commandTopic).toBe('kith/hall-relay/set')
    expect(spec.availability[0]!.topic).toBe('kith/hall-relay/availability')
  })

  it('rates the door lock high risk and confirms it on the lock state', () => {
    const spec = deviceFromProfile(
      { id: 'front-door', profile: 'door-lock', topic: 'zigbee2mqtt/front_door' },
      profiles.get('door-lock')!,
    )
    expect(spec.actions.map((a) => [a.id, a.risk])).toEqual([
      ['lock', 'high'],
      ['unlock', 'high'],
    ])
    expect(spec.actions[0]!.confirm!.when).toContain('lock_state')
  })

  it('compiles every template with the template engine', async () => {
    await expect(loadProfiles([builtinProfileDir()], { checkTemplate: compile })).resolves.toBeDefined()
  })

  it('reads sensor values and availability words from the payloads devices publish', async () => {
    const read = (profile: string, sensor: string, state: object) => {
      const s = profiles.get(profile)!.sensors.find((x) => x.id === sensor)!
      return compile(s.value!)
        .render({ value: JSON.stringify(state), value_json: state })
        .trim()
    }
    expect(read('temperature-humidity', 'temperature', { temperature: 21.4, humidity: 48 })).toBe('21.4')
    expect(read('smart-plug', 'power', { state: 'ON', power: 12.5 })).toBe('12.5')
    expect(read('door-window-contact', 'open', { contact: true })).toBe('false')
    expect(read('door-window-contact', 'open', { contact: false })).toBe('true')
    expect(read('motion-sensor', 'motion', { occupancy: true })).toBe('true')
    expect(read('door-lock', 'locked', { state: 'LOCK', lock_state: 'locked' })).toBe('true')
    expect(read('door-lock', 'locked', { state: 'UNLOCK' })).toBe('false')
    expect(read('thermostat', 'heating', { running_state: 'idle' })).toBe('false')
    expect(read('diy-relay', 'relay', { relay: 'ON', task: 't' })).toBe('ON')

    const word = compile(profiles.get('smart-plug')!.availability[0]!.value!)
    expect(word.render({ value: 'online' }).trim()).toBe('online')
    expect(word.render({ value: '{"state":"offline"}', value_json: { state: 'offline' } }).trim()).toBe(
      'offline',
    )
  })

  it('renders command payloads that confirm against the state a device publishes', async () => {
    const cases: Array<{ profile: string; action: string; input: object; state: object; wrong: object }> = [
      {
        profile: 'smart-plug',
        action: 'set',
        input: { state: 'ON' },
        state: { state: 'ON' },
        wrong: { state: 'OFF' },
      },
      {
        profile: 'dimmable-light',
        action: 'set_brightness',
        input: { brightness: 128, transition: 1 },
        state: { state: 'ON', brightness: 128 },
        wrong: { state: 'ON', brightness: 254 },
      },
      {
        profile: 'thermostat',
        action: 'set_target',
        input: { temperature: 21.5 },
        state: { occupied_heating_setpoint: 21.5 },
        wrong: { occupied_heating_setpoint: 20 },
      },
      {
        profile: 'thermostat',
        action: 'set_mode',
        input: { mode: 'off' },
        state: { system_mode: 'off' },
        wrong: { system_mode: 'heat' },
      },
      {
        profile: 'door-lock',
        action: 'unlock',
        input: {},
        state: { state: 'UNLOCK', lock_state: 'unlocked' },
        wrong: { state: 'LOCK', lock_state: 'locked' },
      },
      {
        profile: 'door-lock',
        action: 'lock',
        input: {},
        state: { state: 'LOCKED' },
        wrong: { state: 'UNLOCKED' },
      },
      {
        profile: 'diy-relay',
        action: 'set',
        input: { state: 'OFF' },
        state: { relay: 'OFF', temperature: 21 },
        wrong: { relay: 'ON' },
      },
    ]
    for (const c of cases) {
      const action = profiles.get(c.profile)!.actions.find((a) => a.id === c.action)!
      const payload = compile(action.payload).render({ input: c.input, task: 'task-1', device: 'sample' })
      const command = JSON.parse(payload) as Record<string, unknown>
      if (c.profile === 'diy-relay') expect(command).toEqual({ relay: 'OFF', task: 'task-1' })
      const when = compile(action.confirm!.when)
      const confirmed = (state: object) =>
        /^true$/i.test(
          when.render({ input: c.input, value: JSON.stringify(state), value_json: state }).trim(),
        )
      expect(confirmed(c.state), `${c.profile}.${c.action}`).toBe(true)
      expect(confirmed(c.wrong), `${c.profile}.${c.action}`).toBe(false)
    }
  })
})

describe('deviceFromProfile', () => {
  it('applies title, tags, topic, per-action and per-sensor overrides', () => {
    const spec = deviceFromProfile(
      {
        id: 'kitchen-plug',
        profile: 'smart-plug',
        topic: 'zigbee2mqtt/{id}',
        title: 'Kitchen plug',
        tags: ['kitchen', 'plug'],
        actions: { set: { risk: 'high', timeout: 3000 } },
        sensors: { power: { topic: 'tasmota/{id}/power' } },
      },
      profiles.get('smart-plug')!,
    )
    expect(spec.title).toBe('Kitchen plug')
    expect(spec.tags).toEqual(['plug', 'switch', 'power', 'energy', 'kitchen'])
    const set = spec.actions.find((a) => a.id === 'set')!
    expect(set.risk).toBe('high')
    expect(set.commandTopic).toBe('zigbee2mqtt/kitchen-plug/set')
    expect(set.confirm).toMatchObject({ topic: 'zigbee2mqtt/kitchen-plug', timeout: 3000 })
    expect(spec.sensors.find((s) => s.id === 'power')!.topic).toBe('tasmota/kitchen-plug/power')
    expect(spec.sensors.find((s) => s.id === 'state')!.topic).toBe('zigbee2mqtt/kitchen-plug')
  })

  it('leaves the profile untouched when no overrides are given', () => {
    const profile = profiles.get('smart-plug')!
    const spec = deviceFromProfile({ id: 'p', profile: 'smart-plug', topic: 'z/p' }, profile)
    expect(spec.actions[0]!.risk).toBe(profile.actions[0]!.risk)
    expect(spec.actions[0]!.confirm!.timeout).toBe(profile.actions[0]!.confirm!.timeout)
    expect(spec.title).toBe(profile.title)
  })

  it('rejects unknown keys, unknown overrides and a timeout on an unconfirmed action, naming each', async () => {
    const plug = profiles.get('smart-plug')!
    expect(
      await problemsOf(() =>
        deviceFromProfile(
          {
            id: 'p',
            profile: 'smart-plug',
            topic: 'z/p',
            colour: 'red',
            actions: { set: { risc: 'low' } },
          } as never,
          plug,
        ),
      ),
    ).toEqual([
      'actions.set.risc: unknown key (allowed keys: risk, timeout)',
      'colour: unknown key (allowed keys: id, profile, topic, title, description, tags, actions, sensors, allow)',
    ])
    expect(
      await problemsOf(() =>
        deviceFromProfile(
          {
            id: 'p',
            profile: 'smart-plug',
            topic: 'z/p',
            actions: { toggle: {} },
            sensors: { voltage: { topic: 'z/v' } },
          } as never,
          plug,
        ),
      ),
    ).toEqual([
      'actions.toggle: profile smart-plug has no action "toggle" (actions: set)',
      'sensors.voltage: profile smart-plug has no sensor "voltage" (sensors: state, power, energy)',
    ])
    const unconfirmed: Profile = { ...plug, actions: plug.actions.map((a) => ({ ...a, confirm: undefined })) }
    expect(
      await problemsOf(() =>
        deviceFromProfile(
          { id: 'p', profile: 'smart-plug', topic: 'z/p', actions: { set: { timeout: 100 } } },
          unconfirmed,
        ),
      ),
    ).toEqual(['actions.set.timeout: action "set" has no state confirmation, so a timeout does not apply'])
  })

  it('rejects topics with wildcards, empty levels, reserved or unknown placeholders', async () => {
    const plug = profiles.get('smart-plug')!
    const bad = async (topic: string) =>
      (await problemsOf(() => deviceFromProfile({ id: 'p', profile: 'smart-plug', topic }, plug)))[0]
    expect(await bad('zigbee2mqtt/+')).toBe('topic: contains a wildcard (+ or #)')
    expect(await bad('zigbee2mqtt/#')).toBe('topic: contains a wildcard (+ or #)')
    expect(await bad('zigbee2mqtt//plug')).toMatch(/^topic: has an empty level/)
    expect(await bad('/plug')).toMatch(/^topic: has an empty level/)
    expect(await bad('$SYS/plug')).toMatch(/^topic: starts with "\$"/)
    expect(await bad('home/../plug')).toBe('topic: has a "." or ".." level')
    expect(await bad('home/{name}')).toBe('topic: unknown placeholder {name}; use {base} or {id}')
    expect(await bad('home/{base}')).toBe('topic: uses {base}, which is not available here')
    expect(await bad('home/pl\u0000ug')).toBe('topic: contains a NUL or control character')
  })

  it('requires a base topic when the profile has no default', async () => {
    const plug = { ...profiles.get('smart-plug')!, base: undefined }
    expect(await problemsOf(() => deviceFromProfile({ id: 'p', profile: 'smart-plug' }, plug))).toEqual([
      'topic: is required: profile smart-plug has no default base topic',
    ])
  })
})

describe('devicesFromConfig', () => {
  it('builds every entry and reports all problems at devices.N paths', async () => {
    const specs = devicesFromConfig(
      [
        { id: 'a', profile: 'smart-plug', topic: 'z/a' },
        { id: 'b', profile: 'motion-sensor', topic: 'z/b' },
      ],
      profiles,
    )
    expect(specs.map((s) => s.id)).toEqual(['a', 'b'])

    const out = await problemsOf(() =>
      devicesFromConfig(
        [
          { id: 'a', profile: 'smart-plug', topic: 'z/a' },
          { id: 'a', profile: 'smart-plug', topic: 'z/a2' },
          { id: 'c', profile: 'smart-socket', topic: 'z/c' },
          { id: 'D', profile: 'smart-plug' },
          { id: 'e', profile: 'smart-plug', topic: 'z/e', actions: { toggle: { risk: 'low' } } },
        ],
        profiles,
        { locate: (path) => ({ source: 'kith.yaml', line: 10 + Number(path[1]) }) },
      ),
    )
    expect(out).toEqual([
      'kith.yaml:11: devices.1.id: duplicate device id "a"',
      expect.stringMatching(
        /^kith\.yaml:12: devices\.2\.profile: unknown profile "smart-socket" \(known: .*smart-plug/,
      ),
      'kith.yaml:13: devices.3.id: use 1-31 lowercase letters, digits, "_" or "-", starting with a letter or digit',
      'kith.yaml:14: devices.4.actions.toggle: profile smart-plug has no action "toggle" (actions: set)',
    ])
  })
})

describe('loadProfiles', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({ dir, cleanup } = await tempDir())
  })
  afterEach(() => cleanup())

  const minimal = (name: string, extra = '') =>
    `profile: ${name}\ntitle: Test\nsensors:\n  - id: t\n    title: T\n    kind: temperature\n    topic: '{base}'\n${extra}`

  it('lets a later folder replace a shipped profile of the same name', async () => {
    await writeText(dir, 'smart-plug.yaml', minimal('smart-plug'))
    const merged = await loadProfiles([builtinProfileDir(), dir])
    expect(merged.get('smart-plug')!.title).toBe('Test')
    expect(merged.get('door-lock')).toBeDefined()
  })

  it('reports problems as FILE:LINE: path: message', async () => {
    const unknownKey = await writeText(dir, 'a.yaml', minimal('a', 'colour: red\n'))
    const badTopic = await writeText(
      dir,
      'b.yaml',
      minimal('b').replace("topic: '{base}'", "topic: '{base}/+/x'"),
    )
    const wrongName = await writeText(dir, 'c.yaml', minimal('not-c'))
    const yamlError = await writeText(dir, 'd.yaml', 'profile: d\ntitle: [\n')
    const noRisk = await writeText(
      dir,
      'e.yaml',
      "profile: e\ntitle: E\nactions:\n  - id: go\n    title: Go\n    topic: '{base}/set'\n    payload: x\n",
    )
    const out = await problemsOf(() => loadProfiles([dir]))
    expect(out).toContain(`${unknownKey}:8: colour: unknown key (allowed keys: ${keysOfProfile})`)
    expect(out).toContain(`${badTopic}:7: sensors.0.topic: "sample/base/+/x" contains a wildcard (+ or #)`)
    expect(out).toContain(
      `${wrongName}:1: profile: must match the file name: "c" (one profile per file, named after it)`,
    )
    expect(out.some((l) => l.startsWith(`${yamlError}:`) && l.includes('(yaml)'))).toBe(true)
    expect(out.some((l) => l.startsWith(`${noRisk}:4: actions.0.risk: `))).toBe(true)
  })

  it('refuses a file over the size cap', async () => {
    const file = await writeText(dir, 'big.yaml', minimal('big', `# ${'x'.repeat(MAX_PROFILE_BYTES)}\n`))
    expect(await problemsOf(() => loadProfiles([dir]))).toEqual([
      `${file}: (file): larger than ${MAX_PROFILE_BYTES} bytes`,
    ])
  })

  it('reports a missing folder and a bad template found by the checker', async () => {
    expect(await problemsOf(() => loadProfiles([`${dir}/nope`]))).toEqual([
      expect.stringMatching(/nope: \(dir\): cannot read: ENOENT/),
    ])
    const file = await writeText(dir, 'x.yaml', minimal('x', '    value: "{{ oops"\n'))
    const checkTemplate = (t: string) => {
      if (t.includes('oops')) throw new Error('unclosed expression')
    }
    expect(await problemsOf(() => loadProfiles([dir], { checkTemplate }))).toEqual([
      `${file}:8: sensors.0.value: bad template: unclosed expression`,
    ])
  })
})

describe('fillTopic', () => {
  it('substitutes {base} and {id} once, not recursively', () => {
    expect(() => fillTopic('{base}/set', { base: 'home/{id}', id: 'p' })).toThrow(/"\{" or "\}"/)
    expect(fillTopic('{base}/{id}', { base: 'a/b', id: 'c' })).toBe('a/b/c')
  })
})

const keysOfProfile =
  'profile, title, description, convention, tags, manufacturer, model, base, sensors, actions, availability, availabilityMode'
