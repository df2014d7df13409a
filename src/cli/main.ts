#!/usr/bin/env node
/**
 * The `kith` command line. `npm run --silent kith -- <args>` from a checkout is the same CLI as the binary.
 * Exit codes: 0 success, 1 failure (an API error, a failed task or workflow), 2 usage, 78 configuration
 * (sysexits EX_CONFIG): each kith error carries its own (src/util/errors.ts, docs/errors.md). Verbs that print
 * data take `--json` (init, config check, config explain, fleet render, fleet owner init, status, peers, find,
 * call, run); errors are one line on stderr, `kith: <code>: <message>`, and a config's problems one
 * `FILE:LINE: path: problem` line each.
 */
// first: in a bundle, sandbox worker threads run this same file (see execution/sandbox/worker-entry.ts)
import { runSandboxWorkerIfRequested } from '../execution/sandbox/worker-entry.ts'
import { dirname, join, resolve } from 'node:path'
import { inspect } from 'node:util'
import { Command, CommanderError, Option } from 'commander'
import { ConfigError } from '../config/index.ts'
import { IdentityError, loadIdentity } from '../connectivity/identity.ts'
import { loadNodeConfig } from '../node/config.ts'
import { VERSION } from '../version.ts'
import { apiClient, DEFAULT_CONFIG, taskDeadlineMs } from './client.ts'
import { addOwnerCommands } from './fleet-owner.ts'
import { initNode } from './init.ts'
import { printMatches, printPeers, printStatus, printTask, printWorkflow } from './output.ts'
import { withProgress } from './progress.ts'
import { reportError } from './report-error.ts'
import { UsageError } from './usage-error.ts'
import { SIM_MOVED } from './sim.ts'

const collect = (value: string, previous: string[] = []) => [...previous, value]

function clientOptions(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'the node API, e.g. http://127.0.0.1:7700 (default: from the config)')
    .option('--config <file>', 'config file to read the API address and token from', DEFAULT_CONFIG)
    .option('--json', 'print JSON instead of a table')
}

