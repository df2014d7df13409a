/**
 * Loads `kith.yaml`: the optional fleet file of shared defaults first, the node's own file over it, then
 * `KITH_*` environment overrides, then one validation that reports every problem with its file and line.
 * A secret (the API token, the MQTT password) in a file that everyone on the machine can read is one of
 * those problems, whether the file is the config itself or the token or password file it names.
 */
import { access, constants, readFile, stat } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { z } from 'zod'
import { readEnvOverrides } from './env.ts'
import { ConfigError, type ConfigProblem } from './errors.ts'
import { type ConfigFile, configSchema } from './schema.ts'
import { readYamlSource, type YamlSource } from './yaml-source.ts'

export interface Config extends ConfigFile {
  /** where each part came from, absolute */
  paths: {
    file: string
    fleet?: string
    dataDir: string
    identity: string
    database: string
  }
  /** the API token, read from `api.token` or `api.tokenFile` */
  apiToken?: string
  /** the MQTT password, read from `mqtt.password` or `mqtt.passwordFile` */
  mqttPassword?: string
  /** the file and line that set `path`, for problems found after loading (e.g. an unreadable key file) */
  locate(path: ReadonlyArray<PropertyKey>): { source: string; line: number }
}

export interface LoadConfigOptions {
  /** environment to take `KITH_*` overrides from; `process.env` when omitted */
  env?: NodeJS.ProcessEnv
  /**
   * also check that referenced files (token file, capability scripts) exist, and that no file holding a
   * secret is readable by others; default true
   */
  checkFiles?: boolean
  /**
   * further checks run with the file checks (so skipped without them), whose problems are reported with the
   * config's own: the node passes the devices plane's profile check here, which config cannot do itself
   */
  checks?: ReadonlyArray<(config: Config) => Promise<ConfigProblem[]>>
}

const MAX_TOKEN_FILE_BYTES = 4096

/**
 * The mode bit that makes a file holding a secret a problem: read by others. Group-read is allowed on
 * purpose: `kith install` writes the token file and kith.yaml 0640 for the service's group, and `kith init`
 * writes kith.yaml 0644 because it holds no secret.
 */
const OTHERS_READ = 0o004

