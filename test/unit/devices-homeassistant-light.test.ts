/**
 * Home Assistant MQTT lights: what kith publishes for a call equals what Home Assistant publishes for the same
 * `light.turn_on`/`turn_off` service call. Expected payloads are taken from Home Assistant's own tests:
 * home-assistant/core tests/components/mqtt/test_light_json.py (test_sending_mqtt_commands_and_optimistic,
 * test_sending_rgb_color_no_brightness2, test_sending_rgb_color_with_scaled_brightness, test_sending_scaled_white,
 * the version whose schema_json.py sends `color_temp` from `color_temp_kelvin` and scales rgb through
 * `_scale_rgbxx` popping the brightness) and tests/components/mqtt/test_light.py (test_on_command_first,
 * test_on_command_last, test_on_command_brightness, test_on_command_brightness_scaled,
 * test_sending_mqtt_commands_and_optimistic).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeviceRuntime } from '../../src/devices/device-runtime.ts'
import { HomeAssistantImporter } from '../../src/devices/homeassistant.ts'
import { SchemaCompiler } from '../../src/execution/io-schema.ts'
import { compileTemplate } from '../../src/devices/template.ts'
import type { ActionSpec, DeviceSpec } from '../../src/devices/types.ts'

function light(config: Record<string, unknown>): DeviceSpec {
  const r = new HomeAssistantImporter().handle(
    'homeassistant/light/test/config',
    new TextEncoder().encode(JSON.stringify({ name: 'test', uniq_id: 'test', ...config })),
  )
  expect(r.rejections).toEqual([])
  const e = r.events[0]
  if (e?.type !== 'upsert') throw new Error('no device')
  return e.device
}

function act(d: DeviceSpec, id = 'test'): ActionSpec {
  const a = d.actions.find((x) => x.id === id)
  if (a == null) throw new Error(`no action ${id} in ${d.actions.map((x) => x.id).join(',')}`)
  return a
}

/** What the call publishes: every message whose payload is not empty, in order (as the runtime sends them). */
function published(a: ActionSpec, input: unknown): [string, string][] {
  const ctx = { input, task: 't1', device: 'd' }
  if (a.messages == null) return [[a.commandTopic, compileTemplate(a.payload).render(ctx)]]
  return a.messages
    .map((m): [string, string] => [m.topic, compileTemplate(m.payload).render(ctx)])
    .filter(([, p]) => p.trim() !== '')
}

function one(a: ActionSpec, input: unknown): string {
  const out = published(a, input)
  expect(out).toHaveLength(1)
  return out[0]![1]
}

const ALL_MODES = ['color_temp', 'hs', 'rgb', 'rgbw', 'rgbww', 'white', 'xy']

