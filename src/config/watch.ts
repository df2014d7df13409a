/**
 * Watches a node's config file, and the files it names (the shared-defaults include, capability scripts),
 * for changes: the directories are watched rather than the files, so a file replaced by a rename (editors,
 * `kith fleet render`) is still seen; events settle for a moment, and only a change of content counts, so
 * touching a file or saving it unchanged does nothing.
 */
import { createHash } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { Config } from './load.ts'

/** How long events must stop before the files are read: an editor's save is several events. */
export const WATCH_DEBOUNCE_MS = 250

export interface ConfigWatcherInit {
  /** the files whose content is watched (absolute paths) */
  files: readonly string[]
  /** runs after a change of content, or when {@link ConfigWatcher.reload} asks; never two at once */
  onChange(reason: string): Promise<void> | void
  /** a directory that cannot be watched, or an onChange that threw */
  onError?(err: Error): void
  debounceMs?: number
}

/** The files a config's node reads again on a reload: itself, its include, its scripts. */
export function watchedFiles(config: Config): string[] {
  const files = [config.paths.file, ...(config.paths.fleet != null ? [config.paths.fleet] : [])]
  for (const cap of config.capabilities) if (!files.includes(cap.script)) files.push(cap.script)
  return files
}

/**
 * @example
 * const watcher = new ConfigWatcher({ files: watchedFiles(config), onChange: (why) => node.reload(load, why) })
 * await watcher.start()
 * process.on('SIGHUP', () => watcher.reload('SIGHUP').catch((err) => log.warn({ err }, 'reload failed')))
 */
export class ConfigWatcher {
  readonly #init: ConfigWatcherInit
  readonly #watchers = new Map<string, FSWatcher>()
  #files: readonly string[]
  #fingerprint = ''
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<void> | undefined
  /** a check or a forced reload asked for while one runs: runs after it */
  #again: { reason: string; force: boolean } | undefined
  #stopped = false
  #checks = 0

  constructor(init: ConfigWatcherInit) {
    this.#init = init
    this.#files = init.files
  }

  async start(): Promise<void> {
    await this.setFiles(this.#files)
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    for (const w of this.#watchers.values()) w.close()
    this.#watchers.clear()
  }

  /** Watches `files` from now on; their current content is the baseline a change is measured against. */
  async setFiles(files: readonly string[]): Promise<void> {
    this.#files = [...files]
    const dirs = new Set(files.map((f) => dirname(f)))
    for (const [dir, w] of this.#watchers)
      if (!dirs.has(dir)) {
        w.close()
        this.#watchers.delete(dir)
      }
    for (const dir of dirs) if (!this.#watchers.has(dir) && !this.#stopped) this.#watch(dir)
    this.#fingerprint = await this.#read()
  }

  /** How many times the files were read to see whether they changed (after events settled, or forced). */
  get checks(): number {
    return this.#checks
  }

  /** Runs onChange now (after any that runs), whether or not a file changed: SIGHUP. */
  reload(reason: string): Promise<void> {
    return this.#run(reason, true)
  }

  #watch(dir: string): void {
    try {
      // not persistent: watching alone never keeps the process alive
      const w = watch(dir, { persistent: false }, (_event, name) => {
        const file = name == null ? undefined : basename(name.toString())
        if (file == null || this.#files.some((f) => dirname(f) === dir && basename(f) === file))
          this.#schedule()
      })
      w.on('error', (err) => {
        w.close()
        this.#watchers.delete(dir)
        this.#init.onError?.(err)
      })
      this.#watchers.set(dir, w)
    } catch (err) {
      this.#init.onError?.(err as Error)
    }
  }

  #schedule(): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    // #run reports a failed reload to onError itself; the catch is for anything that escapes it
    const run = () => void this.#run('watch', false).catch((err: Error) => this.#init.onError?.(err))
    this.#timer = setTimeout(run, this.#init.debounceMs ?? WATCH_DEBOUNCE_MS)
  }

  async #run(reason: string, force: boolean): Promise<void> {
    if (this.#stopped) return
    if (this.#running != null) {
      const before = this.#again
      this.#again = {
        reason: force || before == null ? reason : before.reason,
        force: force || (before?.force ?? false),
      }
      return this.#running
    }
    this.#running = (async () => {
      try {
        const print = await this.#read()
        this.#checks += 1
        if (!force && print === this.#fingerprint) return
        this.#fingerprint = print
        await this.#init.onChange(reason)
      } catch (err) {
        this.#init.onError?.(err as Error)
      } finally {
        this.#running = undefined
      }
    })()
    await this.#running
    const again = this.#again
    this.#again = undefined
    if (again != null) await this.#run(again.reason, again.force)
  }

  /** One hash over every watched file's path and content (a missing file counts as a content too). */
  async #read(): Promise<string> {
    const hash = createHash('sha256')
    for (const file of this.#files) {
      hash.update(file).update('\0')
      const bytes = await readFile(file).catch(
        (err: NodeJS.ErrnoException) => `(${err.code ?? 'unreadable'})`,
      )
      hash.update(bytes).update('\0')
    }
    return hash.digest('hex')
  }
}
