/**
 * One device at run time: its compiled templates, last readings, availability, and the commands waiting
 * for the device to confirm them. It knows nothing of MQTT connections or the registry: the bridge feeds
 * it messages and gives it a `publish` function.
 */
import type { Capability } from '../discovery/descriptor.ts'
import { TaskFailure } from '../execution/registry.ts'
import { TimeoutError } from '../execution/scheduler.ts'
import type { SchemaCheck } from '../execution/io-schema.ts'
import { compileTemplate, isTruthy, type Template } from './template.ts'
import type { ActionSpec, AvailabilitySpec, DeviceSpec, SensorSpec } from './types.ts'

/** Who asked for an action: the task id goes into payload templates so a device can drop duplicates. */
export interface ActionContext {
  task: string
  /** the requesting peer; absent: this node */
  peer?: string
}

export type Publish = (topic: string, payload: string, retain: boolean) => Promise<void>

interface Reading {
  value: unknown
  at: number
}

interface Waiter {
  input: unknown
  task: string
  when: Template
  resolve: (state: unknown) => void
  /** the command, re-sent after a reconnect until confirmed (devices drop duplicates by task id) */
  resend: () => void
}

/** Parses a payload as the sensor's value when it has no template: JSON scalars and objects, else text. */
export function parsePayload(text: string): unknown {
  const t = text.trim()
  if (t === '') return ''
  if (/^[-+\d.eE]+$|^(true|false|null)$|^[{["]/.test(t)) {
    try {
      return JSON.parse(t)
    } catch {
      return text
    }
  }
  return text
}

/** A template's text made into a value: numbers and booleans as such, else the text. */
function coerce(rendered: string): unknown {
  const t = rendered.trim()
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return Number(t)
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true'
  return rendered
}

export function templateContext(payload: string): { value: string; value_json: unknown } {
  let json: unknown
  try {
    json = JSON.parse(payload)
  } catch {
    json = undefined
  }
  return { value: payload, value_json: json }
}

export class DeviceRuntime {
  readonly spec: DeviceSpec
  readonly #sensorValue = new Map<string, Template | undefined>()
  readonly #payload = new Map<string, Template>()
  /** per action with `messages`, each message's topic and compiled payload */
  readonly #messages = new Map<string, { topic: string; payload: Template }[]>()
  readonly #confirm = new Map<string, Template>()
  readonly #availValue = new Map<AvailabilitySpec, Template | undefined>()
  readonly #validators = new Map<string, SchemaCheck>()
  readonly #readings = new Map<string, Reading>()
  readonly #availability = new Map<string, boolean>()
  #latestAvailability: boolean | undefined
  readonly #waiters = new Map<string, Set<Waiter>>()

  /** Compiles every template and schema; throws (TemplateError, SchemaError) when one is invalid. */
  constructor(spec: DeviceSpec, compileSchema: (schema: Record<string, unknown>) => SchemaCheck) {
    this.spec = spec
    for (const s of spec.sensors)
      this.#sensorValue.set(s.id, s.value != null ? compileTemplate(s.value) : undefined)
    for (const a of spec.actions) {
      this.#payload.set(a.id, compileTemplate(a.payload))
      if (a.messages != null) {
        this.#messages.set(
          a.id,
          a.messages.map((m) => ({ topic: m.topic, payload: compileTemplate(m.payload) })),
        )
      }
      if (a.confirm != null) this.#confirm.set(a.id, compileTemplate(a.confirm.when))
      this.#validators.set(a.id, compileSchema(a.input))
    }
    for (const av of spec.availability)
      this.#availValue.set(av, av.value != null ? compileTemplate(av.value) : undefined)
  }

  /** Every topic this device's messages arrive on. */
  topics(): Set<string> {
    const out = new Set<string>()
    for (const s of this.spec.sensors) out.add(s.topic)
    for (const a of this.spec.actions) if (a.confirm != null) out.add(a.confirm.topic)
    for (const av of this.spec.availability) out.add(av.topic)
    return out
  }

  /** Online unless its availability topics say otherwise; unknown availability counts as offline. */
  get online(): boolean {
    const specs = this.spec.availability
    if (specs.length === 0) return true
    const mode = this.spec.availabilityMode ?? 'latest'
    if (mode === 'latest') return this.#latestAvailability === true
    const states = specs.map((s) => this.#availability.get(s.topic))
    return mode === 'all' ? states.every((s) => s === true) : states.some((s) => s === true)
  }

  /** Takes one message; returns true when the device's availability changed. */
  handle(topic: string, payload: Buffer, now: number): boolean {
    const text = payload.toString('utf8')
    const before = this.online
    for (const av of this.spec.availability) {
      if (av.topic !== topic) continue
      const template = this.#availValue.get(av)
      const word = (template != null ? template.render(templateContext(text)) : text).trim()
      const state = av.online.includes(word) ? true : av.offline.includes(word) ? false : undefined
      if (state === undefined) continue
      this.#availability.set(topic, state)
      this.#latestAvailability = state
    }
    for (const s of this.spec.sensors) if (s.topic === topic) this.#read(s, text, now)
    this.#settle(topic, text)
    return this.online !== before
  }

  /** The last value of a sensor with its age, or undefined before the first reading. */
  reading(sensorId: string, now: number): { value: unknown; at: number; ageMs: number } | undefined {
    const r = this.#readings.get(sensorId)
    return r == null ? undefined : { value: r.value, at: r.at, ageMs: Math.max(0, now - r.at) }
  }

  /**
   * Validates the input, publishes the command built from the action's template, and waits for the
   * state topic to confirm it (when the action declares one).
   */
  async act(
    actionId: string,
    input: unknown,
    ctx: ActionContext,
    publish: Publish,
    signal: AbortSignal,
  ): Promise<{ confirmed: boolean; state?: unknown }> {
    const action = this.spec.actions.find((a) => a.id === actionId)
    if (action == null) throw new TaskFailure('unknown_action', `${this.spec.id} has no action ${actionId}`)
    const problem = this.#validators.get(action.id)?.(input)
    if (problem != null) throw new TaskFailure('bad_input', problem)
    const context = { input, task: ctx.task, device: this.spec.id }
    const messages = this.#messages.get(action.id)
    // one call may publish several messages in order (Home Assistant's basic light); an empty one is skipped
    const outgoing =
      messages == null
        ? [
            {
              topic: action.commandTopic,
              payload: (this.#payload.get(action.id) as Template).render(context),
            },
          ]
        : messages
            .map((m) => ({ topic: m.topic, payload: m.payload.render(context) }))
            .filter((m) => m.payload.trim() !== '')
    const retain = action.retain === true
    const send = async () => {
      for (const m of outgoing) await publish(m.topic, m.payload, retain)
    }
    const when = this.#confirm.get(action.id)
    if (action.confirm == null || when == null) {
      await send()
      return { confirmed: false }
    }
    return this.#awaitConfirmation(action, action.confirm.topic, when, input, ctx.task, send, signal)
  }

  async #awaitConfirmation(
    action: ActionSpec,
    topic: string,
    when: Template,
    input: unknown,
    task: string,
    send: () => Promise<void>,
    signal: AbortSignal,
  ): Promise<{ confirmed: boolean; state?: unknown }> {
    const timeoutMs = action.confirm?.timeout ?? 5000
    const { promise, resolve, reject } = Promise.withResolvers<unknown>()
    const waiter: Waiter = { input, task, when, resolve, resend: () => void send().catch(() => undefined) }
    let set = this.#waiters.get(topic)
    if (set == null) this.#waiters.set(topic, (set = new Set()))
    set.add(waiter)
    const timer = setTimeout(
      () => reject(new TimeoutError(`${this.spec.id} did not confirm ${action.id} within ${timeoutMs} ms`)),
      timeoutMs,
    )
    const onAbort = () =>
      reject(new TimeoutError(`${this.spec.id}.${action.id} was cancelled before it was confirmed`))
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      // the waiter is in place before the command leaves, so a fast confirmation cannot be missed; while
      // the broker is away the publish waits in the outbox, but the action's timeout still applies
      const sent = send()
      sent.catch(() => undefined)
      promise.catch(() => undefined)
      return { confirmed: true, state: await Promise.race([sent.then(() => promise), promise]) }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      set.delete(waiter)
      if (set.size === 0) this.#waiters.delete(topic)
    }
  }

  /** True while a command waits for a confirmation on `topic`. */
  awaits(topic: string): boolean {
    return this.#waiters.has(topic)
  }

  /** After the broker connection came back: re-sends every command still waiting for its confirmation. */
  resendPending(): number {
    let n = 0
    for (const set of this.#waiters.values())
      for (const w of set) {
        w.resend()
        n += 1
      }
    return n
  }

  /** Takes over the readings and availability of the runtime this one replaces (its config changed). */
  adopt(old: DeviceRuntime): void {
    for (const [k, v] of old.#readings)
      if (this.spec.sensors.some((s) => s.id === k)) this.#readings.set(k, v)
    for (const [k, v] of old.#availability) this.#availability.set(k, v)
    this.#latestAvailability = old.#latestAvailability
  }

  /** Rejects nothing: waiters end by their own timers; this only drops readings (device removed). */
  clear(): void {
    this.#readings.clear()
  }

  capabilities(): Capability[] {
    const d = this.spec
    const tags = (extra: string[]) =>
      [...new Set([...d.tags, ...extra].map((t) => t.slice(0, 40)))].slice(0, 32)
    const sensors = d.sensors.map((s): Capability => ({
      id: `${d.id}.${s.id}`,
      title: partTitle(d.title, s.title),
      description: (d.description ?? `${s.kind} reading of ${d.title}`).slice(0, 2000),
      tags: tags([s.kind, 'sensor']),
      kind: 'sensor',
      risk: 'low',
      input: { type: 'object', properties: {}, additionalProperties: false },
      output: sensorOutput(s),
    }))
    const actions = d.actions.map((a): Capability => ({
      id: `${d.id}.${a.id}`,
      title: partTitle(d.title, a.title),
      description: (a.description ?? d.description ?? a.title).slice(0, 2000),
      tags: tags(['device', 'action']),
      kind: 'device',
      risk: a.risk,
      input: a.input,
      output: {
        type: 'object',
        properties: { confirmed: { type: 'boolean' }, state: {} },
        required: ['confirmed'],
      },
    }))
    return [...actions, ...sensors]
  }

  #read(sensor: SensorSpec, text: string, now: number): void {
    const template = this.#sensorValue.get(sensor.id)
    let value: unknown
    try {
      if (template == null) value = parsePayload(text)
      else {
        // a state message that lacks this sensor's field renders empty: keep the last reading
        const rendered = template.render(templateContext(text))
        if (rendered.trim() === '') return
        value = coerce(rendered)
      }
    } catch {
      return
    }
    this.#readings.set(sensor.id, { value, at: now })
  }

  #settle(topic: string, text: string): void {
    const set = this.#waiters.get(topic)
    if (set == null) return
    const ctx = templateContext(text)
    for (const w of set) {
      if (confirms(w, ctx)) w.resolve(ctx.value_json ?? ctx.value)
    }
  }
}

/** `Device: part`, or the part alone when it already names the device (Home Assistant's unnamed entities). */
function partTitle(device: string, part: string): string {
  return (part.startsWith(device) ? part : `${device}: ${part}`).slice(0, 120)
}

/** Whether a state message confirms a waiting command; a template that fails to render does not. */
function confirms(w: Waiter, ctx: { value: string; value_json: unknown }): boolean {
  try {
    return isTruthy(w.when.render({ input: w.input, task: w.task, ...ctx }))
  } catch {
    return false
  }
}

function sensorOutput(s: SensorSpec): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      value: s.schema ?? {},
      ...(s.unit != null ? { unit: { const: s.unit } } : {}),
      at: { type: 'integer', description: 'ms since the epoch when the value arrived' },
      ageMs: { type: 'integer' },
    },
    required: ['value', 'at', 'ageMs'],
  }
}
