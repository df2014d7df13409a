/**
 * What Home Assistant's discovery configs mean, for the importer (homeassistant.ts) and the component
 * builders: the components kith takes and their default risk, the abbreviation tables, and the helpers that
 * read an expanded config (topics, payloads, templates, availability).
 */
import { slugify, topicProblem } from './slug.ts'
import { compileTemplate, TemplateError } from './template.ts'
import { jinjaLiteral, templateExpression } from './template-builders.ts'
import type { AvailabilitySpec, Risk } from './types.ts'
import { Refusal, refuse } from './refusal.ts'
import { unmapped } from './ha-unmapped.ts'

export const HA_COMPONENTS = [
  'sensor',
  'binary_sensor',
  'switch',
  'light',
  'lock',
  'cover',
  'climate',
  'fan',
  'number',
  'select',
  'button',
  'alarm_control_panel',
  'siren',
  'valve',
  'humidifier',
  'water_heater',
  'lawn_mower',
  'vacuum',
  'event',
  'text',
  'scene',
] as const

export type HaComponent = (typeof HA_COMPONENTS)[number]

/** Home Assistant platforms that discovery knows but kith does not turn into capabilities. */
export const UNSUPPORTED = new Set([
  'camera',
  'device_automation',
  'device_tracker',
  'image',
  'notify',
  'tag',
  'update',
])

export const DEFAULT_RISK: Record<HaComponent, Risk> = {
  sensor: 'low',
  binary_sensor: 'low',
  switch: 'medium',
  light: 'medium',
  lock: 'high',
  cover: 'medium',
  climate: 'medium',
  fan: 'medium',
  number: 'medium',
  select: 'medium',
  button: 'medium',
  alarm_control_panel: 'high',
  siren: 'medium',
  valve: 'high',
  humidifier: 'medium',
  water_heater: 'medium',
  lawn_mower: 'medium',
  vacuum: 'medium',
  event: 'low',
  text: 'medium',
  scene: 'medium',
}

export const HIGH_RISK_COVERS = new Set(['garage', 'gate', 'door'])

/** `short=full` pairs separated by white space, as a map (so a key such as `constructor` is only data) */
function pairs(text: string): Map<string, string> {
  return new Map(
    text
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split('=') as [string, string]),
  )
}

