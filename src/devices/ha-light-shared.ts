/**
 * What Home Assistant's three light schemas share (ha-light.ts): what a light can be sent, as JSON Schema
 * (brightness, colour in its forms, colour temperature in kelvin, effect), and the payload expressions that
 * scale brightness and convert colour temperature as Home Assistant does (homeassistant/util/color.py).
 */
import { unmapped } from './ha-unmapped.ts'
import type { JsonSchema } from './types.ts'
import { boolOf, numberOf, strings, type Config } from './homeassistant-config.ts'
import { object } from './homeassistant-parts.ts'

export type ColorForm = 'hs' | 'xy' | 'rgb' | 'rgbw' | 'rgbww'

export const BRIGHTNESS: JsonSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 255,
  description: 'brightness from 1 to 255',
}

const channel = { type: 'integer', minimum: 0, maximum: 255 }
const COLOR_SCHEMAS: Record<ColorForm, JsonSchema> = {
  hs: object(
    { h: { type: 'number', minimum: 0, maximum: 360 }, s: { type: 'number', minimum: 0, maximum: 100 } },
    ['h', 's'],
  ),
  xy: object(
    { x: { type: 'number', minimum: 0, maximum: 1 }, y: { type: 'number', minimum: 0, maximum: 1 } },
    ['x', 'y'],
  ),
  rgb: object({ r: channel, g: channel, b: channel }, ['r', 'g', 'b']),
  rgbw: object({ r: channel, g: channel, b: channel, w: channel }, ['r', 'g', 'b', 'w']),
  rgbww: object({ r: channel, g: channel, b: channel, c: channel, w: channel }, ['r', 'g', 'b', 'c', 'w']),
}
const COLOR_WORDS: Record<ColorForm, string> = {
  hs: '{h, s} (hue 0–360, saturation 0–100)',
  xy: '{x, y} (CIE 1931, 0–1)',
  rgb: '{r, g, b}',
  rgbw: '{r, g, b, w}',
  rgbww: '{r, g, b, c, w} (c cold white, w warm white)',
}

/** The `color` input for the forms a light takes natively (Home Assistant would also convert between them). */
export function colorInput(forms: ColorForm[]): JsonSchema {
  const description = `the colour, one of: ${forms.map((f) => COLOR_WORDS[f]).join('; ')}`
  if (forms.length === 1) return { ...COLOR_SCHEMAS[forms[0] as ColorForm], description }
  return { oneOf: forms.map((f) => COLOR_SCHEMAS[f]), description }
}

/** Which form the input colour has: its keys tell (rgbww has `c`, rgbw has `w`). */
export function colorIs(form: ColorForm): string {
  switch (form) {
    case 'hs':
      return 'input.color.h is defined'
    case 'xy':
      return 'input.color.x is defined'
    case 'rgbww':
      return 'input.color.c is defined'
    case 'rgbw':
      return '(input.color.w is defined and input.color.c is undefined)'
    case 'rgb':
      return '(input.color.r is defined and input.color.w is undefined)'
  }
}

/**
 * Colour temperature as the light takes it: kelvin (`color_temp_kelvin: true`) or mireds (the default). The
 * input is kelvin, as Home Assistant's `light.turn_on` takes it (`color_temp_kelvin`; mireds left the service in
 * 2025); a mired light is sent floor(1,000,000 / K), util/color.py color_temperature_kelvin_to_mired.
 */
export interface ColorTemp {
  kelvin: boolean
  /** the `color_temp_kelvin` input, within the light's range */
  input: Record<string, JsonSchema>
  /** the value sent */
  value: string
  unit: string
}

export function colorTemp(c: Config): ColorTemp {
  const kelvin = boolOf(c, 'color_temp_kelvin', false)
  let minK: number, maxK: number
  if (kelvin) {
    minK = numberOf(c, 'min_kelvin', 2000)
    maxK = numberOf(c, 'max_kelvin', 6535)
  } else {
    // Home Assistant's defaults: 153 and 500 mireds
    minK = Math.ceil(1e6 / numberOf(c, 'max_mireds', 500))
    maxK = Math.floor(1e6 / numberOf(c, 'min_mireds', 153))
  }
  return {
    kelvin,
    input: {
      color_temp_kelvin: {
        type: 'integer',
        minimum: minK,
        maximum: maxK,
        description: 'colour temperature in kelvin',
      },
    },
    value: kelvin ? 'input.color_temp_kelvin' : '((1000000 / input.color_temp_kelvin) | int)',
    unit: kelvin ? 'K' : 'mired',
  }
}

/** `is defined` for the colour temperature input. */
export const CT_GIVEN = 'input.color_temp_kelvin is defined'

/**
 * Brightness 1..255 as the device's `scale`, as Home Assistant computes it: round(b * scale / 255)
 * (util/color.py brightness_to_value, Python's round), never below 1.
 */
export function scaled(expression: string, scale: number): string {
  if (scale === 255) return expression
  const s = `(((${expression}) * ${scale} / 255) | round(0) | int)`
  return `(${s} if ${s} >= 1 else 1)`
}

/** A white level 1..255 on `white_scale`: max(min(round(w / 255 * scale), scale), 1) (schema_json.py). */
export function scaledWhite(expression: string, scale: number): string {
  if (scale === 255) return expression
  const s = `(((${expression}) / 255 * ${scale}) | round(0) | int)`
  return `(${s} if ${s} >= 1 else 1)`
}

/**
 * A template kith built, without the spaces inside its tags and around `|`, `/` and `*` (none of its string
 * literals holds one): a light with every colour mode stays within the engine's 1,024 characters.
 */
export function tight(source: string): string {
  return source
    .replace(/(\{[{%]) /g, '$1')
    .replace(/ ([%}]\})/g, '$1')
    .replace(/ ([|/*]) /g, '$1')
}

/** The effect input: one of `effect_list`, or undefined when the light lists none. */
export function effectInput(c: Config): JsonSchema | undefined {
  const list = strings(c.effect_list)
  return list == null ? undefined : { type: 'string', enum: list, description: 'an effect the light lists' }
}

/** Options Home Assistant's light service takes that kith's light action does not. */
export function noteFlash(c: Config): void {
  for (const key of ['flash_time_short', 'flash_time_long']) {
    if (key in c) unmapped(c, key, 'not_supported', 'kith sends no flash; the light is turned on or off')
  }
}
