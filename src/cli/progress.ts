/**
 * A spinner line on stderr while a verb waits for the node (`kith run`, a long `kith call`): shown only on a
 * terminal and only once the wait has lasted a moment, so quick answers and piped output never see it.
 */
import { duration, styleFor } from './format.ts'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export interface ProgressInit {
  /** default process.stderr */
  stream?: NodeJS.WriteStream
  /** wait this long before showing anything (ms); default 300 */
  delayMs?: number
  /** redraw interval (ms); default 80 */
  intervalMs?: number
  env?: NodeJS.ProcessEnv
  now?: () => number
}

export interface Progress {
  /** removes the line; safe to call twice */
  stop(): void
}

/**
 * Shows `label` with a spinner and the elapsed time until `stop()`; does nothing where stderr is not a terminal.
 *
 * @example
 * const progress = startProgress('calling math.stats')
 * try { await call() } finally { progress.stop() }
 */
export function startProgress(label: string, init: ProgressInit = {}): Progress {
  const stream = init.stream ?? process.stderr
  if (stream.isTTY !== true) return { stop: () => undefined }
  const now = init.now ?? Date.now
  const style = styleFor(stream, init.env)
  const started = now()
  let frame = 0
  let shown = false
  let interval: NodeJS.Timeout | undefined
  const draw = () => {
    shown = true
    const spinner = style.cyan(FRAMES[frame++ % FRAMES.length] as string)
    stream.write(`\r\x1b[2K${spinner} ${label} ${style.dim(duration(now() - started))}`)
  }
  const delay = setTimeout(() => {
    draw()
    interval = setInterval(draw, init.intervalMs ?? 80)
    interval.unref()
  }, init.delayMs ?? 300)
  // a spinner never keeps the process alive on its own
  delay.unref()
  let stopped = false
  return {
    stop: () => {
      if (stopped) return
      stopped = true
      clearTimeout(delay)
      clearInterval(interval)
      if (shown) stream.write('\r\x1b[2K')
    },
  }
}

/**
 * Runs `work` with a progress line labelled `label`.
 *
 * @example
 * const result = await withProgress('running workflow evening', () => client.post('/v1/workflows', body))
 */
export async function withProgress<T>(
  label: string,
  work: () => Promise<T>,
  init?: ProgressInit,
): Promise<T> {
  const progress = startProgress(label, init)
  try {
    return await work()
  } finally {
    progress.stop()
  }
}