// Home Assistant's abbreviation tables (homeassistant/components/mqtt/abbreviations.py)
export const ABBREVIATIONS = pairs(`
  act_t=action_topic act_tpl=action_template atype=automation_type aux_cmd_t=aux_command_topic
  aux_stat_t=aux_state_topic aux_stat_tpl=aux_state_template av_tones=available_tones avty=availability
  avty_mode=availability_mode avty_t=availability_topic avty_tpl=availability_template
  away_mode_cmd_t=away_mode_command_topic away_mode_stat_t=away_mode_state_topic
  away_mode_stat_tpl=away_mode_state_template b_tpl=blue_template bri_cmd_t=brightness_command_topic
  bri_cmd_tpl=brightness_command_template bri_scl=brightness_scale bri_stat_t=brightness_state_topic
  bri_tpl=brightness_template bri_val_tpl=brightness_value_template clr_temp_cmd_t=color_temp_command_topic
  clr_temp_cmd_tpl=color_temp_command_template clr_temp_k=color_temp_kelvin
  clr_temp_stat_t=color_temp_state_topic clr_temp_tpl=color_temp_template
  clr_temp_val_tpl=color_temp_value_template clrm=color_mode clrm_stat_t=color_mode_state_topic
  clrm_val_tpl=color_mode_value_template cmd_off_tpl=command_off_template cmd_on_tpl=command_on_template
  cmd_t=command_topic cmd_tpl=command_template cmps=components cod_arm_req=code_arm_required
  cod_dis_req=code_disarm_required cod_trig_req=code_trigger_required cont_type=content_type
  curr_hum_t=current_humidity_topic curr_hum_tpl=current_humidity_template
  curr_temp_t=current_temperature_topic curr_temp_tpl=current_temperature_template
  def_ent_id=default_entity_id dev=device dev_cla=device_class dir_cmd_t=direction_command_topic
  dir_cmd_tpl=direction_command_template dir_stat_t=direction_state_topic
  dir_val_tpl=direction_value_template dsp_prc=display_precision e=encoding en=enabled_by_default
  ent_cat=entity_category ent_pic=entity_picture evt_typ=event_types exp_aft=expire_after
  fan_mode_cmd_t=fan_mode_command_topic fan_mode_cmd_tpl=fan_mode_command_template
  fan_mode_stat_t=fan_mode_state_topic fan_mode_stat_tpl=fan_mode_state_template fanspd_lst=fan_speed_list
  flsh=flash flsh_tlng=flash_time_long flsh_tsht=flash_time_short frc_upd=force_update
  fx_cmd_t=effect_command_topic fx_cmd_tpl=effect_command_template fx_list=effect_list
  fx_stat_t=effect_state_topic fx_tpl=effect_template fx_val_tpl=effect_value_template g_tpl=green_template
  hs_cmd_t=hs_command_topic hs_cmd_tpl=hs_command_template hs_stat_t=hs_state_topic
  hs_val_tpl=hs_value_template hum_cmd_t=target_humidity_command_topic
  hum_cmd_tpl=target_humidity_command_template hum_stat_t=target_humidity_state_topic
  hum_state_tpl=target_humidity_state_template ic=icon img_e=image_encoding img_t=image_topic init=initial
  json_attr=json_attributes json_attr_t=json_attributes_topic json_attr_tpl=json_attributes_template
  l_ver_t=latest_version_topic l_ver_tpl=latest_version_template lrst_t=last_reset_topic
  lrst_val_tpl=last_reset_value_template max_hum=max_humidity max_k=max_kelvin max_mirs=max_mireds
  migr_discvry=migrate_discovery min_hum=min_humidity min_k=min_kelvin min_mirs=min_mireds
  mode_cmd_t=mode_command_topic mode_cmd_tpl=mode_command_template mode_stat_t=mode_state_topic
  mode_stat_tpl=mode_state_template o=origin obj_id=object_id off_dly=off_delay on_cmd_type=on_command_type
  ops=options opt=optimistic osc_cmd_t=oscillation_command_topic osc_cmd_tpl=oscillation_command_template
  osc_stat_t=oscillation_state_topic osc_val_tpl=oscillation_value_template p=platform
  pct_cmd_t=percentage_command_topic pct_cmd_tpl=percentage_command_template
  pct_stat_t=percentage_state_topic pct_val_tpl=percentage_value_template pl=payload
  pl_arm_away=payload_arm_away pl_arm_custom_b=payload_arm_custom_bypass pl_arm_home=payload_arm_home
  pl_arm_nite=payload_arm_night pl_arm_vacation=payload_arm_vacation pl_avail=payload_available
  pl_cln_sp=payload_clean_spot pl_cls=payload_close pl_dir_fwd=payload_direction_forward
  pl_dir_rev=payload_direction_reverse pl_disarm=payload_disarm pl_home=payload_home
  pl_inst=payload_install pl_loc=payload_locate pl_lock=payload_lock pl_not_avail=payload_not_available
  pl_not_home=payload_not_home pl_off=payload_off pl_on=payload_on pl_open=payload_open
  pl_osc_off=payload_oscillation_off pl_osc_on=payload_oscillation_on pl_paus=payload_pause
  pl_prs=payload_press pl_ret=payload_return_to_base pl_rst=payload_reset pl_rst_hum=payload_reset_humidity
  pl_rst_mode=payload_reset_mode pl_rst_pct=payload_reset_percentage
  pl_rst_pr_mode=payload_reset_preset_mode pl_stop=payload_stop pl_stop_tilt=payload_stop_tilt
  pl_stpa=payload_start_pause pl_strt=payload_start pl_toff=payload_turn_off pl_ton=payload_turn_on
  pl_trig=payload_trigger pl_unlk=payload_unlock pos=reports_position pos_clsd=position_closed
  pos_open=position_open pos_t=position_topic pos_tpl=position_template pow_cmd_t=power_command_topic
  pow_cmd_tpl=power_command_template pr_mode_cmd_t=preset_mode_command_topic
  pr_mode_cmd_tpl=preset_mode_command_template pr_mode_stat_t=preset_mode_state_topic
  pr_mode_val_tpl=preset_mode_value_template pr_modes=preset_modes ptrn=pattern r_tpl=red_template
  rel_s=release_summary rel_u=release_url ret=retain rgb_cmd_t=rgb_command_topic
  rgb_cmd_tpl=rgb_command_template rgb_stat_t=rgb_state_topic rgb_val_tpl=rgb_value_template
  rgbw_cmd_t=rgbw_command_topic rgbw_cmd_tpl=rgbw_command_template rgbw_stat_t=rgbw_state_topic
  rgbw_val_tpl=rgbw_value_template rgbww_cmd_t=rgbww_command_topic rgbww_cmd_tpl=rgbww_command_template
  rgbww_stat_t=rgbww_state_topic rgbww_val_tpl=rgbww_value_template send_cmd_t=send_command_topic
  set_fan_spd_t=set_fan_speed_topic set_pos_t=set_position_topic set_pos_tpl=set_position_template
  spd_rng_max=speed_range_max spd_rng_min=speed_range_min src_type=source_type stat_cla=state_class
  stat_closing=state_closing stat_clsd=state_closed stat_jam=state_jammed stat_locked=state_locked
  stat_locking=state_locking stat_off=state_off stat_on=state_on stat_open=state_open
  stat_opening=state_opening stat_stopped=state_stopped stat_t=state_topic stat_tpl=state_template
  stat_unlocked=state_unlocked stat_unlocking=state_unlocking stat_val_tpl=state_value_template
  stype=subtype sug_dsp_prc=suggested_display_precision sup_clrm=supported_color_modes
  sup_dur=support_duration sup_feat=supported_features sup_vol=support_volume_set
  swing_mode_cmd_t=swing_mode_command_topic swing_mode_cmd_tpl=swing_mode_command_template
  swing_mode_stat_t=swing_mode_state_topic swing_mode_stat_tpl=swing_mode_state_template
  swing_h_mode_cmd_t=swing_horizontal_mode_command_topic swing_h_mode_cmd_tpl=swing_horizontal_mode_command_template
  swing_h_mode_stat_t=swing_horizontal_mode_state_topic swing_h_mode_stat_tpl=swing_horizontal_mode_state_template t=topic
  temp_cmd_t=temperature_command_topic temp_cmd_tpl=temperature_command_template
  temp_hi_cmd_t=temperature_high_command_topic temp_hi_cmd_tpl=temperature_high_command_template
  temp_hi_stat_t=temperature_high_state_topic temp_hi_stat_tpl=temperature_high_state_template
  temp_lo_cmd_t=temperature_low_command_topic temp_lo_cmd_tpl=temperature_low_command_template
  temp_lo_stat_t=temperature_low_state_topic temp_lo_stat_tpl=temperature_low_state_template
  temp_stat_t=temperature_state_topic temp_stat_tpl=temperature_state_template temp_unit=temperature_unit
  tilt_clsd_val=tilt_closed_value tilt_cmd_t=tilt_command_topic tilt_cmd_tpl=tilt_command_template
  tilt_opnd_val=tilt_opened_value tilt_opt=tilt_optimistic tilt_status_t=tilt_status_topic
  tilt_status_tpl=tilt_status_template tit=title trns=transition uniq_id=unique_id
  unit_of_meas=unit_of_measurement url_t=url_topic url_tpl=url_template val_tpl=value_template
  whit_cmd_t=white_command_topic whit_scl=white_scale xy_cmd_t=xy_command_topic
  xy_cmd_tpl=xy_command_template xy_stat_t=xy_state_topic xy_val_tpl=xy_value_template
`)

