/** Facts about where and from what a benchmark ran, recorded beside its numbers. */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import type { MachineFacts } from './types.ts'

export function machineFacts(): MachineFacts {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  }
}

/** The short commit of HEAD and whether the work tree differs from it; `unknown` outside a git checkout. */
export function gitFacts(root: string): { commit: string; dirty: boolean } {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    const commit = git('rev-parse', '--short', 'HEAD')
    // bench/ holds this run's own output; it does not change what was measured
    const dirty = git('status', '--porcelain', '--', '.', ':!bench', ':!BENCHMARKS.md')
    return { commit, dirty: dirty !== '' }
  } catch {
    return { commit: 'unknown', dirty: false }
  }
}
