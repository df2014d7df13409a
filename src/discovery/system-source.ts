/**
 * The default state source: `systeminformation` for battery, temperature and available memory, `os.loadavg()`
 * for load. Every call has a deadline; a failed or late call keeps the last good value.
 */
import { availableParallelism, freemem, loadavg } from 'node:os'
import type { Logger } from '../util/logger.ts'
import { silentLogger } from '../util/logger.ts'
import type { Reading, StateSource } from './sampler.ts'
import { KithError } from '../util/errors.ts'

export const SOURCE_DEFAULTS = Object.freeze({
  callTimeoutMs: 1500,
  batteryEveryMs: 15_000,
  thermalEveryMs: 30_000,
})

/** The parts of `systeminformation` the default source uses; the module itself fits, tests pass a fake. */
export interface SystemInfo {
  battery(): Promise<{ hasBattery: boolean; percent: number; isCharging: boolean; acConnected: boolean }>
  cpuTemperature(): Promise<{ main: number | null }>
  mem(): Promise<{ available: number }>
}

export interface SystemStateSourceInit {
  /** deadline for one systeminformation call, ms */
  callTimeoutMs?: number
  /** how often to read the battery, ms; 0 reads it every time */
  batteryEveryMs?: number
  /** how often to read the temperature, ms: on Linux each read runs shell commands, one of them synchronously */
  thermalEveryMs?: number
  log?: Logger
  /** defaults to `systeminformation`, loaded on the first read */
  si?: SystemInfo
}

/** A system reading (battery, load, temperature) that did not come in time. */
export class SampleTimeoutError extends KithError {
  static override readonly code = 'sample_timeout'
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`)
    this.name = 'SampleTimeoutError'
  }
}

/** Rejects with {@link SampleTimeoutError} when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new SampleTimeoutError(what, ms)), ms)
    timer.unref()
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

type Power = Pick<Reading, 'battery' | 'charging'>
type Kind = 'battery' | 'thermal' | 'mem'

/**
 * The default source: `systeminformation` for battery, temperature and available memory, `os.loadavg()` for
 * load. Memory and load are read every time (cheap file reads); battery and temperature less often.
 *
 * @example
 * const source = new SystemStateSource({ log })
 * const { load, memFree, battery } = await source.read() // battery is undefined on mains power
 */
export class SystemStateSource implements StateSource {
  readonly #callTimeoutMs: number
  readonly #batteryEveryMs: number
  readonly #thermalEveryMs: number
  readonly #log: Logger
  readonly #given: SystemInfo | undefined
  readonly #pending = new Set<Kind>()
  #loaded: Promise<SystemInfo> | undefined
  #power: Power = {}
  #thermal: number | undefined
  #memFree: number | undefined
  #powerAt = Number.NEGATIVE_INFINITY
  #thermalAt = Number.NEGATIVE_INFINITY

  constructor(init: SystemStateSourceInit = {}) {
    this.#callTimeoutMs = init.callTimeoutMs ?? SOURCE_DEFAULTS.callTimeoutMs
    this.#batteryEveryMs = init.batteryEveryMs ?? SOURCE_DEFAULTS.batteryEveryMs
    this.#thermalEveryMs = init.thermalEveryMs ?? SOURCE_DEFAULTS.thermalEveryMs
    this.#log = init.log ?? silentLogger()
    this.#given = init.si
  }

  async read(): Promise<Reading> {
    const now = Date.now()
    const calls = [
      this.#refresh(
        'mem',
        (si) => si.mem(),
        (m) => this.#setMem(m.available),
      ),
    ]
    if (now - this.#powerAt >= this.#batteryEveryMs) {
      this.#powerAt = now
      calls.push(
        this.#refresh(
          'battery',
          (si) => si.battery(),
          (b) => this.#setPower(b),
        ),
      )
    }
    if (now - this.#thermalAt >= this.#thermalEveryMs) {
      this.#thermalAt = now
      calls.push(
        this.#refresh(
          'thermal',
          (si) => si.cpuTemperature(),
          (t) => this.#setThermal(t.main),
        ),
      )
    }
    await Promise.all(calls)
    const reading: Reading = {
      ...this.#power,
      load: (loadavg()[0] ?? 0) / availableParallelism(),
      memFree: this.#memFree ?? freemem(),
    }
    if (this.#thermal !== undefined) reading.thermal = this.#thermal
    return reading
  }

  #systemInfo(): Promise<SystemInfo> {
    if (this.#given !== undefined) return Promise.resolve(this.#given)
    // loaded on first use: about 25 ms and 10 MB that commands which never sample do not pay
    this.#loaded ??= import('systeminformation')
    return this.#loaded
  }

  /** One call with a deadline; a failure keeps the last good value, and a call still running is not repeated. */
  async #refresh<T>(
    kind: Kind,
    call: (si: SystemInfo) => Promise<T>,
    apply: (value: T) => void,
  ): Promise<void> {
    if (this.#pending.has(kind)) return
    this.#pending.add(kind)
    const running = this.#systemInfo()
      .then(call)
      .finally(() => this.#pending.delete(kind))
    try {
      apply(await withTimeout(running, this.#callTimeoutMs, `systeminformation ${kind}`))
    } catch (err) {
      this.#log.debug({ kind, err }, 'state read failed; keeping the last good value')
    }
  }

  #setMem(available: number): void {
    if (Number.isFinite(available) && available > 0) this.#memFree = available
  }

  #setPower(b: Awaited<ReturnType<SystemInfo['battery']>>): void {
    // acConnected covers a battery held full, or at a charge limit, on external power
    this.#power = b.hasBattery ? { battery: b.percent, charging: b.isCharging || b.acConnected } : {}
  }

  #setThermal(main: number | null): void {
    // systeminformation reports "no sensor" as null, or as -1 on some platforms
    this.#thermal = main != null && Number.isFinite(main) && main > -50 && main !== -1 ? main : undefined
  }
}
