/**
 * Home Assistant MQTT discovery: retained configs on `<prefix>/<component>/[<node_id>/]<object_id>/config`
 * (and the device-based form on `<prefix>/device/<object_id>/config`, a `cmps` map of components) become
 * {@link DeviceSpec}s, one per Home Assistant device. Keys are expanded from Home Assistant's abbreviation
 * table and `~` is replaced by the base topic, as Home Assistant does. Payload templates send what Home
 * Assistant would send (`payload_on`, `command_template` applied to the value, JSON bodies for JSON lights),
 * built only from the config's literals and the action's validated input.
 *
 * Every message is checked and refused with a counted reason rather than thrown: `oversize`,
 * `malformed_json`, `not_an_object`, `unknown_component`, `unsupported_component`, `bad_topic`,
 * `bad_template`, `missing_field`, `too_many_devices`, `too_many_entities`.
 */
import { fitId, IdAllocator, MAX_PART_ID, shortHash, slugify, topicProblem } from './slug.ts'
import {
  compileTemplate,
  jinjaLiteral,
  substituteVariables,
  TemplateError,
  templateExpression,
} from './template.ts'
import type {
  ActionSpec,
  AvailabilitySpec,
  DeviceSpec,
  DiscoveryImporter,
  JsonSchema,
  Risk,
  SensorSpec,
} from './types.ts'
import { importing, type ImportResult, Refusal, refuse } from './refusal.ts'

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
] as const
export type HaComponent = (typeof HA_COMPONENTS)[number]

/** Home Assistant platforms that discovery knows but kith does not turn into capabilities. */
const UNSUPPORTED = new Set([
  'camera',
  'device_automation',
  'device_tracker',
  'event',
  'humidifier',
  'image',
  'lawn_mower',
  'notify',
  'scene',
  'tag',
  'text',
  'update',
  'vacuum',
  'water_heater',
])

export interface HomeAssistantImporterInit {
  /** discovery prefix; default `homeassistant` */
  prefix?: string
  /** risk per component, over the defaults (lock, alarm panel, garage/gate/door cover, valve: high) */
  risk?: Partial<Record<HaComponent, Risk>>
  /** larger config payloads are refused (`oversize`); default 16 KiB */
  maxPayloadBytes?: number
  /** configs for further devices are refused (`too_many_devices`); default 256 */
  maxDevices?: number
  /** configs for further entities of one device are refused (`too_many_entities`); default 128 */
  maxEntitiesPerDevice?: number
  /** ms an action waits for its state topic to confirm; default 5000 */
  confirmTimeout?: number
}