describe('json schema', () => {
  const d = light({
    schema: 'json',
    command_topic: 'test_light_rgb/set',
    state_topic: 'test_light_rgb',
    effect: true,
    effect_list: ['colorloop', 'random'],
    supported_color_modes: ALL_MODES,
  })
  const a = act(d)

  it('turns on and off with the bare state', () => {
    expect(one(a, { on: true })).toBe('{"state":"ON"}')
    expect(one(a, { on: false })).toBe('{"state":"OFF"}')
  })

  it('sends the colour in the form given, with the brightness, keys in Home Assistant’s order', () => {
    expect(one(a, { on: true, brightness: 75, color: { h: 359, s: 78 } })).toBe(
      '{"state":"ON","color":{"h":359.0,"s":78.0},"brightness":75}',
    )
    expect(one(a, { on: true, color: { r: 255, g: 128, b: 0 } })).toBe(
      '{"state":"ON","color":{"r":255,"g":128,"b":0}}',
    )
    expect(one(a, { on: true, color: { r: 255, g: 128, b: 0, w: 123 } })).toBe(
      '{"state":"ON","color":{"r":255,"g":128,"b":0,"w":123}}',
    )
    expect(one(a, { on: true, color: { r: 255, g: 128, b: 0, c: 45, w: 32 } })).toBe(
      '{"state":"ON","color":{"r":255,"g":128,"b":0,"c":45,"w":32}}',
    )
    expect(one(a, { on: true, brightness: 50, color: { x: 0.123, y: 0.223 } })).toBe(
      '{"state":"ON","color":{"x":0.123,"y":0.223},"brightness":50}',
    )
  })

  it('colour temperature is given in kelvin and goes out in mireds (floor(1e6 / K), util/color.py)', () => {
    expect(one(a, { on: true, color_temp_kelvin: 4000 })).toBe('{"state":"ON","color_temp":250}')
    expect(one(a, { on: true, color_temp_kelvin: 2700 })).toBe('{"state":"ON","color_temp":370}')
    expect(a.input).toMatchObject({ properties: { color_temp_kelvin: { minimum: 2000, maximum: 6535 } } })
  })

  it('with color_temp_kelvin the light is sent kelvin, within min/max_kelvin', () => {
    const k = act(
      light({ schema: 'json', cmd_t: 'l/set', sup_clrm: ['color_temp'], clr_temp_k: 'true', min_k: '2700' }),
    )
    expect(one(k, { on: true, color_temp_kelvin: 3000 })).toBe('{"state":"ON","color_temp":3000}')
    expect(k.input).toMatchObject({ properties: { color_temp_kelvin: { minimum: 2700, maximum: 6535 } } })
  })

  it('white: the level, or the brightness when both are given; effects from effect_list', () => {
    expect(one(a, { on: true, white: 75 })).toBe('{"state":"ON","white":75}')
    expect(one(a, { on: true, brightness: 60, white: 80 })).toBe('{"state":"ON","white":60}')
    expect(one(a, { on: true, effect: 'colorloop' })).toBe('{"state":"ON","effect":"colorloop"}')
    expect(a.input).toMatchObject({ properties: { effect: { enum: ['colorloop', 'random'] } } })
  })

  it('without brightness: true, an rgb colour carries the brightness and no brightness is sent', () => {
    const rgb = act(
      light({ schema: 'json', command_topic: 'l/set', supported_color_modes: ['rgb', 'rgbw', 'rgbww'] }),
    )
    expect(one(rgb, { on: true, brightness: 255, color: { r: 255, g: 128, b: 0 } })).toBe(
      '{"state":"ON","color":{"r":255,"g":128,"b":0}}',
    )
    expect(one(rgb, { on: true, brightness: 128, color: { r: 128, g: 64, b: 32, w: 16 } })).toBe(
      '{"state":"ON","color":{"r":64,"g":32,"b":16,"w":8}}',
    )
    expect(one(rgb, { on: true, brightness: 64, color: { r: 128, g: 64, b: 32, c: 16, w: 8 } })).toBe(
      '{"state":"ON","color":{"r":32,"g":16,"b":8,"c":4,"w":2}}',
    )
  })

  it('transition and flash, on and off (test_light_json.py test_transition, test_flash_short_and_long)', () => {
    const t = act(
      light({
        schema: 'json',
        command_topic: 'l/set',
        flash_time_short: 5,
        flash_time_long: 15,
        supported_color_modes: ['brightness'],
      }),
    )
    expect(one(t, { on: true, transition: 15 })).toBe('{"state":"ON","transition":15.0}')
    expect(one(t, { on: false, transition: 30 })).toBe('{"state":"OFF","transition":30.0}')
    expect(one(t, { on: true, flash: 'short' })).toBe('{"state":"ON","flash":5}')
    expect(one(t, { on: false, flash: 'long' })).toBe('{"state":"OFF","flash":15}')
    expect(one(t, { on: true, transition: 2, brightness: 10 })).toBe(
      '{"state":"ON","transition":2.0,"brightness":10}',
    )
  })

  it('a light with every mode at once fits the template limit with transition and flash', () => {
    expect(a.input).toMatchObject({ properties: { transition: {}, flash: {} } })
    expect(d.unmapped?.options ?? []).not.toContainEqual(
      expect.objectContaining({ option: 'supported_color_modes', reason: 'partly' }),
    )
  })

  it('brightness_scale and white_scale', () => {
    const s = act(
      light({
        schema: 'json',
        command_topic: 'l/set',
        brightness: true,
        brightness_scale: 100,
        supported_color_modes: ['rgb'],
      }),
    )
    expect(one(s, { on: true, brightness: 1 })).toBe('{"state":"ON","brightness":1}')
    expect(one(s, { on: true, brightness: 50, color: { r: 255, g: 128, b: 0 } })).toBe(
      '{"state":"ON","color":{"r":255,"g":128,"b":0},"brightness":20}',
    )
    const w = act(
      light({
        schema: 'json',
        command_topic: 'l/set',
        brightness_scale: 100,
        supported_color_modes: ['hs', 'white'],
        white_scale: 50,
      }),
    )
    expect(one(w, { on: true, brightness: 128 })).toBe('{"state":"ON","brightness":50}')
    expect(one(w, { on: true, brightness: 255, white: 25 })).toBe('{"state":"ON","white":50}')
    expect(one(w, { on: true, white: 25 })).toBe('{"state":"ON","white":5}')
  })

  it('reads brightness, colour temperature, colour and effect from the state topic', () => {
    const read = (id: string, payload: string) => {
      const s = d.sensors.find((x) => x.id === id)
      if (s?.value == null) throw new Error(`no sensor ${id}`)
      return compileTemplate(s.value).render({ value: payload, value_json: JSON.parse(payload) })
    }
    const state =
      '{"state":"ON","color_mode":"rgbww","color":{"r":255,"g":128,"b":64,"c":32,"w":16},"brightness":255,"color_temp":155,"effect":"colorloop"}'
    expect(read('test_state', state)).toBe('true')
    expect(read('test_brightness_state', state)).toBe('255')
    expect(read('test_color_temp_state', state)).toBe('155')
    expect(JSON.parse(read('test_color_state', state))).toEqual({ r: 255, g: 128, b: 64, c: 32, w: 16 })
    expect(read('test_effect_state', state)).toBe('colorloop')
    expect(read('test_brightness_state', '{"state":"OFF"}')).toBe('')
  })
})

