/**
 * The generated part of docs/errors.md: every error class's code, HTTP status and exit code (their static
 * fields, src/util/errors.ts) and every refusal the API throws (`new HttpError(status, 'code', …)` in src/).
 * test/unit/errors.test.ts fails when a module that defines an error class is missing from ERROR_MODULES.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as utilErrors from '../../src/util/errors.ts'
import * as apiHttp from '../../src/api/http.ts'
import * as apiJcs from '../../src/api/jcs.ts'
import * as apiMcpBackend from '../../src/api/mcp/backend.ts'
import * as cliClient from '../../src/cli/client.ts'
import * as cliInit from '../../src/cli/init.ts'
import * as cliInstallSystem from '../../src/cli/install-system.ts'
import * as cliUsageError from '../../src/cli/usage-error.ts'
import * as configErrors from '../../src/config/errors.ts'
import * as fleetFleet from '../../src/fleet/fleet.ts'
import * as fleetOwner from '../../src/fleet/owner.ts'
import * as fleetRelease from '../../src/fleet/release.ts'
import * as connectivityIdentity from '../../src/connectivity/identity.ts'
import * as devicesBroker from '../../src/devices/broker.ts'
import * as devicesMqttLink from '../../src/devices/mqtt-link.ts'
import * as devicesProfile from '../../src/devices/profile.ts'
import * as devicesRefusal from '../../src/devices/refusal.ts'
import * as devicesTemplateTypes from '../../src/devices/template-types.ts'
import * as discoveryCatalogPage from '../../src/discovery/catalog-page.ts'
import * as discoveryDescriptor from '../../src/discovery/descriptor.ts'
import * as discoveryIntake from '../../src/discovery/intake.ts'
import * as discoverySystemSource from '../../src/discovery/system-source.ts'
import * as discoveryWire from '../../src/discovery/wire.ts'
import * as executionIoSchema from '../../src/execution/io-schema.ts'
import * as executionRegistry from '../../src/execution/registry.ts'
import * as executionSandboxClassify from '../../src/execution/sandbox/classify.ts'
import * as executionSandboxErrors from '../../src/execution/sandbox/errors.ts'
import * as executionSandboxPrelude from '../../src/execution/sandbox/prelude.ts'
import * as executionScheduler from '../../src/execution/scheduler.ts'
import * as executionTaskErrors from '../../src/execution/task-errors.ts'
import * as executionTaskServer from '../../src/execution/task-server.ts'
import * as executionTaskWire from '../../src/execution/task-wire.ts'
import * as executionWorkflowErrors from '../../src/execution/workflow/errors.ts'
import * as nodeStartError from '../../src/node/start-error.ts'
import * as storeDatabase from '../../src/store/database.ts'
import * as trustEvidenceErrors from '../../src/trust/evidence/errors.ts'
import * as trustEvidenceTpmReader from '../../src/trust/evidence/tpm-reader.ts'
import * as trustEvidenceTpmTools from '../../src/trust/evidence/tpm-tools.ts'
import * as trustReputationOpinion from '../../src/trust/reputation/opinion.ts'
import { EXIT, KithError } from '../../src/util/errors.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Every module of src/ that defines an error class, by its path in the repository. */
export const ERROR_MODULES: Readonly<Record<string, Record<string, unknown>>> = {
  'src/util/errors.ts': utilErrors,
  'src/api/http.ts': apiHttp,
  'src/api/jcs.ts': apiJcs,
  'src/api/mcp/backend.ts': apiMcpBackend,
  'src/cli/client.ts': cliClient,
  'src/cli/init.ts': cliInit,
  'src/cli/install-system.ts': cliInstallSystem,
  'src/cli/usage-error.ts': cliUsageError,
  'src/config/errors.ts': configErrors,
  'src/fleet/fleet.ts': fleetFleet,
  'src/fleet/owner.ts': fleetOwner,
  'src/fleet/release.ts': fleetRelease,
  'src/connectivity/identity.ts': connectivityIdentity,
  'src/devices/broker.ts': devicesBroker,
  'src/devices/mqtt-link.ts': devicesMqttLink,
  'src/devices/profile.ts': devicesProfile,
  'src/devices/refusal.ts': devicesRefusal,
  'src/devices/template-types.ts': devicesTemplateTypes,
  'src/discovery/catalog-page.ts': discoveryCatalogPage,
  'src/discovery/descriptor.ts': discoveryDescriptor,
  'src/discovery/intake.ts': discoveryIntake,
  'src/discovery/system-source.ts': discoverySystemSource,
  'src/discovery/wire.ts': discoveryWire,
  'src/execution/io-schema.ts': executionIoSchema,
  'src/execution/registry.ts': executionRegistry,
  'src/execution/sandbox/classify.ts': executionSandboxClassify,
  'src/execution/sandbox/errors.ts': executionSandboxErrors,
  'src/execution/sandbox/prelude.ts': executionSandboxPrelude,
  'src/execution/scheduler.ts': executionScheduler,
  'src/execution/task-errors.ts': executionTaskErrors,
  'src/execution/task-server.ts': executionTaskServer,
  'src/execution/task-wire.ts': executionTaskWire,
  'src/execution/workflow/errors.ts': executionWorkflowErrors,
  'src/node/start-error.ts': nodeStartError,
  'src/store/database.ts': storeDatabase,
  'src/trust/evidence/errors.ts': trustEvidenceErrors,
  'src/trust/evidence/tpm-reader.ts': trustEvidenceTpmReader,
  'src/trust/evidence/tpm-tools.ts': trustEvidenceTpmTools,
  'src/trust/reputation/opinion.ts': trustReputationOpinion,
}

