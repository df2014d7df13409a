/**
 * Home Assistant MQTT lights, by schema: `default`/`basic` (ha-light-basic.ts, one topic per attribute),
 * `json` (ha-light-json.ts) and `template` (ha-light-template.ts); what they share is in ha-light-shared.ts.
 *
 * One action per light, `<light>`: `{on, brightness?, color_temp_kelvin?, color?, effect?, white?}`,
 * so a household agent makes one call for what Home Assistant's `light.turn_on` does in one service call.
 * Sources: homeassistant/components/mqtt/light/schema_json.py, schema_template.py and schema_basic.py
 * (`async_turn_on`), and homeassistant/util/color.py for the mired/kelvin conversion.
 */ import { refuse } from './refusal.ts'
import { text } from './homeassistant-config.ts'
import type { Ctx, Draft } from './homeassistant-parts.ts'
import { basicLightParts } from './ha-light-basic.ts'
import { jsonLightParts } from './ha-light-json.ts'
import { templateLightParts } from './ha-light-template.ts'

export function lightParts(ctx: Ctx): Draft[] {
  const schema = text(ctx.c, 'schema') ?? 'default'
  if (schema === 'json') return jsonLightParts(ctx)
  if (schema === 'template') return templateLightParts(ctx)
  if (schema !== 'default' && schema !== 'basic')
    refuse('bad_option', `light schema "${schema}" is not one of default, json, template`)
  return basicLightParts(ctx)
}