const DEFAULT_RISK: Record<HaComponent, Risk> = {
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
}
const HIGH_RISK_COVERS = new Set(['garage', 'gate', 'door'])

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
const ABBREVIATIONS = pairs(`
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
  swing_mode_stat_t=swing_mode_state_topic swing_mode_stat_tpl=swing_mode_state_template t=topic
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
const DEVICE_ABBREVIATIONS = pairs(`
  cns=connections cu=configuration_url hw=hw_version ids=identifiers mdl=model mdl_id=model_id
  mf=manufacturer sa=suggested_area sn=serial_number sw=sw_version via_dev=via_device
`)
const ORIGIN_ABBREVIATIONS = pairs(`
  sw=sw_version url=support_url
`)

const NUMERIC_SENSOR_CLASSES = new Set([
  'apparent_power',
  'aqi',
  'atmospheric_pressure',
  'battery',
  'carbon_dioxide',
  'carbon_monoxide',
  'current',
  'distance',
  'energy',
  'frequency',
  'gas',
  'humidity',
  'illuminance',
  'moisture',
  'pm1',
  'pm10',
  'pm25',
  'power',
  'power_factor',
  'pressure',
  'reactive_power',
  'signal_strength',
  'sound_pressure',
  'speed',
  'temperature',
  'voltage',
  'volatile_organic_compounds',
  'volume',
  'water',
  'weight',
  'wind_speed',
])

/** A config object after expansion: a null-prototype record, so JSON keys such as `__proto__` stay data. */
type Config = Record<string, unknown>

/** A part before the device assigns ids: the suffix goes after the entity's base name. */
type Draft =
  { suffix: string; sensor: Omit<SensorSpec, 'id'> } | { suffix: string; action: Omit<ActionSpec, 'id'> }

interface DeviceInfo {
  name?: string
  manufacturer?: string
  model?: string
}

interface Entity {
  key: string
  source: string
  component: HaComponent
  deviceKey: string
  /** what the device id is made from: its first identifier, node id or unique id */
  deviceLabel: string
  base: string
  title: string
  device: DeviceInfo
  origin?: string
  drafts: Draft[]
  availability: AvailabilitySpec[]
  availabilityMode?: 'all' | 'any' | 'latest'
}

interface DeviceRecord {
  id: string
  entities: Set<string>
  /** the spec last reported, as JSON, so identical retained re-deliveries report nothing */
  last?: string
}

type Result = ImportResult

const NODE_OR_OBJECT_ID = /^[a-zA-Z0-9_-]+$/

/**
 * Imports Home Assistant MQTT discovery configs.
 *
 * @example
 * const ha = new HomeAssistantImporter()
 * const { events } = ha.handle('homeassistant/switch/plug/config', new TextEncoder().encode(
 *   '{"name":"Plug","cmd_t":"plug/set","stat_t":"plug/state","uniq_id":"plug1"}'))
 * // events[0]: { type: 'upsert', device: { id: 'plug1', actions: [{ id: 'plug', … }], … } }
 */
export class HomeAssistantImporter implements DiscoveryImporter {
  readonly source = 'homeassistant' as const
  readonly subscriptions: string[]
  readonly #prefix: string
  readonly #risk: Partial<Record<HaComponent, Risk>>
  readonly #maxPayloadBytes: number
  readonly #maxDevices: number
  readonly #maxEntities: number
  readonly #timeout: number
  readonly #entities = new Map<string, Entity>()
  /** config topic → keys of the entities it declared */
  readonly #sources = new Map<string, string[]>()
  readonly #devices = new Map<string, DeviceRecord>()
  readonly #ids = new IdAllocator()

  constructor(init: HomeAssistantImporterInit = {}) {
    this.#prefix = init.prefix ?? 'homeassistant'
    this.#risk = { ...init.risk }
    this.#maxPayloadBytes = init.maxPayloadBytes ?? 16 * 1024
    this.#maxDevices = init.maxDevices ?? 256
    this.#maxEntities = init.maxEntitiesPerDevice ?? 128
    this.#timeout = init.confirmTimeout ?? 5_000
    // `+/+/config` also covers the device-based form, `<prefix>/device/<object_id>/config`
    this.subscriptions = [`${this.#prefix}/+/+/config`, `${this.#prefix}/+/+/+/config`]
  }

  handle(topic: string, payload: Uint8Array): Result {
    return importing(topic, (result) => this.#handle(topic, payload, result))
  }

  #handle(topic: string, payload: Uint8Array, result: Result): void {
    const levels = typeof topic === 'string' && topic.startsWith(`${this.#prefix}/`) ? topic.split('/') : []
    const rest = levels.slice(this.#prefix.split('/').length)
    if ((rest.length !== 3 && rest.length !== 4) || rest.at(-1) !== 'config') {
      refuse('bad_topic', 'not a discovery topic: <prefix>/<component>/[<node_id>/]<object_id>/config')
    }
    const [component = '', ...ids] = rest.slice(0, -1)
    if (!/^\w+$/.test(component) || !ids.every((id) => NODE_OR_OBJECT_ID.test(id))) {
      refuse('bad_topic', 'component, node id and object id must be letters, digits, "_" or "-"')
    }
    const nodeId = ids.length === 2 ? ids[0] : undefined
    const objectId = ids.at(-1) as string
    if (!(payload instanceof Uint8Array)) refuse('not_an_object', 'payload is not bytes')
    if (payload.byteLength > this.#maxPayloadBytes) {
      refuse(
        'oversize',
        `config of ${payload.byteLength} bytes is over the ${this.#maxPayloadBytes}-byte limit`,
      )
    }
    if (payload.byteLength === 0) {
      this.#replace(topic, [], result)
      return
    }
    let raw: unknown
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
    } catch (err) {
      refuse('malformed_json', `config is not JSON: ${(err as Error).message}`)
    }
    if (!isObject(raw)) refuse('not_an_object', 'config is not a JSON object')

    const entities: Entity[] = []
    if (component === 'device') {
      const root = expand(raw, ABBREVIATIONS)
      const components = root.components
      if (!isObject(components)) refuse('missing_field', 'a device config needs a "cmps" (components) object')
      const shared = nullObject()
      for (const [key, value] of Object.entries(root)) {
        if (key !== 'components') shared[key] = value
      }
      for (const [componentId, value] of Object.entries(components)) {
        const key = `${topic}#${componentId}`
        try {
          if (!NODE_OR_OBJECT_ID.test(componentId))
            refuse('bad_topic', `component id "${componentId}" is not valid`)
          if (!isObject(value)) refuse('not_an_object', `component "${componentId}" is not an object`)
          const config = expand(value, ABBREVIATIONS)
          const platform = config.platform
          delete config.platform
          // a component reduced to its platform is Home Assistant's way of removing it
          if (Object.keys(config).length === 0) continue
          const merged = Object.assign(nullObject(), shared, config)
          entities.push(this.#entity(key, topic, platform, merged, nodeId ?? objectId, componentId))
        } catch (err) {
          if (!(err instanceof Refusal)) throw err
          result.rejections.push({ reason: err.reason, topic, message: `${componentId}: ${err.message}` })
          const previous = this.#entities.get(key)
          if (previous != null) entities.push(previous)
        }
      }
    } else {
      entities.push(this.#entity(topic, topic, component, expand(raw, ABBREVIATIONS), nodeId, objectId))
    }
    this.#replace(topic, entities, result)
  }

  /** Builds one entity from an expanded config; throws a {@link Refusal}. */
  #entity(
    key: string,
    source: string,
    platform: unknown,
    config: Config,
    nodeId: string | undefined,
    objectId: string,
  ): Entity {
    if (typeof platform !== 'string' || !(HA_COMPONENTS as readonly string[]).includes(platform)) {
      const name = typeof platform === 'string' ? platform : JSON.stringify(platform)
      if (typeof platform === 'string' && UNSUPPORTED.has(platform)) {
        refuse('unsupported_component', `Home Assistant component "${name}" is not imported by kith`)
      }
      refuse('unknown_component', `unknown component "${name}"`)
    }
    const component = platform as HaComponent
    replaceBase(config)
    const device = isObject(config.device) ? expand(config.device, DEVICE_ABBREVIATIONS) : nullObject()
    const origin = isObject(config.origin) ? expand(config.origin, ORIGIN_ABBREVIATIONS) : undefined
    const identifiers = Array.isArray(device.identifiers) ? device.identifiers : [device.identifiers]
    const identifier = identifiers.find((id): id is string => typeof id === 'string' && id !== '')
    const connection = Array.isArray(device.connections) ? device.connections.find(Array.isArray) : undefined
    const uniqueId = text(config, 'unique_id')
    let deviceKey: string
    let label: string
    if (identifier != null) [deviceKey, label] = [`ids:${identifier}`, identifier]
    else if (connection != null) [deviceKey, label] = [`cns:${connection.join(':')}`, connection.join('_')]
    else if (nodeId != null) [deviceKey, label] = [`node:${nodeId}`, nodeId]
    else if (uniqueId != null) [deviceKey, label] = [`uid:${uniqueId}`, uniqueId]
    else [deviceKey, label] = [`obj:${objectId}`, objectId]

    const info: DeviceInfo = compact({
      name: text(device, 'name'),
      manufacturer: text(device, 'manufacturer'),
      model: text(device, 'model'),
    })
    const deviceClass = text(config, 'device_class')
    const coverRisk =
      component === 'cover' && deviceClass != null && HIGH_RISK_COVERS.has(deviceClass) ? 'high' : undefined
    const ctx: Ctx = {
      c: config,
      title: text(config, 'name') ?? info.name ?? humanize(objectId),
      risk: this.#risk[component] ?? coverRisk ?? DEFAULT_RISK[component],
      timeout: this.#timeout,
    }
    const { specs, mode } = availabilityOf(config)
    return compact({
      key,
      source,
      component,
      deviceKey,
      deviceLabel: label,
      base: partBase(objectId, [nodeId, label, info.name]),
      title: ctx.title,
      device: info,
      origin: origin != null ? text(origin, 'name') : undefined,
      drafts: BUILDERS[component](ctx),
      availability: specs,
      availabilityMode: mode,
    })
  }

  /** Makes `entities` the whole declaration of config topic `source` and reports the devices that changed. */
  #replace(source: string, entities: Entity[], result: Result): void {
    const touched = new Set<string>()
    const keep = new Set(entities.map((e) => e.key))
    for (const key of this.#sources.get(source) ?? []) {
      if (keep.has(key)) continue
      const old = this.#entities.get(key)
      if (old != null) this.#detach(old, touched)
    }
    const kept: string[] = []
    for (const entity of entities) {
      const old = this.#entities.get(entity.key)
      if (old != null && old.deviceKey !== entity.deviceKey) this.#detach(old, touched)
      let record = this.#devices.get(entity.deviceKey)
      if (record == null) {
        if (this.#devices.size >= this.#maxDevices) {
          result.rejections.push({
            reason: 'too_many_devices',
            topic: source,
            message: `already ${this.#maxDevices} devices; refusing ${entity.deviceKey}`,
          })
          continue
        }
        record = { id: this.#ids.claim(entity.deviceKey, entity.deviceLabel), entities: new Set() }
        this.#devices.set(entity.deviceKey, record)
      }
      if (!record.entities.has(entity.key) && record.entities.size >= this.#maxEntities) {
        result.rejections.push({
          reason: 'too_many_entities',
          topic: source,
          message: `device ${record.id} already has ${this.#maxEntities} entities`,
        })
        if (record.entities.size === 0) this.#drop(entity.deviceKey)
        continue
      }
      record.entities.add(entity.key)
      this.#entities.set(entity.key, entity)
      touched.add(entity.deviceKey)
      kept.push(entity.key)
    }
    if (kept.length > 0) this.#sources.set(source, kept)
    else this.#sources.delete(source)
    for (const deviceKey of [...touched].sort()) this.#report(deviceKey, result)
  }

  #detach(entity: Entity, touched: Set<string>): void {
    this.#entities.delete(entity.key)
    this.#devices.get(entity.deviceKey)?.entities.delete(entity.key)
    touched.add(entity.deviceKey)
  }

  #drop(deviceKey: string): void {
    this.#devices.delete(deviceKey)
    this.#ids.release(deviceKey)
  }

  #report(deviceKey: string, result: Result): void {
    const record = this.#devices.get(deviceKey)
    if (record == null) return
    if (record.entities.size === 0) {
      this.#drop(deviceKey)
      if (record.last != null) result.events.push({ type: 'remove', deviceId: record.id })
      return
    }
    const device = this.#build(record)
    const json = JSON.stringify(device)
    if (json === record.last) return
    record.last = json
    result.events.push({ type: 'upsert', device })
  }

  #build(record: DeviceRecord): DeviceSpec {
    const entities = [...record.entities].sort().map((key) => this.#entities.get(key) as Entity)
    const sensors: SensorSpec[] = []
    const actions: ActionSpec[] = []
    const bases = new Set<string>()
    const ids = new Set<string>()
    for (const entity of entities) {
      let base = entity.base
      if (bases.has(base)) base = `${base}_${shortHash(entity.key, 4)}`
      bases.add(base)
      for (const draft of entity.drafts) {
        let id = fitId(base + draft.suffix, entity.key + draft.suffix, MAX_PART_ID)
        if (ids.has(id))
          id = fitId(`${base}${draft.suffix}_${shortHash(entity.key + draft.suffix, 4)}`, id, MAX_PART_ID)
        ids.add(id)
        if ('sensor' in draft) sensors.push({ id, ...draft.sensor })
        else actions.push({ id, ...draft.action })
      }
    }
    const availability: AvailabilitySpec[] = []
    const seen = new Set<string>()
    for (const spec of entities.flatMap((e) => e.availability)) {
      const json = JSON.stringify(spec)
      if (seen.has(json)) continue
      seen.add(json)
      availability.push(spec)
    }
    const info = entities.find((e) => e.device.name != null)?.device ?? entities[0]?.device ?? {}
    const origin = entities.find((e) => e.origin != null)?.origin
    const components = [...new Set(entities.map((e) => e.component))].sort()
    return compact({
      id: record.id,
      title: info.name ?? entities[0]?.title ?? record.id,
      description: `Imported from Home Assistant MQTT discovery${origin != null ? ` (published by ${origin})` : ''}.`,
      tags: [
        'homeassistant',
        ...components,
        ...(origin != null && slugify(origin) !== '' ? [slugify(origin)] : []),
      ],
      source: 'homeassistant' as const,
      manufacturer: info.manufacturer,
      model: info.model,
      sensors,
      actions,
      availability,
      availabilityMode: entities.find((e) => e.availabilityMode != null)?.availabilityMode,
    })
  }
}

