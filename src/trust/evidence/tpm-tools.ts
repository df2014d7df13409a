/**
 * tpm2-tools as child processes, the way Keylime's agents drove a TPM (no production-grade TSS exists for
 * Node): `execFile` without a shell, the TCTI in `TPM2TOOLS_TCTI`, a deadline on every process, and one queue so
 * that a node never runs two TPM commands at once. Without a resource manager (a swtpm socket, /dev/tpm0) the
 * TPM keeps every transient object and session the tools leave behind, so the caller flushes them
 * ({@link TpmTools.flush}) after commands that load something.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { hasErrorName, KithError } from '../../util/errors.ts'

/** The kernel's resource manager device: present on Linux with a TPM 2.0 and the tpm_tis/crb driver. */
export const TPM_RM_DEVICE = '/dev/tpmrm0'

/** A tpm2-tools command failed, timed out or was stopped; `stderr` keeps what it said. */
export class TpmCommandError extends KithError {
  static override readonly code = 'tpm_command_failed'
  readonly tool: string
  readonly timedOut: boolean
  readonly stderr: string

  constructor(tool: string, message: string, options: { timedOut?: boolean; stderr?: string } = {}) {
    super(`${tool}: ${message}`)
    this.name = 'TpmCommandError'
    this.tool = tool
    this.timedOut = options.timedOut ?? false
    this.stderr = options.stderr ?? ''
  }
}

export interface TpmToolsInit {
  /** a tpm2-tss TCTI string: `device:/dev/tpmrm0`, `swtpm:host=127.0.0.1,port=2321`, `tabrmd`, … */
  tcti: string
  /** deadline of one child process (ms) */
  timeoutMs: number
  /** environment of the tools; default process.env (PATH finds them) */
  env?: NodeJS.ProcessEnv
}

/**
 * The TCTI to use: the configured one, else the kernel resource manager when its device exists; undefined when
 * the TPM is off or absent.
 *
 * @example
 * resolveTcti({ enabled: 'auto' }) // 'device:/dev/tpmrm0' on a machine with a TPM
 */
export function resolveTcti(
  tpm: { enabled: 'auto' | boolean; tcti?: string | undefined },
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  if (tpm.enabled === false) return undefined
  if (tpm.tcti != null) return tpm.tcti
  return exists(TPM_RM_DEVICE) ? `device:${TPM_RM_DEVICE}` : undefined
}

/** True when the TCTI goes through a resource manager, which flushes what each connection leaves loaded. */
export function hasResourceManager(tcti: string): boolean {
  return /^device(:\/dev\/tpmrm\d+)?$/.test(tcti) || tcti.startsWith('tabrmd')
}

const TOOL = /^tpm2_[a-z]+$/
const MAX_OUTPUT_BYTES = 256 * 1024

/** The last line the tools printed as an error, which names the TPM response code. */
function lastError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
  const errors = lines.filter((l) => l.startsWith('ERROR') && !l.includes('Unable to run'))
  const line = errors.at(-1) ?? lines.at(-1) ?? ''
  return line.slice(0, 300)
}

export class TpmTools {
  readonly tcti: string
  readonly resourceManager: boolean
  private readonly timeoutMs: number
  private readonly env: NodeJS.ProcessEnv
  private readonly abort = new AbortController()
  private tail: Promise<unknown> = Promise.resolve()

  constructor(init: TpmToolsInit) {
    this.tcti = init.tcti
    this.resourceManager = hasResourceManager(init.tcti)
    this.timeoutMs = init.timeoutMs
    this.env = { ...(init.env ?? process.env), TPM2TOOLS_TCTI: init.tcti }
  }

  /**
   * Runs one tool quietly (`-Q`) and resolves with whatever it still printed. Not queued: call it inside {@link exclusive}. Rejects with
   * {@link TpmCommandError} on a non-zero exit, a timeout, or a missing tool.
   *
   * @example
   * await tools.exclusive(() => tools.run('tpm2_getcap', ['properties-fixed']))
   */
  run(tool: string, args: readonly string[]): Promise<string> {
    if (!TOOL.test(tool)) return Promise.reject(new TpmCommandError(tool, 'not a tpm2-tools command'))
    return new Promise((resolve, reject) => {
      execFile(
        tool,
        // -Q: nothing on stdout; the results are in files, and the tools' hex dumps cost hundreds of writes
        ['-Q', ...args],
        {
          env: this.env,
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          signal: this.abort.signal,
          encoding: 'utf8',
        },
        (err, stdout, stderr) => {
          if (err == null) return resolve(stdout)
          const e = err as NodeJS.ErrnoException & { killed?: boolean }
          if (e.code === 'ENOENT')
            return reject(new TpmCommandError(tool, 'not installed (apt-get install tpm2-tools)'))
          if (hasErrorName(e, 'AbortError')) return reject(new TpmCommandError(tool, 'stopped'))
          if (e.killed === true) {
            return reject(
              new TpmCommandError(tool, `no answer within ${this.timeoutMs} ms`, { timedOut: true, stderr }),
            )
          }
          reject(new TpmCommandError(tool, lastError(stderr) || e.message, { stderr }))
        },
      )
    })
  }

  /** Runs `fn` when every earlier job is done: the one queue through which all TPM use goes. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const job = this.tail.then(fn, fn)
    this.tail = job.catch(() => undefined)
    return job
  }

  /** Flushes transient objects and sessions when there is no resource manager to do it; a no-op with one. */
  async flush(): Promise<void> {
    if (!this.resourceManager) await this.run('tpm2_flushcontext', ['-t', '-l', '-s'])
  }

  /** Waits for the queued jobs; with `kill`, ends running tools first. */
  async close(kill = false): Promise<void> {
    if (kill) this.abort.abort()
    await this.tail
  }
}