export function buildProgram(): Command {
  const program = new Command('kith')
    .description('a peer-to-peer node that shares capabilities and actions across a household')
    .version(VERSION, '-v, --version')
    .option('--debug', 'on an unexpected error, print its stack trace after the one-line message')
    .exitOverride()
    .showHelpAfterError()

  program
    .command('init')
    .description(
      'create a node directory: DIR/kith.yaml and DIR/identity.key (mode 0600); prints the peer id',
    )
    .requiredOption('--dir <dir>', 'directory to create the node in')
    .option('--name <name>', 'a name for this node')
    .option('--api <host:port>', 'where the local API listens')
    .option('--listen <multiaddr>', 'a libp2p listen address (repeatable)', collect)
    .option(
      '--bootstrap <multiaddr>',
      'a peer to connect to at start, ending in /p2p/<id> (repeatable)',
      collect,
    )
    .option('--owner <id>', 'the fleet owner id to write as owner: (from kith fleet owner init)')
    .option('--json', 'print {"peerId","config","identity"} instead of the peer id alone')
    .action(async (opts) => {
      const { peerId, config } = await initNode(opts)
      if (opts.json === true)
        console.log(
          JSON.stringify({ peerId, config: resolve(config), identity: resolve(identityPath(config)) }),
        )
      else console.log(peerId)
    })

  program
    .command('start')
    .description('run the node; prints {"event":"ready",…} on stdout when ready')
    .addOption(new Option('--config <file>', 'the node config').env('KITH_CONFIG').default(DEFAULT_CONFIG))
    .option('--init', 'create the config and identity first if the config file does not exist')
    .option(
      '--demo',
      'also run the default household: virtual devices on the node’s embedded broker (a plug, a dimmable light ' +
        'and a climate sensor announced through Home Assistant discovery, a DIY relay through Homie) and a second ' +
        'node in this process (DIR/demo-peer/) offering math.stats and text.summarize; once they are live, "try ' +
        'this" hints go to stderr',
    )
    .action(async (opts) => {
      // libp2p and the planes load only for the verb that runs a node
      const { startNode } = await import('./start.ts')
      await startNode(opts)
    })

  const config = program.command('config').description('work with config files')
  config
    .command('check')
    .description('validate a config; exit 0, or 78 with FILE:LINE: path: problem for each problem')
    .argument('<file>')
    .option('--json', 'print {"file","ok","problems"} on stdout as well (the exit code is the same)')
    .action(async (file: string, opts) => {
      try {
        const loaded = await loadNodeConfig(file)
        try {
          await loadIdentity(loaded.paths.identity)
        } catch (err) {
          if (!(err instanceof IdentityError)) throw err
          throw new ConfigError([{ ...loaded.locate(['identity']), path: 'identity', message: err.message }])
        }
      } catch (err) {
        if (opts.json === true && err instanceof ConfigError)
          console.log(JSON.stringify({ file, ok: false, problems: err.problems }))
        throw err
      }
      console.log(opts.json === true ? JSON.stringify({ file, ok: true, problems: [] }) : `${file}: ok`)
    })

  config
    .command('explain')
    .description(
      'what a config key means: its type, allowed values, default, env variable and description (a section ' +
        'lists its keys; no key: the top-level ones); an unknown key exits 2 naming the nearest ones',
    )
    .argument('[key]', 'a dotted key, e.g. api.maxConnections or network.relay')
    .option('--json', 'print the key as JSON')
    .action(async (key: string | undefined, opts) => {
      const { explainConfigKey } = await import('./config-explain.ts')
      const outcome = explainConfigKey(key, opts)
      if (!outcome.ok) throw new UsageError(outcome.message)
      console.log(outcome.text)
    })

  const fleet = program
    .command('fleet')
    .description('work with fleet files: one file for every node of a household')
  fleet
    .command('render')
    .description(
      'write DIR/<node>/kith.yaml (mode 0640) for each node of a fleet file, one line per node; nothing is ' +
        'written unless every node is valid (exit 78 with FILE:LINE: path: problem otherwise)',
    )
    .argument('<fleet>', 'the fleet file')
    .option('--out <dir>', 'directory to write the node configs in')
    .option('--node <name>', 'only this node (repeatable)', collect)
    .option('--check', 'validate the nodes, write nothing')
    .option('--stdout', 'print the config of the one --node instead of writing it')
    .option('--json', 'print [{"node","file","action"}] instead of one line per node')
    .action(async (file: string, opts) => {
      if (opts.json === true && opts.stdout === true)
        throw new UsageError('--json and --stdout exclude each other')
      if (opts.stdout === true && (opts.node ?? []).length !== 1)
        throw new UsageError('--stdout needs exactly one --node')
      if (opts.out == null && opts.check !== true && opts.stdout !== true)
        throw new UsageError('give --out DIR, --check or --stdout')
      // a node the fleet does not have is a FleetNodeError: a usage error (exit 2)
      const { renderFleetCommand } = await import('./fleet.ts')
      await renderFleetCommand(file, opts)
    })
  addOwnerCommands(fleet)

  clientOptions(
    program.command('status').description('show the running node: peer id, addresses, connections'),
  ).action(async (opts) => printStatus(await (await apiClient(opts)).get('/v1/status'), opts))
  clientOptions(
    program.command('peers').description('list the peers the running node is connected to'),
  ).action(async (opts) => printPeers(await (await apiClient(opts)).get('/v1/peers'), opts))
  clientOptions(
    program
      .command('find')
      .description('find capabilities in the network by intent, best first')
      .argument('<intent>', 'what you want done, in words')
      .option('--tag <tag>', 'a tag every result must carry (repeatable)', collect)
      .option('--kind <kind>', 'script, device or sensor')
      .option('--local', "only this node's capabilities")
      .option('--min-tier <n>', 'lowest verification tier acceptable: 1, 2 or 3')
      .option('--limit <n>', 'most results', '10'),
  ).action(async (intent: string, opts) => {
    const query = new URLSearchParams({ q: intent, limit: opts.limit })
    for (const tag of opts.tag ?? []) query.append('tag', tag)
    if (opts.kind != null) query.set('kind', opts.kind)
    if (opts.local === true) query.set('local', 'true')
    if (opts.minTier != null) query.set('minTier', opts.minTier)
    printMatches(await (await apiClient(opts)).get(`/v1/capabilities?${query}`), opts)
  })
  clientOptions(
    program
      .command('call')
      .description('run a capability somewhere in the network, falling back to other providers on failure')
      .argument('<capability>', 'capability id, e.g. light.living-room')
      .option('--input <json>', 'the input, as JSON', '{}')
      .option('--tier <tier>', 'verification tier: auto, 1, 2 or 3', 'auto')
      .option('--timeout <ms>', 'give up after this many milliseconds'),
  ).action(async (capability: string, opts) => {
    let input: unknown
    try {
      input = JSON.parse(opts.input)
    } catch {
      throw new UsageError(`--input is not valid JSON: ${opts.input}`)
    }
    if (!['auto', '1', '2', '3'].includes(opts.tier)) throw new UsageError('--tier must be auto, 1, 2 or 3')
    const body = {
      capability,
      input,
      tier: opts.tier === 'auto' ? 'auto' : Number(opts.tier),
      ...(opts.timeout != null ? { timeoutMs: Number(opts.timeout) } : {}),
    }
    const client = await apiClient(opts)
    const result = await withProgress(`calling ${capability}`, () =>
      client.post('/v1/tasks', body, { deadlineMs: taskDeadlineMs(body) }),
    )
    printTask(result, opts)
    if ((result as { ok?: boolean }).ok !== true) process.exitCode = 1
  })
  clientOptions(
    program
      .command('run')
      .description(
        "run a workflow file across the network; reports each step's provider, tier, latency and fallbacks",
      )
      .argument('<workflow>', 'workflow YAML file')
      .option('--input <json>', 'workflow input, as JSON (steps read it as ${input.…})'),
  ).action(async (file: string, opts) => {
    const { loadWorkflow } = await import('../execution/workflow/index.ts')
    const workflow = await loadWorkflow(file) // problems surface here as FILE:LINE lines, exit 78
    let input: unknown
    if (opts.input != null) {
      try {
        input = JSON.parse(opts.input)
      } catch {
        throw new UsageError(`--input is not valid JSON: ${opts.input}`)
      }
    }
    const { readFile } = await import('node:fs/promises')
    const body = { workflow: await readFile(file, 'utf8'), file, ...(input !== undefined ? { input } : {}) }
    const client = await apiClient(opts)
    const steps = `${workflow.steps.length} step${workflow.steps.length === 1 ? '' : 's'}`
    const result = await withProgress(`running workflow ${workflow.name} (${steps})`, () =>
      client.post('/v1/workflows', body, { deadlineMs: workflow.timeoutMs }),
    )
    printWorkflow(result, opts)
    if ((result as { ok?: boolean }).ok !== true) process.exitCode = 1
  })

  program
    .command('mcp')
    .description(
      'serve MCP over stdio (for Claude Desktop and other MCP clients): every capability live in the network as ' +
        'a tool, through the running node; stdout carries MCP messages only',
    )
    .option('--api <url>', 'the node API, e.g. http://127.0.0.1:7700 (default: from the config)')
    .option('--config <file>', 'config file to read the API address and token from', DEFAULT_CONFIG)
    .action(async (opts) => {
      // the MCP SDK loads only for this verb
      const { serveMcpStdio } = await import('./mcp.ts')
      await serveMcpStdio(opts)
    })

  // The simulator is not in the binary (it lives in sim/ of a checkout); the verb stays so that old habits
  // and scripts get directions instead of "unknown command".
  program
    .command('sim')
    .description('not in the binary: from a checkout, run `npm run sim -- <scenario>` (docs/simulation.md)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      console.error(SIM_MOVED)
      process.exitCode = 2
    })

  program
    .command('install')
    .description(
      'install this binary as a hardened systemd service: /usr/local/bin/kith, user kith, ' +
        '/etc/kith/kith.yaml, /var/lib/kith, /etc/systemd/system/kith.service; never overwrites a config or identity',
    )
    .option('--systemd', 'install as a systemd service (the only kind there is)')
    .option('--binary <path>', 'the kith executable to install (default: the running one)')
    .option('--root <dir>', 'lay out the files under DIR instead of / (no user, no owners, no systemctl)')
    .option('--user <name>', 'system user and group to run as', 'kith')
    .option('--memory-max <size>', "the unit's MemoryMax=", '256M')
    .option(
      '--api <host:port>',
      'for a new config: where the local API listens (beyond loopback: a token file)',
    )
    .option('--name <name>', 'for a new config: a name for this node')
    .option('--listen <multiaddr>', 'for a new config: a libp2p listen address (repeatable)', collect)
    .option(
      '--bootstrap <multiaddr>',
      'for a new config: a peer to connect to at start (repeatable)',
      collect,
    )
    .option('--no-start', 'enable the service but do not start it now')
    .option('--dry-run', 'print what would be done and change nothing')
    .action(async (opts) => {
      if (opts.systemd !== true) throw new UsageError('say how to install: kith install --systemd')
      const { installSystemd } = await import('./install.ts')
      await installSystemd(opts)
    })
  return program
}

/** Where `kith init` puts the identity beside a config it wrote. */
function identityPath(config: string): string {
  return join(dirname(config), 'identity.key')
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    process.exitCode = reportError(err)
    if (program.opts().debug === true && err instanceof Error && !(err instanceof CommanderError))
      console.error(inspect(err))
  }
}

// no top-level await: the single-binary build bundles this file as CommonJS; main() handles every error itself
// (the catch is for a failure in that handling itself: one line, no stack, exit 1)
if (!runSandboxWorkerIfRequested())
  main(process.argv).catch((err: unknown) => {
    console.error(`kith: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  })