// ---- config helpers ----

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nullObject(): Config {
  return Object.create(null) as Config
}

/** Expands abbreviated keys; where a config has both forms the full key wins. */
function expand(raw: Record<string, unknown>, table: Map<string, string>): Config {
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
function replaceBase(config: Config): void {
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

function text(config: Config, key: string): string | undefined {
  const value = config[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

function numberOf(config: Config, key: string, fallback: number): number {
  const value = config[key]
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}

/** A payload option as Home Assistant reads it (`cv.string`): numbers as digits, booleans as `True`/`False`. */
function payloadOf(config: Config, key: string, fallback: string): string
function payloadOf(config: Config, key: string, fallback: null): string | null
function payloadOf(config: Config, key: string, fallback: string | null): string | null
function payloadOf(config: Config, key: string, fallback: string | null): string | null {
  const value = config[key]
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (value === null && key in config) return null
  return fallback
}

function topicOf(config: Config, key: string, required: true): string
function topicOf(config: Config, key: string, required?: false): string | undefined
function topicOf(config: Config, key: string, required = false): string | undefined {
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
function templateOf(config: Config, key: string): string | undefined {
  const value = config[key]
  if (value == null || value === '') return undefined
  if (typeof value !== 'string') refuse('bad_template', `${key} is not a string`)
  checked(value, key)
  return value
}

function checked(source: string, what: string): string {
  try {
    compileTemplate(source)
  } catch (err) {
    if (err instanceof TemplateError) refuse('bad_template', `${what}: ${err.message}`)
    throw err
  }
  return source
}

/** A template kith builds that may grow past the limits (long device templates inside): undefined then. */
function optional(source: string): string | undefined {
  try {
    compileTemplate(source)
    return source
  } catch {
    return undefined
  }
}

/** The expression a state is read with: the value template's, or the payload itself. */
function stateExpression(template: string | undefined): string | undefined {
  return template == null ? 'value' : templateExpression(template)
}

const lit = jinjaLiteral

function equals(expression: string, target: string): string {
  return `((${expression}) | string) == ${target}`
}

function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key]
  return value
}

function humanize(id: string): string {
  const words = id.replace(/[_-]+/g, ' ').trim()
  return words === '' ? id : words[0]?.toUpperCase() + words.slice(1)
}

/** The part name for an entity: its object id without the node or device prefix Tasmota-style ids carry. */
function partBase(objectId: string, prefixes: (string | undefined)[]): string {
  let base = slugify(objectId)
  for (const prefix of prefixes) {
    const p = prefix == null ? '' : slugify(prefix)
    if (p !== '' && base.startsWith(`${p}_`) && base.length > p.length + 1) base = base.slice(p.length + 1)
  }
  return base === '' ? 'entity' : base.slice(0, 64)
}

function availabilityOf(config: Config): { specs: AvailabilitySpec[]; mode?: 'all' | 'any' | 'latest' } {
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

// ---- components ----

interface Ctx {
  c: Config
  title: string
  risk: Risk
  timeout: number
}

function object(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false }
}

function action(ctx: Ctx, suffix: string, spec: Omit<ActionSpec, 'id' | 'risk'>): Draft {
  const retain = ctx.c.retain === true ? true : undefined
  return { suffix, action: compact({ ...spec, risk: ctx.risk, retain }) }
}

function sensor(suffix: string, spec: Omit<SensorSpec, 'id'>): Draft {
  return { suffix, sensor: compact(spec) }
}

function confirm(topic: string | undefined, when: string | undefined, ctx: Ctx): ActionSpec['confirm'] {
  if (topic == null || when == null) return undefined
  const source = optional(when)
  return source == null ? undefined : { topic, when: source, timeout: ctx.timeout }
}

/** The command payload: the config's command template with `value` (and friends) bound to input expressions. */
function commandPayload(
  template: string | undefined,
  variables: Record<string, string>,
  what: string,
): string {
  const source = template == null ? `{{ ${variables.value} }}` : substituteVariables(template, variables)
  return checked(source, what)
}

/** A sensor reading a state as true/false by two words, or the raw state when its template is not one expression. */
function booleanState(
  title: string,
  kind: string,
  topic: string,
  template: string | undefined,
  on: string,
  off: string,
): Omit<SensorSpec, 'id'> {
  const e = stateExpression(template)
  const value =
    e == null
      ? undefined
      : optional(`{% if ${equals(e, lit(on))} %}true{% elif ${equals(e, lit(off))} %}false{% endif %}`)
  return value != null
    ? { title, kind, topic, value, schema: { type: 'boolean' } }
    : { title, kind, topic, value: template }
}

interface OnOff {
  suffix: string
  title: string
  description: string
  command: string
  on: string
  off: string
  template?: string
  state?: string
  stateTemplate?: string
  stateOn: string
  stateOff: string
}

function onOff(ctx: Ctx, o: OnOff): Draft[] {
  const choice = `${lit(o.on)} if input.on else ${lit(o.off)}`
  const drafts: Draft[] = []
  const e = stateExpression(o.stateTemplate)
  drafts.push(
    action(ctx, o.suffix, {
      title: o.title,
      description: o.description,
      input: object({ on: { type: 'boolean', description: 'true to turn on, false to turn off' } }, ['on']),
      commandTopic: o.command,
      payload: commandPayload(o.template, { value: `(${choice})` }, 'command_template'),
      confirm: confirm(
        o.state,
        e && `{{ ${equals(e, `(${lit(o.stateOn)} if input.on else ${lit(o.stateOff)})`)} }}`,
        ctx,
      ),
    }),
  )
  if (o.state != null) {
    drafts.push(
      sensor(
        `${o.suffix}_state`,
        booleanState(`${o.title} state`, 'state', o.state, o.stateTemplate, o.stateOn, o.stateOff),
      ),
    )
  }
  return drafts
}

function sensorParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const deviceClass = text(c, 'device_class')
  const unit = text(c, 'unit_of_measurement')
  const numeric =
    unit != null || text(c, 'state_class') != null || NUMERIC_SENSOR_CLASSES.has(deviceClass ?? '')
  return [
    sensor('', {
      title: ctx.title,
      kind: deviceClass ?? 'value',
      topic: topicOf(c, 'state_topic', true),
      value: templateOf(c, 'value_template'),
      unit,
      schema: numeric ? { type: 'number' } : undefined,
    }),
  ]
}

function binaryKind(deviceClass: string | undefined): string {
  if (deviceClass == null) return 'state'
  if (['door', 'window', 'opening', 'garage_door'].includes(deviceClass)) return 'contact'
  if (['motion', 'occupancy', 'presence', 'moving'].includes(deviceClass)) return 'motion'
  return deviceClass
}

function binarySensorParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const topic = topicOf(c, 'state_topic', true)
  const template = templateOf(c, 'value_template')
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  return [sensor('', booleanState(ctx.title, binaryKind(text(c, 'device_class')), topic, template, on, off))]
}

function switchParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  return onOff(ctx, {
    suffix: '',
    title: ctx.title,
    description: `Turns ${ctx.title} on or off.`,
    command: topicOf(c, 'command_topic', true),
    on,
    off,
    state: topicOf(c, 'state_topic'),
    stateTemplate: templateOf(c, 'value_template'),
    stateOn: payloadOf(c, 'state_on', on),
    stateOff: payloadOf(c, 'state_off', off),
  })
}