describe('default (basic) schema', () => {
  const base = {
    command_topic: 'test_light/set',
    brightness_command_topic: 'test_light/bright',
    rgb_command_topic: 'test_light/rgb',
  }

  it('on_command_type brightness: on sends only the brightness (255 without one), off sends OFF', () => {
    const a = act(light({ ...base, on_command_type: 'brightness' }))
    expect(published(a, { on: true })).toEqual([['test_light/bright', '255']])
    expect(published(a, { on: false })).toEqual([['test_light/set', 'OFF']])
    expect(published(a, { on: true, brightness: 50 })).toEqual([['test_light/bright', '50']])
    expect(published(a, { on: true, color: { r: 255, g: 128, b: 0 }, brightness: 50 })).toEqual([
      ['test_light/rgb', '255,128,0'],
      ['test_light/bright', '50'],
    ])
  })

  it('on_command_type brightness without a brightness topic turns on through the rgb topic, white at that level', () => {
    const a = act(
      light({ command_topic: 'l/set', rgb_command_topic: 'l/rgb', on_command_type: 'brightness' }),
    )
    expect(published(a, { on: true })).toEqual([['l/rgb', '255,255,255']])
    expect(published(a, { on: true, brightness: 50 })).toEqual([['l/rgb', '50,50,50']])
    expect(published(a, { on: false })).toEqual([['l/set', 'OFF']])
  })

  it('on_command_type brightness on a scale of 100 (Tasmota’s Dimmer)', () => {
    const a = act(light({ ...base, brightness_scale: 100, on_command_type: 'brightness' }))
    expect(published(a, { on: true })).toEqual([['test_light/bright', '100']])
    expect(published(a, { on: true, brightness: 50 })).toEqual([['test_light/bright', '20']])
    expect(published(a, { on: true, brightness: 1 })).toEqual([['test_light/bright', '1']])
    expect(published(a, { on: true, brightness: 255 })).toEqual([['test_light/bright', '100']])
  })

  it('on_command_type first sends ON before the attributes, last (the default) after them', () => {
    const first = act(light({ ...base, on_command_type: 'first' }))
    expect(published(first, { on: true, brightness: 50 })).toEqual([
      ['test_light/set', 'ON'],
      ['test_light/bright', '50'],
    ])
    const last = act(light(base))
    expect(published(last, { on: true, brightness: 50 })).toEqual([
      ['test_light/bright', '50'],
      ['test_light/set', 'ON'],
    ])
    expect(published(last, { on: false })).toEqual([['test_light/set', 'OFF']])
    // an older runtime that ignores `messages` still turns the light on and off
    expect(last.commandTopic).toBe('test_light/set')
    expect(compileTemplate(last.payload).render({ input: { on: true } })).toBe('ON')
  })

  it('every colour topic with its own text, then colour temperature and effect, through their templates', () => {
    const a = act(
      light({
        command_topic: 'test_light_rgb/set',
        payload_on: 'on',
        payload_off: 'off',
        brightness_command_topic: 'test_light_rgb/brightness/set',
        rgb_command_topic: 'test_light_rgb/rgb/set',
        hs_command_topic: 'test_light_rgb/hs/set',
        xy_command_topic: 'test_light_rgb/xy/set',
        color_temp_command_topic: 'test_light_rgb/color_temp/set',
        effect_command_topic: 'test_light_rgb/effect/set',
        effect_list: ['colorloop', 'random'],
        color_temp_command_template: '{{ (1000 / value) | round(0) }}',
        qos: 2,
      }),
    )
    expect(published(a, { on: true, brightness: 50, color: { x: 0.123, y: 0.123 } })).toEqual([
      ['test_light_rgb/xy/set', '0.123,0.123'],
      ['test_light_rgb/brightness/set', '50'],
      ['test_light_rgb/set', 'on'],
    ])
    expect(published(a, { on: true, brightness: 50, color: { h: 359, s: 78 } })).toEqual([
      ['test_light_rgb/hs/set', '359.0,78.0'],
      ['test_light_rgb/brightness/set', '50'],
      ['test_light_rgb/set', 'on'],
    ])
    expect(published(a, { on: true, color: { r: 255, g: 128, b: 0 } })).toEqual([
      ['test_light_rgb/rgb/set', '255,128,0'],
      ['test_light_rgb/set', 'on'],
    ])
    expect(published(a, { on: true, color_temp_kelvin: 6535, effect: 'colorloop' })).toEqual([
      ['test_light_rgb/color_temp/set', '7'],
      ['test_light_rgb/effect/set', 'colorloop'],
      ['test_light_rgb/set', 'on'],
    ])
  })

  it('a plain on/off light keeps its single message, and the brightness action stays', () => {
    const d = light({ command_topic: 'l/set', brightness_command_topic: 'l/bri', brightness_scale: '100' })
    expect(act(d, 'test_brightness').commandTopic).toBe('l/bri')
    expect(compileTemplate(act(d, 'test_brightness').payload).render({ input: { brightness: 128 } })).toBe(
      '50',
    )
    expect(act(light({ command_topic: 'l/set' })).messages).toBeUndefined()
  })
})

