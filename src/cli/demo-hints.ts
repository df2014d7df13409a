/**
 * The "try this" block `kith start --demo` writes to stderr once the demo household is live: commands to
 * paste, with the real capability ids and the API address, and the MCP config for Claude Desktop with the
 * real absolute paths. How to run the CLI depends on how this process was started: from a checkout
 * (`npm run --silent kith --`), as the single binary, or as a bundle run by Node.
 */
import { dirname, resolve } from 'node:path'
import { isSea } from 'node:sea'
import { shortPeer, type Style } from './format.ts'

/** How the CLI that is running was started, so the hints can say how to start it again. */
export type Invocation =
  | { kind: 'checkout'; root: string }
  | { kind: 'binary'; path: string }
  | { kind: 'node'; node: string; script: string }

/** Where installed binaries live (`kith install --systemd`). */
export const INSTALLED_BINARY = '/usr/local/bin/kith'

/**
 * @example
 * invocation() // { kind: 'checkout', root: '/home/me/kith' } under `npm start`
 */
export function invocation(argv: readonly string[] = process.argv, sea = isSea()): Invocation {
  if (sea) return { kind: 'binary', path: process.execPath }
  const script = resolve(argv[1] ?? '')
  if (/[\\/]src[\\/]cli[\\/]main\.ts$/.test(script))
    return { kind: 'checkout', root: resolve(dirname(script), '../..') }
  return { kind: 'node', node: process.execPath, script }
}

/** The directory a client verb resolves the default `.kith/kith.yaml` against. */
export function commandDir(how: Invocation, cwd = process.cwd()): string {
  // `npm run` runs in the package's root, wherever it was typed
  return how.kind === 'checkout' ? how.root : cwd
}

/** The command line prefix that runs the CLI. */
export function cliPrefix(how: Invocation): string {
  if (how.kind === 'checkout') return 'npm run --silent kith --'
  if (how.kind === 'binary') return how.path === INSTALLED_BINARY ? 'kith' : shellWord(how.path)
  return `${shellWord(how.node)} ${shellWord(how.script)}`
}

/** What a client verb must be told to reach this node, beyond its defaults. */
export interface ClientHints {
  /** the API, when the default config (`.kith/kith.yaml` where commands run) does not lead to it */
  api?: string
  /** the config, for its API token */
  config?: string
}

/** `--api URL --config FILE`, as far as needed. */
export function clientArgs(hints: ClientHints): string[] {
  return [
    ...(hints.api != null ? ['--api', hints.api] : []),
    ...(hints.config != null ? ['--config', hints.config] : []),
  ]
}

/** The `mcpServers` entries for Claude Desktop: the first for how kith runs now, then the installed binary. */
export function mcpConfigs(
  how: Invocation,
  hints: ClientHints,
  api: string,
): Array<{ label: string; json: string }> {
  const entry = (command: string, args: string[]) =>
    JSON.stringify({ mcpServers: { kith: { command, args } } })
  // a desktop client starts the binary in a directory of its own, so it is always told where the API is
  const binary = ['mcp', ...clientArgs({ ...hints, api })]
  if (how.kind === 'checkout')
    return [
      {
        label: 'from this checkout',
        json: entry('npm', [
          'run',
          '--silent',
          '--prefix',
          how.root,
          'kith',
          '--',
          'mcp',
          ...clientArgs(hints),
        ]),
      },
      { label: 'with the installed binary', json: entry(INSTALLED_BINARY, binary) },
    ]
  if (how.kind === 'binary') return [{ label: 'with this binary', json: entry(how.path, binary) }]
  return [{ label: 'with this bundle', json: entry(how.node, [how.script, ...binary]) }]
}

export interface TryThisFacts {
  how: Invocation
  client: ClientHints
  /** the API as a client reaches it */
  api: string
  peerId: string
  demoPeerId: string
  demoCapabilities: string[]
  devices: number
  /** the demo plug's switch action, when the plug is there */
  plugAction?: string
  /** the example workflow, relative to where commands run; absent where it is not at hand (the binary) */
  workflow?: string
}

/**
 * The block itself, a few lines of text.
 *
 * @example
 * process.stderr.write(tryThis(facts, styleFor(process.stderr)))
 */
export function tryThis(f: TryThisFacts, style: Style): string {
  const extra = clientArgs(f.client).map(shellWord).join(' ')
  const run = (args: string) => `  ${cliPrefix(f.how)} ${args}${extra !== '' ? ` ${extra}` : ''}`
  const commands = [
    run('find "average of some numbers"'),
    run(`call math.stats --input '{"values":[3,1,4,1,5,9,2,6]}' --tier 2`),
    ...(f.plugAction != null ? [run(`call ${f.plugAction} --input '{"on":true}'`)] : []),
    ...(f.workflow != null ? [run(`run ${f.workflow}`)] : []),
    run('peers'),
  ]
  const devices =
    f.devices > 0 ? `${f.devices} virtual devices on its MQTT broker` : 'no demo devices (no embedded broker)'
  const lines = [
    '',
    style.bold(style.green('kith is running with a demo household')),
    `  this node  ${shortPeer(f.peerId)}  ${f.api}  ${devices}`,
    `  demo peer  ${shortPeer(f.demoPeerId)}  ${f.demoCapabilities.join(', ')}`,
    '',
    style.bold('Try this, in another terminal:'),
    ...commands.map((c) => style.cyan(c)),
    '',
    `${style.bold('Dashboard, in a browser:')} ${style.cyan(`${f.api}/`)}`,
    '',
    style.bold('Claude Desktop (claude_desktop_config.json):'),
    ...mcpConfigs(f.how, f.client, f.api).flatMap((c) => [`  ${style.dim(c.label)}`, `  ${c.json}`]),
    '',
  ]
  return `${lines.join('\n')}\n`
}

/** Quotes a word for a POSIX shell when it needs it. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