/** Brightness 1..255 (Home Assistant's scale) as the device's, never rounded down to 0. */
function scaledBrightness(scale: number): string {
  if (scale === 255) return 'input.brightness'
  return `(((input.brightness * ${scale} / 255) | round(0)) if input.brightness * ${scale * 2} > 255 else 1)`
}

const BRIGHTNESS: JsonSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 255,
  description: 'brightness from 1 to 255',
}

function lightParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const schema = text(c, 'schema') ?? 'default'
  const command = topicOf(c, 'command_topic', true)
  const state = topicOf(c, 'state_topic')
  const scale = numberOf(c, 'brightness_scale', 255)
  if (schema === 'json') {
    const modes = Array.isArray(c.supported_color_modes) ? c.supported_color_modes : []
    const dimmable = c.brightness === true || modes.some((m) => typeof m === 'string' && m !== 'onoff')
    const bri = scaledBrightness(scale)
    const payload = dimmable
      ? `{% if input.on %}{"state":"ON"{% if input.brightness is defined %},"brightness":{{ ${bri} }}{% endif %}}{% else %}{"state":"OFF"}{% endif %}`
      : `{% if input.on %}{"state":"ON"}{% else %}{"state":"OFF"}{% endif %}`
    const when = dimmable
      ? `{{ value_json.state == ('ON' if input.on else 'OFF') and (not input.on or input.brightness is undefined or value_json.brightness == ${bri}) }}`
      : `{{ value_json.state == ('ON' if input.on else 'OFF') }}`
    const drafts: Draft[] = [
      action(ctx, '', {
        title: ctx.title,
        description: `Turns ${ctx.title} on or off${dimmable ? ', optionally at a brightness' : ''}.`,
        input: object({ on: { type: 'boolean' }, ...(dimmable ? { brightness: BRIGHTNESS } : {}) }, ['on']),
        commandTopic: command,
        payload: checked(payload, 'light payload'),
        confirm: confirm(state, when, ctx),
      }),
    ]
    if (state != null)
      drafts.push(
        sensor(
          '_state',
          booleanState(`${ctx.title} state`, 'state', state, '{{ value_json.state }}', 'ON', 'OFF'),
        ),
      )
    return drafts
  }
  if (schema === 'template') {
    const onTemplate =
      templateOf(c, 'command_on_template') ?? refuse('missing_field', '"command_on_template" is required')
    const offTemplate =
      templateOf(c, 'command_off_template') ?? refuse('missing_field', '"command_off_template" is required')
    const on = substituteVariables(onTemplate, { state: "'on'", brightness: 'input.brightness' })
    const off = substituteVariables(offTemplate, { state: "'off'" })
    const e = stateExpression(templateOf(c, 'state_template'))
    return [
      action(ctx, '', {
        title: ctx.title,
        description: `Turns ${ctx.title} on or off.`,
        input: object({ on: { type: 'boolean' }, brightness: BRIGHTNESS }, ['on']),
        commandTopic: command,
        payload: checked(`{% if input.on %}${on}{% else %}${off}{% endif %}`, 'command templates'),
        confirm: confirm(state, e && `{{ ${equals(e, "('on' if input.on else 'off')")} }}`, ctx),
      }),
    ]
  }
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  const drafts = onOff(ctx, {
    suffix: '',
    title: ctx.title,
    description: `Turns ${ctx.title} on or off.`,
    command,
    on,
    off,
    state,
    stateTemplate: templateOf(c, 'state_value_template'),
    stateOn: on,
    stateOff: off,
  })
  const brightnessCommand = topicOf(c, 'brightness_command_topic')
  if (brightnessCommand != null) {
    const bri = scaledBrightness(scale)
    const e = stateExpression(templateOf(c, 'brightness_value_template'))
    drafts.push(
      action(ctx, '_brightness', {
        title: `${ctx.title} brightness`,
        description: `Sets the brightness of ${ctx.title}.`,
        input: object({ brightness: BRIGHTNESS }, ['brightness']),
        commandTopic: brightnessCommand,
        payload: commandPayload(
          templateOf(c, 'brightness_command_template'),
          { value: bri },
          'brightness_command_template',
        ),
        confirm: confirm(
          topicOf(c, 'brightness_state_topic'),
          e && `{{ ((${e}) | int(-1)) == ${bri} }}`,
          ctx,
        ),
      }),
    )
  }
  return drafts
}

function lockParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const command = topicOf(c, 'command_topic', true)
  const state = topicOf(c, 'state_topic')
  const template = templateOf(c, 'command_template')
  const stateTemplate = templateOf(c, 'value_template')
  const lock = payloadOf(c, 'payload_lock', 'LOCK')
  const unlock = payloadOf(c, 'payload_unlock', 'UNLOCK')
  const locked = payloadOf(c, 'state_locked', 'LOCKED')
  const unlocked = payloadOf(c, 'state_unlocked', 'UNLOCKED')
  const e = stateExpression(stateTemplate)
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Locks or unlocks ${ctx.title}.`,
      input: object({ locked: { type: 'boolean', description: 'true to lock, false to unlock' } }, [
        'locked',
      ]),
      commandTopic: command,
      payload: commandPayload(
        template,
        { value: `(${lit(lock)} if input.locked else ${lit(unlock)})` },
        'command_template',
      ),
      confirm: confirm(
        state,
        e && `{{ ${equals(e, `(${lit(locked)} if input.locked else ${lit(unlocked)})`)} }}`,
        ctx,
      ),
    }),
  ]
  const open = payloadOf(c, 'payload_open', null)
  if ('payload_open' in c && open != null) {
    drafts.push(
      action(ctx, '_open', {
        title: `Open ${ctx.title}`,
        description: `Unlatches ${ctx.title} (opens the door).`,
        input: object({}),
        commandTopic: command,
        payload: commandPayload(template, { value: lit(open) }, 'command_template'),
      }),
    )
  }
  if (state != null)
    drafts.push(
      sensor('_state', { title: `${ctx.title} state`, kind: 'lock', topic: state, value: stateTemplate }),
    )
  return drafts
}

/** Open/close/stop for covers and valves, confirmed by the state words (or their -ing forms). */
function openClose(
  ctx: Ctx,
  command: string | undefined,
  state: string | undefined,
  stopDefault: string | null,
): Draft[] {
  const { c } = ctx
  if (command == null) return []
  const payloads: [string, string | null][] = [
    ['open', payloadOf(c, 'payload_open', 'OPEN')],
    ['close', payloadOf(c, 'payload_close', 'CLOSE')],
    ['stop', payloadOf(c, 'payload_stop', stopDefault)],
  ]
  const present = payloads.filter((p): p is [string, string] => p[1] != null)
  if (present.length === 0) return []
  let choice = lit(present.at(-1)?.[1] as string)
  for (const [name, payload] of present.slice(0, -1).reverse())
    choice = `${lit(payload)} if input.action == '${name}' else ${choice}`
  const stateTemplate = templateOf(c, 'value_template')
  const e = stateExpression(stateTemplate)
  const words = (key: string, fallback: string) => lit(payloadOf(c, key, fallback))
  const when =
    e &&
    `{{ (input.action == 'open' and ((${e}) | string) in [${words('state_open', 'open')}, ${words('state_opening', 'opening')}])` +
      ` or (input.action == 'close' and ((${e}) | string) in [${words('state_closed', 'closed')}, ${words('state_closing', 'closing')}])` +
      ` or input.action == 'stop' }}`
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Opens, closes${present.some(([n]) => n === 'stop') ? ' or stops' : ''} ${ctx.title}.`,
      input: object({ action: { type: 'string', enum: present.map(([name]) => name) } }, ['action']),
      commandTopic: command,
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: `(${choice})` },
        'command_template',
      ),
      confirm: confirm(state, when, ctx),
    }),
  ]
  if (state != null)
    drafts.push(
      sensor('_state', { title: `${ctx.title} state`, kind: 'state', topic: state, value: stateTemplate }),
    )
  return drafts
}