describe('template schema', () => {
  it('binds Home Assistant’s variables to the input: brightness, colour temperature, rgb, effect', () => {
    const a = act(
      light({
        schema: 'template',
        command_topic: 'test_light_rgb/set',
        command_on_template:
          'on,{{ brightness }},{{ color_temp }},{{ red }}-{{ green }}-{{ blue }},{{ effect }}',
        command_off_template: 'off',
        color_temp_template: '{{ value_json.ct }}',
        red_template: '{{ value_json.r }}',
        green_template: '{{ value_json.g }}',
        blue_template: '{{ value_json.b }}',
        effect_list: ['rainbow', 'colorloop'],
      }),
    )
    expect(one(a, { on: true })).toBe('on,,,--,')
    expect(one(a, { on: true, brightness: 50, color: { r: 75, g: 75, b: 75 }, effect: 'rainbow' })).toBe(
      'on,50,,75-75-75,rainbow',
    )
    expect(one(a, { on: true, color_temp_kelvin: 2700 })).toBe('on,,370,--,')
    expect(one(a, { on: false })).toBe('off')
  })

  it('transition and flash reach both templates (test_light_template.py test_transition, test_flash)', () => {
    const a = act(
      light({
        schema: 'template',
        command_topic: 'l/set',
        command_on_template: 'on,{{ transition }},{{ flash }}',
        command_off_template: 'off,{{ transition }}',
      }),
    )
    expect(one(a, { on: true, transition: 10 })).toBe('on,10.0,')
    expect(one(a, { on: true, flash: 'short' })).toBe('on,,short')
    expect(one(a, { on: false, transition: 20 })).toBe('off,20.0')
  })
})

