/**
 * Child-process helpers for benchmarks that run kith as a separate program, as a user or supervisor would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/**
 * `process.env` without any `KITH_*` variable (the node treats every unknown `KITH_*` name as a config
 * error, and the runner's own knobs, `KITH_BENCH_RUNS`, … would be such names), plus an embedded MQTT
 * broker on a free port.
 */
export function nodeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('KITH_')) env[key] = value
  // many nodes on one machine: each embedded MQTT broker takes a free port instead of 1883
  return { ...env, KITH_MQTT_LISTEN: '127.0.0.1:0', ...extra }
}

/** Runs `kith <args>` to completion with this Node binary and returns its stdout; throws on a non-zero exit. */
export async function runCli(root: string, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: nodeEnv(),
  })
  return stdout
}

/**
 * A child process whose output is read line by line as it arrives, so a pipe never fills and blocks it
 * (kith logs synchronously to stderr). Spawned without a shell, so `pid` is the program itself.
 */
/** One line of a child's output and `performance.now()` when it arrived. */
export interface Line {
  text: string
  at: number
}

export class Child {
  readonly process: ChildProcess
  readonly pid: number
  readonly stdout: Line[] = []
  readonly stderr: Line[] = []
  readonly #waiters: { match: (line: string) => boolean; resolve: (at: number) => void }[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>

  constructor(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
    this.process = spawn(command, args, { cwd: options.cwd, env: options.env ?? nodeEnv(), stdio: 'pipe' })
    if (this.process.pid == null) throw new Error(`could not spawn ${command}`)
    this.pid = this.process.pid
    this.exited = new Promise((resolve, reject) => {
      this.process.once('error', reject)
      this.process.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }))
    })
    this.#collect(this.process.stdout!, this.stdout, true)
    this.#collect(this.process.stderr!, this.stderr, false)
  }

  #collect(stream: NodeJS.ReadableStream, lines: Line[], watched: boolean): void {
    let rest = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const at = performance.now()
      const parts = (rest + chunk).split('\n')
      rest = parts.pop()!
      for (const text of parts) {
        lines.push({ text, at })
        if (!watched) continue
        for (const [i, w] of this.#waiters.entries()) {
          if (!w.match(text)) continue
          this.#waiters.splice(i, 1)
          w.resolve(at)
          break
        }
      }
    })
  }

  /**
   * Resolves with `performance.now()` at the moment a stdout line matching `match` arrived (lines already
   * read count too); rejects if the child exits first or after `timeoutMs`.
   */
  waitForStdout(match: (line: string) => boolean, timeoutMs: number): Promise<number> {
    const seen = this.stdout.find((line) => match(line.text))
    if (seen != null) return Promise.resolve(seen.at)
    const { promise, resolve, reject } = Promise.withResolvers<number>()
    const waiter = { match, resolve }
    this.#waiters.push(waiter)
    const timer = setTimeout(() => reject(new Error(`no such stdout line within ${timeoutMs} ms`)), timeoutMs)
    this.exited.then(
      ({ code, signal }) => reject(new Error(`exited (code ${code}, signal ${signal}) before the line`)),
      reject,
    )
    return promise.finally(() => {
      clearTimeout(timer)
      const i = this.#waiters.indexOf(waiter)
      if (i >= 0) this.#waiters.splice(i, 1)
    })
  }

  /** The child's exit; rejects if it has not exited within `timeoutMs`. */
  async waitForExit(
    timeoutMs: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** The last stderr lines, for an error message. */
  stderrTail(count = 10): string {
    return this.stderr
      .slice(-count)
      .map((line) => line.text)
      .join('\n')
  }

  /** Kills the child if it is still running; for cleanup after a failure. */
  kill(): void {
    if (this.process.exitCode == null && this.process.signalCode == null) this.process.kill('SIGKILL')
  }
}

export interface MemoryStatus {
  /** resident set size now (VmRSS), bytes */
  rss: number
  /** peak resident set size (VmHWM), bytes */
  peakRss: number
  /** the private part of rss (RssAnon): heaps, stacks; what the process really costs */
  rssAnon: number
  /** file-backed pages of rss (RssFile): the executable's code and data, shared and reclaimable */
  rssFile: number
  /** threads (main, libuv pool, V8 platform, worker threads) */
  threads: number
}

/** VmRSS, VmHWM, RssAnon, RssFile and the thread count of a running process, from /proc (Linux only). */
export async function readMemoryStatus(pid: number): Promise<MemoryStatus> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)
    if (m == null) throw new Error(`/proc/${pid}/status has no ${name}`)
    return Number(m[1]) * 1024
  }
  const threads = Number(/^Threads:\s+(\d+)$/m.exec(status)?.[1] ?? 0)
  return {
    rss: field('VmRSS'),
    peakRss: field('VmHWM'),
    rssAnon: field('RssAnon'),
    rssFile: field('RssFile'),
    threads,
  }
}

export const MIB = 2 ** 20