export const DEVICE_ABBREVIATIONS = pairs(`
  cns=connections cu=configuration_url hw=hw_version ids=identifiers mdl=model mdl_id=model_id
  mf=manufacturer sa=suggested_area sn=serial_number sw=sw_version via_dev=via_device
`)

export const ORIGIN_ABBREVIATIONS = pairs(`
  sw=sw_version url=support_url
`)

/** A config object after expansion: a null-prototype record, so JSON keys such as `__proto__` stay data. */
export type Config = Record<string, unknown>

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function nullObject(): Config {
  return Object.create(null) as Config
}

/** Expands abbreviated keys; where a config has both forms the full key wins. */
export function expand(raw: Record<string, unknown>, table: Map<string, string>): Config {
  const out = nullObject()
  for (const [key, value] of Object.entries(raw)) {
    const full = table.get(key) ?? key
    if (full === key || !(full in out)) out[full] = value
  }
  return out
}

function substituteBase(config: Config, base: string): void {
  for (const [key, value] of Object.entries(config)) {
    if (!key.endsWith('topic') || typeof value !== 'string' || value === '') continue
    if (value.startsWith('~')) config[key] = base + value.slice(1)
    else if (value.endsWith('~')) config[key] = value.slice(0, -1) + base
  }
}

/** Home Assistant's `~`: a topic value starting or ending with `~` gets the base topic there. */
export function replaceBase(config: Config): void {
  const base = config['~']
  if (typeof base !== 'string') return
  delete config['~']
  substituteBase(config, base)
  if (Array.isArray(config.availability)) {
    config.availability = config.availability.map((item) => {
      if (!isObject(item)) return item
      const entry = expand(item, ABBREVIATIONS)
      substituteBase(entry, base)
      return entry
    })
  }
}