describe('templates beyond the subset', () => {
  it('a Tasmota colour bulb whose hs state template splits and joins keeps everything but that reading', () => {
    const fixture = JSON.parse(
      readFileSync(join(import.meta.dirname, '../fixtures/devices/tasmota-rgbcw-bulb.json'), 'utf8'),
    ) as { discovery: { topic: string; payload: unknown }[] }
    const ha = new HomeAssistantImporter()
    let device: DeviceSpec | undefined
    for (const m of fixture.discovery) {
      const payload = typeof m.payload === 'string' ? m.payload : JSON.stringify(m.payload)
      const r = ha.handle(m.topic, new TextEncoder().encode(payload))
      expect(r.rejections).toEqual([])
      for (const e of r.events) if (e.type === 'upsert') device = e.device
    }
    const light = device?.actions.find((a) => a.messages != null)
    expect(light?.input).toMatchObject({ properties: { on: {}, brightness: {}, color: {} } })
    expect(device?.sensors.some((s) => s.id.endsWith('_hs_state'))).toBe(false)
    expect(device?.unmapped?.options).toContainEqual(
      expect.objectContaining({ option: 'hs_value_template', reason: 'not_supported' }),
    )
  })
})

describe('through the device runtime', () => {
  it('a Tasmota dimmer turned on publishes only Dimmer, turned off only POWER OFF (on_command_type brightness)', async () => {
    const d = light({
      command_topic: 'cmnd/tasmota_5B8F21/POWER',
      brightness_command_topic: 'cmnd/tasmota_5B8F21/Dimmer',
      brightness_scale: 100,
      on_command_type: 'brightness',
    })
    const schemas = new SchemaCompiler()
    const runtime = new DeviceRuntime(d, (schema) => schemas.compile(schema, 'input') ?? (() => undefined))
    const sent: [string, string][] = []
    const publish = async (topic: string, payload: string) => {
      sent.push([topic, payload])
    }
    const signal = new AbortController().signal
    await runtime.act('test', { on: true }, { task: 't1' }, publish, signal)
    await runtime.act('test', { on: true, brightness: 128 }, { task: 't2' }, publish, signal)
    await runtime.act('test', { on: false }, { task: 't3' }, publish, signal)
    expect(sent).toEqual([
      ['cmnd/tasmota_5B8F21/Dimmer', '100'],
      ['cmnd/tasmota_5B8F21/Dimmer', '50'],
      ['cmnd/tasmota_5B8F21/POWER', 'OFF'],
    ])
  })
})
