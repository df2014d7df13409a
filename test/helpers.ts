/** Shared test helpers: temporary node directories, free ports, and the CLI as a child process. */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

export const ROOT = resolve(import.meta.dirname, '..')
export const CLI = join(ROOT, 'src/cli/main.ts')

/** A fresh directory under the system temp dir, removed by the returned cleanup. */
export async function tempDir(prefix = 'kith-test-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

export async function writeText(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI to completion with the project's Node (the one running the tests). */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...cleanEnv(), ...options.env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
  })
}

/** The environment without `KITH_*` variables, so a developer's shell cannot change a test. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KITH_')))
}

export interface RunningNode {
  child: ChildProcess
  ready: { event: string; peerId: string; api: string; listen: string[] }
  stderr(): string
  /** sends `signal` and resolves with the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Starts `kith start --config FILE` (optionally under a command prefix such as `ip netns exec NS`, or with another
 * `command` than the checkout's CLI, such as the built binary) and waits for the ready line.
 */
export function startCli(
  config: string,
  options: { prefix?: string[]; env?: NodeJS.ProcessEnv; args?: string[]; command?: string[] } = {},
): Promise<RunningNode> {
  const prefix = options.prefix ?? []
  const [cmd, ...args] = [
    ...prefix,
    ...(options.command ?? [process.execPath, CLI]),
    'start',
    '--config',
    config,
    ...(options.args ?? []),
  ]
  const child = spawn(cmd as string, args, {
    cwd: ROOT,
    // several nodes run at once: each embedded MQTT broker takes a free port instead of 1883
    env: { ...cleanEnv(), KITH_MQTT_LISTEN: '127.0.0.1:0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (d) => {
    stderr += d
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', (line) => {
      try {
        resolvePromise({
          child,
          ready: JSON.parse(line),
          stderr: () => stderr,
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal)
            return exited
          },
        })
      } catch (err) {
        reject(err)
      }
    })
    exited.then((code) => reject(new Error(`kith start exited with ${code} before ready:\n${stderr}`)))
  })
}

/** Polls `check` until it returns true; fails after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * A node's API answer as JSON: `GET base+path`, or `POST` with `body` as JSON. Throws on a non-2xx status,
 * with the answer in the message.
 *
 * @example
 * const { tasks } = await apiJson<{ tasks: unknown[] }>(node.ready.api, '/v1/tasks?limit=5')
 */
export async function apiJson<T = unknown>(base: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    ...(body !== undefined
      ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${res.status} from ${path}: ${text}`)
  return JSON.parse(text) as T
}

/** The HTTP endpoints DESIGN.md's Contract names, as `METHOD /path` (OpenAPI path templates). */
export const CONTRACT_ROUTES: string[] = [
  'GET /healthz',
  'GET /v1/descriptor',
  'GET /v1/descriptors',
  'GET /v1/peers',
  'GET /v1/capabilities',
  'POST /v1/tasks',
  'GET /v1/tasks/{id}',
  'GET /metrics',
  'GET /.well-known/agent-card.json',
  'POST /mcp',
]