export function text(config: Config, key: string): string | undefined {
  const value = config[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/**
 * A number option as Home Assistant reads it (`vol.Coerce(float)`, `cv.positive_int`): a JSON number or a
 * numeric string (`"min_temp": "5"`, as Zigbee2MQTT sends). Anything else present is counted as `bad_value`
 * and the fallback is used.
 *
 * @example
 * numberOf({ min_temp: '5' }, 'min_temp', 7) // 5
 */
export function numberOf(config: Config, key: string, fallback: number): number {
  const value = config[key]
  if (value == null) return fallback
  const n = coerceNumber(value)
  if (n != null) return n
  unmapped(
    config,
    key,
    'bad_value',
    `${JSON.stringify(value).slice(0, 40)} is not a number; ${fallback} is used`,
  )
  return fallback
}

/** A JSON number, or a string Python's `float()` reads (white space around it allowed); else undefined. */
export function coerceNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string' || !/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value))
    return undefined
  const n = Number(value.trim())
  return Number.isFinite(n) ? n : undefined
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on', 'enable'])
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', 'disable'])

/**
 * A boolean option as Home Assistant reads it (`cv.boolean`): JSON booleans, numbers (non-zero is true) and the
 * words `true/yes/on/enable/1` and `false/no/off/disable/0` in any case. Anything else present is counted as
 * `bad_value` and the fallback is used.
 *
 * @example
 * boolOf({ retain: 'true' }, 'retain', false) // true
 */
export function boolOf(config: Config, key: string, fallback: boolean): boolean {
  const value = config[key]
  if (value == null) return fallback
  if (typeof value === 'boolean') return value
  if (typeof value === 'number' && Number.isFinite(value)) return value !== 0
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase()
    if (TRUE_WORDS.has(word)) return true
    if (FALSE_WORDS.has(word)) return false
  }
  unmapped(
    config,
    key,
    'bad_value',
    `${JSON.stringify(value).slice(0, 40)} is not a boolean; ${fallback} is used`,
  )
  return fallback
}

/** A payload option as Home Assistant reads it (`cv.string`): numbers as digits, booleans as `True`/`False`. */
export function payloadOf(config: Config, key: string, fallback: string): string
export function payloadOf(config: Config, key: string, fallback: null): string | null
export function payloadOf(config: Config, key: string, fallback: string | null): string | null
export function payloadOf(config: Config, key: string, fallback: string | null): string | null {
  const value = config[key]
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (value === null && key in config) return null
  return fallback
}

export function topicOf(config: Config, key: string, required: true): string
export function topicOf(config: Config, key: string, required?: false): string | undefined
export function topicOf(config: Config, key: string, required = false): string | undefined {
  const value = config[key]
  if (value == null || value === '') {
    if (required) refuse('missing_field', `"${key}" is required`)
    return undefined
  }
  const problem = topicProblem(value)
  if (problem != null) refuse('bad_topic', `${key} ${problem}`)
  return value as string
}

/** A template from the config, compiled once to refuse what the subset does not allow. */
export function templateOf(config: Config, key: string): string | undefined {
  const value = config[key]
  if (value == null || value === '') return undefined
  if (typeof value !== 'string') refuse('bad_template', `${key} is not a string`)
  checked(value, key)
  return value
}

/**
 * A template for a reading that the entity can do without: one the subset refuses is counted as
 * `not_supported` (with the engine's reason) and left out, instead of refusing the whole entity.
 */
export function readingTemplateOf(config: Config, key: string): { ok: boolean; template?: string } {
  try {
    return { ok: true, template: templateOf(config, key) }
  } catch (err) {
    if (!(err instanceof Refusal)) throw err
    unmapped(config, key, 'not_supported', `${err.message}; the reading is left out`)
    return { ok: false }
  }
}

/**
 * Runs `build` (one optional part of an entity); a template in it that the subset refuses loses only that part:
 * `key` is counted as `not_supported` and undefined returned, instead of refusing the whole entity.
 */
export function attempt<T>(config: Config, key: string, build: () => T): T | undefined {
  try {
    return build()
  } catch (err) {
    if (!(err instanceof Refusal) || err.reason !== 'bad_template') throw err
    unmapped(config, key, 'not_supported', `${err.message}; this part is left out`)
    return undefined
  }
}

export function checked(source: string, what: string): string {
  try {
    compileTemplate(source)
  } catch (err) {
    if (err instanceof TemplateError) refuse('bad_template', `${what}: ${err.message}`)
    throw err
  }
  return source
}

/** A template kith builds that may grow past the limits (long device templates inside): undefined then. */
export function optional(source: string): string | undefined {
  try {
    compileTemplate(source)
    return source
  } catch {
    return undefined
  }
}

/** The expression a state is read with: the value template's, or the payload itself. */
export function stateExpression(template: string | undefined): string | undefined {
  return template == null ? 'value' : templateExpression(template)
}

export const lit = jinjaLiteral

export function equals(expression: string, target: string): string {
  return `((${expression}) | string) == ${target}`
}

/** A config's list of words: strings only, each at most 256 characters, at most 256, no repeats. */
export function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined
  const list = value
    .filter((v): v is string => typeof v === 'string' && v !== '' && v.length <= 256)
    .slice(0, 256)
  return list.length > 0 ? [...new Set(list)] : undefined
}