function positionAction(
  ctx: Ctx,
  topic: string,
  templateKey: string,
  reportTopic: string | undefined,
  reportTemplateKey: string,
): Draft {
  const { c } = ctx
  const open = numberOf(c, 'position_open', 100)
  const closed = numberOf(c, 'position_closed', 0)
  const position =
    open === 100 && closed === 0
      ? 'input.position'
      : `((input.position * ${open - closed} / 100 + ${closed}) | round(0))`
  const e = stateExpression(templateOf(c, reportTemplateKey))
  return action(ctx, '_position', {
    title: `${ctx.title} position`,
    description: `Moves ${ctx.title} to a position, 0 closed to 100 open.`,
    input: object({ position: { type: 'integer', minimum: 0, maximum: 100 } }, ['position']),
    commandTopic: topic,
    payload: commandPayload(templateOf(c, templateKey), { value: position, position }, templateKey),
    confirm: confirm(reportTopic, e && `{{ ((${e}) | int(-1)) == ${position} }}`, ctx),
  })
}

function coverParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const drafts = openClose(ctx, topicOf(c, 'command_topic'), topicOf(c, 'state_topic'), 'STOP')
  const setPosition = topicOf(c, 'set_position_topic')
  if (setPosition != null) {
    drafts.push(
      positionAction(
        ctx,
        setPosition,
        'set_position_template',
        topicOf(c, 'position_topic'),
        'position_template',
      ),
    )
  }
  if (drafts.length === 0) refuse('missing_field', 'a cover needs "command_topic" or "set_position_topic"')
  return drafts
}

function valveParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const command = topicOf(c, 'command_topic', true)
  if (c.reports_position === true) {
    return [positionAction(ctx, command, 'command_template', topicOf(c, 'state_topic'), 'value_template')]
  }
  return openClose(ctx, command, topicOf(c, 'state_topic'), null)
}

function climateParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const drafts: Draft[] = []
  const fahrenheit = text(c, 'temperature_unit') === 'F'
  const unit = fahrenheit ? '°F' : '°C'
  const power = topicOf(c, 'power_command_topic')
  if (power != null) {
    drafts.push(
      ...onOff(ctx, {
        suffix: '_power',
        title: `${ctx.title} power`,
        description: `Turns ${ctx.title} on or off.`,
        command: power,
        on: payloadOf(c, 'payload_on', 'ON'),
        off: payloadOf(c, 'payload_off', 'OFF'),
        template: templateOf(c, 'power_command_template'),
        stateOn: 'ON',
        stateOff: 'OFF',
      }),
    )
  }
  const temperature = topicOf(c, 'temperature_command_topic')
  const temperatureState = topicOf(c, 'temperature_state_topic')
  if (temperature != null) {
    const e = stateExpression(templateOf(c, 'temperature_state_template'))
    drafts.push(
      action(ctx, '_temperature', {
        title: `${ctx.title} target temperature`,
        description: `Sets the target temperature of ${ctx.title} in ${unit}.`,
        input: object(
          {
            temperature: {
              type: 'number',
              minimum: numberOf(c, 'min_temp', fahrenheit ? 45 : 7),
              maximum: numberOf(c, 'max_temp', fahrenheit ? 95 : 35),
            },
          },
          ['temperature'],
        ),
        commandTopic: temperature,
        payload: commandPayload(
          templateOf(c, 'temperature_command_template'),
          { value: '(input.temperature | float)' },
          'temperature_command_template',
        ),
        confirm: confirm(
          temperatureState,
          e && `{{ ((${e}) | float(none)) == (input.temperature | float) }}`,
          ctx,
        ),
      }),
    )
  }
  if (temperatureState != null) {
    drafts.push(
      sensor('_setpoint', {
        title: `${ctx.title} target temperature`,
        kind: 'temperature',
        topic: temperatureState,
        value: templateOf(c, 'temperature_state_template'),
        unit,
        schema: { type: 'number' },
      }),
    )
  }
  const mode = topicOf(c, 'mode_command_topic')
  const modeState = topicOf(c, 'mode_state_topic')
  if (mode != null) {
    const modes = strings(c.modes) ?? ['auto', 'off', 'cool', 'heat', 'dry', 'fan_only']
    const e = stateExpression(templateOf(c, 'mode_state_template'))
    drafts.push(
      action(ctx, '_mode', {
        title: `${ctx.title} mode`,
        description: `Sets the HVAC mode of ${ctx.title}.`,
        input: object({ mode: { type: 'string', enum: modes } }, ['mode']),
        commandTopic: mode,
        payload: commandPayload(
          templateOf(c, 'mode_command_template'),
          { value: 'input.mode' },
          'mode_command_template',
        ),
        confirm: confirm(modeState, e && `{{ ${equals(e, 'input.mode')} }}`, ctx),
      }),
    )
  }
  if (modeState != null) {
    drafts.push(
      sensor('_mode_state', {
        title: `${ctx.title} mode`,
        kind: 'mode',
        topic: modeState,
        value: templateOf(c, 'mode_state_template'),
      }),
    )
  }
  const current = topicOf(c, 'current_temperature_topic')
  if (current != null) {
    drafts.push(
      sensor('_current', {
        title: `${ctx.title} temperature`,
        kind: 'temperature',
        topic: current,
        value: templateOf(c, 'current_temperature_template'),
        unit,
        schema: { type: 'number' },
      }),
    )
  }
  if (drafts.length === 0)
    refuse('missing_field', 'a climate entity needs at least one command or state topic')
  return drafts
}

function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined
  const list = value
    .filter((v): v is string => typeof v === 'string' && v !== '' && v.length <= 256)
    .slice(0, 256)
  return list.length > 0 ? [...new Set(list)] : undefined
}

function fanParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  const drafts = onOff(ctx, {
    suffix: '',
    title: ctx.title,
    description: `Turns ${ctx.title} on or off.`,
    command: topicOf(c, 'command_topic', true),
    on,
    off,
    template: templateOf(c, 'command_template'),
    state: topicOf(c, 'state_topic'),
    stateTemplate: templateOf(c, 'state_value_template'),
    stateOn: on,
    stateOff: off,
  })
  const percentage = topicOf(c, 'percentage_command_topic')
  if (percentage != null) {
    const min = numberOf(c, 'speed_range_min', 1)
    const max = numberOf(c, 'speed_range_max', 100)
    const value =
      min === 1 && max === 100
        ? 'input.percentage'
        : `((input.percentage * ${max - min + 1} / 100) | round(0, 'ceil'))`
    const e = stateExpression(templateOf(c, 'percentage_value_template'))
    drafts.push(
      action(ctx, '_percentage', {
        title: `${ctx.title} speed`,
        description: `Sets the speed of ${ctx.title} in percent.`,
        input: object({ percentage: { type: 'integer', minimum: 1, maximum: 100 } }, ['percentage']),
        commandTopic: percentage,
        payload: commandPayload(
          templateOf(c, 'percentage_command_template'),
          { value },
          'percentage_command_template',
        ),
        confirm: confirm(
          topicOf(c, 'percentage_state_topic'),
          e && `{{ ((${e}) | int(-1)) == ${value} }}`,
          ctx,
        ),
      }),
    )
  }
  const preset = topicOf(c, 'preset_mode_command_topic')
  const presets = strings(c.preset_modes)
  if (preset != null && presets != null) {
    const e = stateExpression(templateOf(c, 'preset_mode_value_template'))
    drafts.push(
      action(ctx, '_preset', {
        title: `${ctx.title} preset`,
        description: `Sets the preset mode of ${ctx.title}.`,
        input: object({ preset: { type: 'string', enum: presets } }, ['preset']),
        commandTopic: preset,
        payload: commandPayload(
          templateOf(c, 'preset_mode_command_template'),
          { value: 'input.preset' },
          'preset_mode_command_template',
        ),
        confirm: confirm(
          topicOf(c, 'preset_mode_state_topic'),
          e && `{{ ${equals(e, 'input.preset')} }}`,
          ctx,
        ),
      }),
    )
  }
  return drafts
}

function numberParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const state = topicOf(c, 'state_topic')
  const stateTemplate = templateOf(c, 'value_template')
  const unit = text(c, 'unit_of_measurement')
  const e = stateExpression(stateTemplate)
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Sets ${ctx.title}${unit != null ? ` (${unit})` : ''}.`,
      input: object(
        { value: { type: 'number', minimum: numberOf(c, 'min', 1), maximum: numberOf(c, 'max', 100) } },
        ['value'],
      ),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: 'input.value' },
        'command_template',
      ),
      confirm: confirm(state, e && `{{ ((${e}) | float(none)) == (input.value | float) }}`, ctx),
    }),
  ]
  if (state != null) {
    drafts.push(
      sensor('_state', {
        title: ctx.title,
        kind: text(c, 'device_class') ?? 'value',
        topic: state,
        value: stateTemplate,
        unit,
        schema: { type: 'number' },
      }),
    )
  }
  return drafts
}

function selectParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const options = strings(c.options) ?? refuse('missing_field', 'a select needs "options"')
  const state = topicOf(c, 'state_topic')
  const stateTemplate = templateOf(c, 'value_template')
  const e = stateExpression(stateTemplate)
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Selects an option of ${ctx.title}.`,
      input: object({ option: { type: 'string', enum: options } }, ['option']),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: 'input.option' },
        'command_template',
      ),
      confirm: confirm(state, e && `{{ ${equals(e, 'input.option')} }}`, ctx),
    }),
  ]
  if (state != null)
    drafts.push(
      sensor('_state', {
        title: ctx.title,
        kind: 'state',
        topic: state,
        value: stateTemplate,
        schema: { type: 'string' },
      }),
    )
  return drafts
}

function buttonParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  return [
    action(ctx, '', {
      title: ctx.title,
      description: `Presses ${ctx.title}.`,
      input: object({}),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template'),
        { value: lit(payloadOf(c, 'payload_press', 'PRESS')) },
        'command_template',
      ),
    }),
  ]
}

const ALARM_ACTIONS: [string, string, string, string[]][] = [
  // [input action, payload key, default payload, states that confirm it]
  ['disarm', 'payload_disarm', 'DISARM', ['disarmed']],
  ['arm_home', 'payload_arm_home', 'ARM_HOME', ['armed_home', 'arming', 'pending']],
  ['arm_away', 'payload_arm_away', 'ARM_AWAY', ['armed_away', 'arming', 'pending']],
  ['arm_night', 'payload_arm_night', 'ARM_NIGHT', ['armed_night', 'arming', 'pending']],
  ['arm_vacation', 'payload_arm_vacation', 'ARM_VACATION', ['armed_vacation', 'arming', 'pending']],
  [
    'arm_custom_bypass',
    'payload_arm_custom_bypass',
    'ARM_CUSTOM_BYPASS',
    ['armed_custom_bypass', 'arming', 'pending'],
  ],
  ['trigger', 'payload_trigger', 'TRIGGER', ['triggered', 'pending']],
]

function alarmParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const features = strings(c.supported_features)
  const available = ALARM_ACTIONS.filter(
    ([name]) => name === 'disarm' || features == null || features.includes(name),
  )
  let choice = lit(payloadOf(c, 'payload_disarm', 'DISARM'))
  for (const [name, key, fallback] of available.filter(([name]) => name !== 'disarm')) {
    choice = `${lit(payloadOf(c, key, fallback))} if input.action == '${name}' else ${choice}`
  }
  const remoteCode = c.code === 'REMOTE_CODE' || c.code === 'REMOTE_CODE_TEXT'
  const state = topicOf(c, 'state_topic')
  const stateTemplate = templateOf(c, 'value_template')
  const e = stateExpression(stateTemplate)
  const when =
    e &&
    `{{ ${available.map(([name, , , states]) => `(input.action == '${name}' and ((${e}) | string) in ${JSON.stringify(states)})`).join(' or ')} }}`
  const drafts: Draft[] = [
    action(ctx, '', {
      title: ctx.title,
      description: `Arms, disarms or triggers ${ctx.title}.`,
      input: object(
        {
          action: { type: 'string', enum: available.map(([name]) => name) },
          ...(remoteCode ? { code: { type: 'string', maxLength: 64 } } : {}),
        },
        ['action'],
      ),
      commandTopic: topicOf(c, 'command_topic', true),
      payload: commandPayload(
        templateOf(c, 'command_template') ?? '{{ action }}',
        { action: `(${choice})`, code: 'input.code', value: `(${choice})` },
        'command_template',
      ),
      confirm: confirm(state, when, ctx),
    }),
  ]
  if (state != null)
    drafts.push(
      sensor('_state', { title: `${ctx.title} state`, kind: 'alarm', topic: state, value: stateTemplate }),
    )
  return drafts
}

function sirenParts(ctx: Ctx): Draft[] {
  const { c } = ctx
  const on = payloadOf(c, 'payload_on', 'ON')
  const off = payloadOf(c, 'payload_off', 'OFF')
  return onOff(ctx, {
    suffix: '',
    title: ctx.title,
    description: `Turns ${ctx.title} on or off.`,
    command: topicOf(c, 'command_topic', true),
    on,
    off,
    template: templateOf(c, 'command_template'),
    state: topicOf(c, 'state_topic'),
    stateTemplate: templateOf(c, 'state_value_template'),
    stateOn: payloadOf(c, 'state_on', on),
    stateOff: payloadOf(c, 'state_off', off),
  })
}

const BUILDERS: Record<HaComponent, (ctx: Ctx) => Draft[]> = {
  sensor: sensorParts,
  binary_sensor: binarySensorParts,
  switch: switchParts,
  light: lightParts,
  lock: lockParts,
  cover: coverParts,
  climate: climateParts,
  fan: fanParts,
  number: numberParts,
  select: selectParts,
  button: buttonParts,
  alarm_control_panel: alarmParts,
  siren: sirenParts,
  valve: valveParts,
}