/**
 * Reads, merges and validates a config; throws {@link ConfigError} listing every problem.
 *
 * @example
 * const config = await loadConfig('.kith/kith.yaml')
 * config.api.listen // '127.0.0.1:7700'
 */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<Config> {
  const path = resolve(file)
  const own = await readYamlSource(path)
  if (Array.isArray(own)) throw new ConfigError(own)

  let fleet: YamlSource | undefined
  if (typeof own.value.fleet === 'string') {
    const fleetPath = resolve(dirname(path), own.value.fleet)
    const read = await readYamlSource(fleetPath)
    if (Array.isArray(read)) throw new ConfigError(read)
    if ('fleet' in read.value) {
      throw new ConfigError([
        {
          source: fleetPath,
          line: read.keyLine([], 'fleet') ?? 1,
          path: 'fleet',
          message: 'a fleet file cannot include another',
        },
      ])
    }
    fleet = read
  }

  const merged = mergeDeep(fleet?.value ?? {}, own.value)
  const { overrides, problems: envProblems } = readEnvOverrides(configSchema, options.env ?? process.env)
  for (const o of overrides) setIn(merged, o.path, o.value)

  const locate = (p: ReadonlyArray<PropertyKey>): { source: string; line: number } => {
    const env = overrides.find((o) => o.path.every((seg, i) => p[i] === seg))
    if (env != null) return { source: `env:${env.name}`, line: 0 }
    const mine = own.locate(p)
    const theirs = fleet?.locate(p)
    if (theirs != null && fleet != null && theirs.depth > mine.depth)
      return { source: fleet.file, line: theirs.line }
    return { source: own.file, line: mine.line }
  }
  const dirOf = (p: ReadonlyArray<PropertyKey>): string => {
    const source = locate(p).source
    return source === fleet?.file ? dirname(fleet.file) : dirname(path)
  }

  const parsed = configSchema.safeParse(merged)
  const problems = [...envProblems]
  if (!parsed.success)
    problems.push(...parsed.error.issues.flatMap((issue) => toProblems(issue, own, fleet, locate)))
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems)

  const values = parsed.data
  const at = (p: ReadonlyArray<PropertyKey>, rel: string) => (isAbsolute(rel) ? rel : resolve(dirOf(p), rel))
  const dataDir = at(['dataDir'], values.dataDir)
  const config: Config = {
    ...values,
    capabilities: values.capabilities.map((c, i) => ({
      ...c,
      script: at(['capabilities', i, 'script'], c.script),
    })),
    mqtt: {
      ...values.mqtt,
      profiles: values.mqtt.profiles.map((dir, i) => at(['mqtt', 'profiles', i], dir)),
      ...(values.mqtt.passwordFile != null
        ? { passwordFile: at(['mqtt', 'passwordFile'], values.mqtt.passwordFile) }
        : {}),
      ...(values.mqtt.tls != null
        ? {
            tls: {
              ...values.mqtt.tls,
              ...(values.mqtt.tls.ca != null ? { ca: at(['mqtt', 'tls', 'ca'], values.mqtt.tls.ca) } : {}),
              ...(values.mqtt.tls.cert != null
                ? { cert: at(['mqtt', 'tls', 'cert'], values.mqtt.tls.cert) }
                : {}),
              ...(values.mqtt.tls.key != null
                ? { key: at(['mqtt', 'tls', 'key'], values.mqtt.tls.key) }
                : {}),
            },
          }
        : {}),
    },
    paths: {
      file: path,
      ...(fleet != null ? { fleet: fleet.file } : {}),
      dataDir,
      identity: at(['identity'], values.identity),
      database: resolve(dataDir, 'kith.db'),
    },
    locate,
  }

  if (options.checkFiles !== false) {
    const fileProblems: ConfigProblem[] = []
    const need = async (p: PropertyKey[], target: string, what: string) => {
      try {
        await access(target, constants.R_OK)
      } catch (err) {
        fileProblems.push({
          ...locate(p),
          path: p.join('.'),
          message: `cannot read ${what} ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        })
      }
    }
    /** a problem at `p` when `target`, a secret's file or the config holding it, can be read by others */
    const guarded = async (p: PropertyKey[], target: string, inline = false) => {
      let mode: number
      try {
        mode = (await stat(target)).mode
      } catch {
        return // `need` reports a file that cannot be read
      }
      if ((mode & OTHERS_READ) === 0) return
      fileProblems.push({
        ...locate(p),
        path: p.join('.'),
        message:
          `${target} ${inline ? 'holds this secret and is' : 'is'} readable by others ` +
          `(mode ${(mode & 0o777).toString(8)}); run chmod o-r ${target}`,
      })
    }
    const inline: [PropertyKey[], unknown][] = [
      [['api', 'token'], values.api.token],
      [['mqtt', 'password'], values.mqtt.password],
    ]
    for (const [p, secret] of inline) {
      const { source } = locate(p)
      if (secret != null && !source.startsWith('env:')) await guarded(p, source, true)
    }
    await Promise.all(
      config.capabilities.map((c, i) => need(['capabilities', i, 'script'], c.script, 'script')),
    )
    if (values.api.tokenFile != null) {
      const tokenPath = at(['api', 'tokenFile'], values.api.tokenFile)
      await need(['api', 'tokenFile'], tokenPath, 'token file')
      await guarded(['api', 'tokenFile'], tokenPath)
      if (fileProblems.length === 0) {
        const token = (await readFile(tokenPath, 'utf8')).slice(0, MAX_TOKEN_FILE_BYTES).trim()
        if (token.length < 16)
          fileProblems.push({
            ...locate(['api', 'tokenFile']),
            path: 'api.tokenFile',
            message: 'the token in it is shorter than 16 characters',
          })
        config.apiToken = token
      }
    }
    const { tls, passwordFile } = config.mqtt
    await Promise.all(
      (['ca', 'cert', 'key'] as const).flatMap((k) =>
        tls?.[k] != null ? [need(['mqtt', 'tls', k], tls[k], `TLS ${k} file`)] : [],
      ),
    )
    if (passwordFile != null) {
      const before = fileProblems.length
      await need(['mqtt', 'passwordFile'], passwordFile, 'password file')
      await guarded(['mqtt', 'passwordFile'], passwordFile)
      if (fileProblems.length === before)
        config.mqttPassword = (await readFile(passwordFile, 'utf8')).slice(0, MAX_TOKEN_FILE_BYTES).trim()
    }
    for (const check of options.checks ?? []) fileProblems.push(...(await check(config)))
    if (fileProblems.length > 0) throw new ConfigError(fileProblems)
  }
  if (values.api.token != null) config.apiToken = values.api.token
  if (values.mqtt.password != null) config.mqttPassword = values.mqtt.password
  return config
}

function toProblems(
  issue: z.core.$ZodIssue,
  own: YamlSource,
  fleet: YamlSource | undefined,
  locate: (p: ReadonlyArray<PropertyKey>) => { source: string; line: number },
): ConfigProblem[] {
  const path = issue.path
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const line = own.keyLine(path, key)
      const where =
        line != null
          ? { source: own.file, line }
          : { source: fleet?.file ?? own.file, line: fleet?.keyLine(path, key) ?? locate(path).line }
      return { ...where, path: [...path, key].join('.'), message: 'unknown key' }
    })
  }
  return [{ ...locate(path), path: path.length > 0 ? path.join('.') : '(file)', message: issue.message }]
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v != null && !Array.isArray(v)
}

/** Maps merge key by key; anything else in `over` replaces what `base` had (lists are not concatenated). */
export function mergeDeep(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key]
    out[key] = isPlainObject(prev) && isPlainObject(value) ? mergeDeep(prev, value) : value
  }
  return out
}

function setIn(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target
  for (const seg of path.slice(0, -1)) {
    if (!isPlainObject(node[seg])) node[seg] = {}
    node = node[seg] as Record<string, unknown>
  }
  node[path[path.length - 1] as string] = value
}