export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key]
  return value
}

export function humanize(id: string): string {
  const words = id.replace(/[_-]+/g, ' ').trim()
  return words === '' ? id : words[0]?.toUpperCase() + words.slice(1)
}

/** The part name for an entity: its object id without the node or device prefix Tasmota-style ids carry. */
export function partBase(objectId: string, prefixes: (string | undefined)[]): string {
  let base = slugify(objectId)
  for (const prefix of prefixes) {
    const p = prefix == null ? '' : slugify(prefix)
    if (p !== '' && base.startsWith(`${p}_`) && base.length > p.length + 1) base = base.slice(p.length + 1)
  }
  return base === '' ? 'entity' : base.slice(0, 64)
}

export function availabilityOf(config: Config): {
  specs: AvailabilitySpec[]
  mode?: 'all' | 'any' | 'latest'
} {
  const specs: AvailabilitySpec[] = []
  const add = (entry: Config, topicKey: string, templateKey: string) => {
    const template = templateOf(entry, templateKey)
    specs.push(
      compact({
        topic: topicOf(entry, topicKey, true),
        value: template,
        online: [payloadOf(entry, 'payload_available', 'online')],
        offline: [payloadOf(entry, 'payload_not_available', 'offline')],
      }),
    )
  }
  if (Array.isArray(config.availability)) {
    for (const item of config.availability.slice(0, 16)) {
      if (!isObject(item)) refuse('not_an_object', 'an availability entry is not an object')
      add(expand(item, ABBREVIATIONS), 'topic', 'value_template')
    }
  }
  if (config.availability_topic != null) add(config, 'availability_topic', 'availability_template')
  const mode = config.availability_mode
  return { specs, mode: mode === 'all' || mode === 'any' || mode === 'latest' ? mode : undefined }
}
