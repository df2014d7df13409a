import { EXIT, KithError } from '../util/errors.ts'

/** One thing wrong with a config, located where a person can fix it. */
export interface ConfigProblem {
  /** the file (or `env:NAME` for an environment override) */
  source: string
  /** 1-based line in `source`; 0 when no line applies */
  line: number
  /** dotted path of the key, `(file)` for the whole file, `(yaml)` for a syntax error */
  path: string
  message: string
}

/** Formats a problem as `FILE:LINE: path.to.field: what is wrong`. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.source}${p.line > 0 ? `:${p.line}` : ''}: ${p.path}: ${p.message}`
}

/** Thrown when a config cannot be used; carries every problem found, not just the first. */
export class ConfigError extends KithError {
  static override readonly code: string = 'bad_config'
  static override readonly status: number = 400
  static override readonly exitCode: number = EXIT.config
  readonly problems: ConfigProblem[]

  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n') || 'invalid config')
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** The exit code `sysexits.h` gives to configuration errors. */
export const EX_CONFIG = EXIT.config
