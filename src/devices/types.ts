/**
 * The device model every source produces: a device profile from `devices/`, a Home Assistant MQTT discovery
 * config, or a Homie description all become a {@link DeviceSpec}. The bridge turns each sensor into a
 * `sensor` capability (`<device>.<sensor>`) and each action into a `device` capability (`<device>.<action>`).
 *
 * Templates are Jinja expressions (the subset Home Assistant payloads use), compiled by `template.ts`:
 * - sensor `value`, availability `value`: context `{ value, value_json }` (payload text and its JSON parse);
 * - action `payload`: context `{ input, task, device }` (validated input, task id, device id);
 * - action `confirm.when`: context `{ input, task, value, value_json }`; renders `true`/`True` when confirmed.
 */

export type Risk = 'low' | 'medium' | 'high'

export type JsonSchema = Record<string, unknown>

/** Where a device came from. */
export type DeviceSource = 'profile' | 'homeassistant' | 'homie' | 'tasmota'

/** A value the device publishes. */
export interface SensorSpec {
  id: string
  title: string
  /** what it measures: temperature, humidity, contact, motion, power, energy, battery, illuminance, state, … */
  kind: string
  /** the topic the device publishes the value on (absolute, no wildcards) */
  topic: string
  /** template giving the value; absent: the payload as a JSON number/boolean when it parses as one, else the text */
  value?: string
  unit?: string
  /** JSON Schema of the value as kith returns it */
  schema?: JsonSchema
}

/** How an action's success is observed. */
export interface ConfirmSpec {
  /** the state topic (absolute, no wildcards) */
  topic: string
  /** template over `{ input, task, value, value_json }` rendering true when the state matches the command */
  when: string
  /** ms to wait for the confirmation before the task ends `timeout` */
  timeout: number
}

/** A command the device obeys. */
export interface ActionSpec {
  id: string
  title: string
  description?: string
  risk: Risk
  /** JSON Schema the input must satisfy before any template sees it */
  input: JsonSchema
  /** the topic the command is published on (absolute, no wildcards), QoS 1 */
  commandTopic: string
  /** template over `{ input, task, device }` giving the command payload */
  payload: string
  retain?: boolean
  /**
   * When present, one call publishes these messages in order instead of the single `commandTopic`/`payload`
   * one, skipping every message whose payload renders empty (white space only): Home Assistant's basic light
   * sends one service call to several topics. `commandTopic`/`payload` stay the plain command, which a runtime
   * that does not know `messages` publishes instead.
   */
  messages?: { topic: string; payload: string }[]
  /** absent: the broker's acknowledgement (PUBACK) of the command is success */
  confirm?: ConfirmSpec
}

/** A topic that says whether the device is reachable; an offline device's capabilities leave the descriptor. */
export interface AvailabilitySpec {
  topic: string
  /** template giving the availability word from the payload; default the payload text */
  value?: string
  online: string[]
  offline: string[]
}

/**
 * Why an option of an imported config is not (fully) honoured, counted per reason in `GET /v1/devices`:
 * - `not_supported`: kith knows the option and has no equivalent (an effect a light cannot be sent);
 * - `partly`: mapped with a difference the detail names (QoS is always 1);
 * - `display_only`: it changes only how Home Assistant draws the entity (icon, entity category);
 * - `not_mapped`: kith does not read the option for this component at all;
 * - `bad_value`: the value is not of the option's type even after Home Assistant's coercion; the default is used.
 */
export type UnmappedReason = 'not_supported' | 'partly' | 'display_only' | 'not_mapped' | 'bad_value'

/** One option of an imported config that kith does not map, or maps only partly. */
export interface UnmappedOption {
  /** the entity (part name) the option belongs to */
  entity: string
  /** the config key, unabbreviated: `effect_list`, `json_attributes_topic` */
  option: string
  reason: UnmappedReason
  /** what kith does instead, in a sentence */
  detail: string
}

/** What an import did not map: counts per reason over all options, and the first options themselves. */
export interface UnmappedReport {
  counts: Partial<Record<UnmappedReason, number>>
  /** at most 64 (ha-unmapped.ts MAX_UNMAPPED_OPTIONS); the counts go on past it */
  options: UnmappedOption[]
}

export interface DeviceSpec {
  id: string
  title: string
  description?: string
  tags: string[]
  source: DeviceSource
  manufacturer?: string
  model?: string
  sensors: SensorSpec[]
  actions: ActionSpec[]
  availability: AvailabilitySpec[]
  /** how several availability topics combine (Home Assistant's availability_mode); default `latest` */
  availabilityMode?: 'all' | 'any' | 'latest'
  /** options of the imported config kith does not map (absent when it mapped every one) */
  unmapped?: UnmappedReport
}

/** What an importer reports after reading one MQTT message. */
export type ImportEvent = { type: 'upsert'; device: DeviceSpec } | { type: 'remove'; deviceId: string }

/** A message an importer refused, with the counted reason (e.g. `malformed_json`, `unknown_component`). */
export interface ImportRejection {
  reason: string
  topic: string
  message: string
}

/** An importer of a discovery convention: feed it every message on its subscriptions. */
export interface DiscoveryImporter {
  /** the source of the devices it produces */
  readonly source: DeviceSource
  /** topic filters to subscribe to (may contain wildcards) */
  readonly subscriptions: string[]
  /** reads one message (retained or live); never throws */
  handle(topic: string, payload: Uint8Array): { events: ImportEvent[]; rejections: ImportRejection[] }
}