/** One error class: its defaults, and where it is defined. */
export interface ErrorRow {
  name: string
  module: string
  code: string
  status: number
  exitCode: number
  /** its instances get their code where they are thrown; `code` is the default */
  codeVaries: boolean
}

/**
 * Every error class of ERROR_MODULES, ordered by code.
 *
 * @example
 * errorTable().find((r) => r.name === 'BusyError')?.code // 'busy'
 */
export function errorTable(): ErrorRow[] {
  const rows: ErrorRow[] = []
  const seen = new Set<unknown>()
  for (const [module, exports] of Object.entries(ERROR_MODULES)) {
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value !== 'function' || seen.has(value)) continue
      if (value !== KithError && !(value.prototype instanceof KithError)) continue
      seen.add(value)
      const kind = value as typeof KithError
      rows.push({
        name,
        module,
        code: kind.code,
        status: kind.status,
        exitCode: kind.exitCode,
        codeVaries: kind.codeVaries,
      })
    }
  }
  return rows.sort((a, b) => a.code.localeCompare(b.code) || a.name.localeCompare(b.name))
}

/** The TypeScript files of src/, relative to the repository. */
export function sourceFiles(): string[] {
  return readdirSync(join(ROOT, 'src'), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort()
}

/** One refusal of the API: a status and code some route throws. */
export interface ApiRefusal {
  status: number
  code: string
  modules: string[]
}

/**
 * Every `new HttpError(status, 'code', …)` written in src/, by status and code.
 *
 * @example
 * apiRefusals().find((r) => r.code === 'unauthorized')?.status // 401
 */
export function apiRefusals(): ApiRefusal[] {
  const found = new Map<string, ApiRefusal>()
  for (const module of sourceFiles()) {
    const text = readFileSync(join(ROOT, module), 'utf8')
    for (const [, status, code] of text.matchAll(/new HttpError\(\s*(\d{3}),\s*'([a-z_]+)'/g)) {
      const refusal = found.get(`${status} ${code}`) ?? {
        status: Number(status),
        code: code as string,
        modules: [],
      }
      if (!refusal.modules.includes(module)) refusal.modules.push(module)
      found.set(`${status} ${code}`, refusal)
    }
  }
  return [...found.values()].sort((a, b) => a.status - b.status || a.code.localeCompare(b.code))
}

/**
 * The tables of docs/errors.md: the CLI's exit codes, the API's refusals, and every error class.
 *
 * @example
 * replaceGenerated(page, errorReference(), 'docs/errors.md')
 */
export function errorReference(): string {
  const exits = [
    `| 0 | success |`,
    `| ${EXIT.failure} | failure: an API error, an unreachable node, a failed task or workflow, a node that did not start |`,
    `| ${EXIT.usage} | usage: an unknown option, bad \`--input\` JSON, a node the fleet file does not have |`,
    `| ${EXIT.config} | a configuration, identity, workflow or scenario file problem (sysexits \`EX_CONFIG\`) |`,
  ]
  const refusals = apiRefusals().map(
    (r) => `| ${r.status} | \`${r.code}\` | ${r.modules.map((m) => `\`${m}\``).join(', ')} |`,
  )
  const classes = errorTable().map(
    (r) =>
      `| \`${r.code}\`${r.codeVaries ? ' (or set where thrown)' : ''} | \`${r.name}\` | ${r.status} | ${r.exitCode} | \`${r.module}\` |`,
  )
  return [
    '## Exit codes of the CLI',
    '',
    '| exit | meaning |',
    '| --- | --- |',
    ...exits,
    '',
    '## Refusals of the HTTP API',
    '',
    '| status | code | thrown in |',
    '| --- | --- | --- |',
    ...refusals,
    '',
    '## Error classes',
    '',
    'The code, status and exit code each class carries unless it is given others where it is thrown.',
    '',
    '| code | class | HTTP status | exit | defined in |',
    '| --- | --- | --- | --- | --- |',
    ...classes,
  ].join('\n')
}
