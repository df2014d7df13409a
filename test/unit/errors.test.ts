import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { apiRefusals, ERROR_MODULES, errorTable } from '../../scripts/docs/error-reference.ts'
import { HttpError } from '../../src/api/http.ts'
import { ConfigError } from '../../src/config/errors.ts'
import { reportError } from '../../src/cli/report-error.ts'
import { UsageError } from '../../src/cli/usage-error.ts'
import { SandboxClosedError } from '../../src/execution/sandbox/errors.ts'
import { BusyError, TimeoutError } from '../../src/execution/scheduler.ts'
import { RequestTimeoutError } from '../../src/execution/task-client.ts'
import { NodeStartError } from '../../src/node/start-error.ts'
import {
  errorCode,
  EXIT,
  hasErrorName,
  isKithError,
  KithError,
  toApiError,
  userMessage,
} from '../../src/util/errors.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/**
 * Every error class with the code, HTTP status and exit code it carries. These are a contract (API clients,
 * scripts and agents match on codes): a change here is a change users see, so it is made on purpose.
 */
const CONTRACT: Record<string, [code: string, status: number, exit: number]> = {
  ApiError: ['api_error', 502, 1],
  BackendError: ['backend_failed', 502, 1],
  BadReferenceError: ['bad_reference', 400, 1],
  BrokerError: ['broker_failed', 500, 1],
  BusyError: ['busy', 503, 1],
  CanonicalJsonError: ['not_json', 500, 1],
  ConfigError: ['bad_config', 400, 78],
  ConnectionLostError: ['connection_lost', 502, 1],
  DatabaseVersionError: ['database_too_new', 500, 1],
  DescriptorError: ['bad_descriptor', 502, 1],
  DeviceConfigError: ['bad_device_config', 400, 78],
  DigestMismatchError: ['digest_mismatch', 502, 1],
  EvidenceError: ['bad_evidence', 502, 1],
  FleetNodeError: ['unknown_node', 404, 2],
  FrameError: ['bad_frame', 502, 1],
  HttpError: ['bad_request', 400, 1],
  IdentityError: ['bad_identity', 500, 78],
  IdleStreamError: ['idle_stream', 408, 1],
  InitError: ['init_refused', 409, 1],
  InstallError: ['install_failed', 500, 1],
  KithError: ['internal', 500, 1],
  MqttLinkError: ['mqtt_failed', 502, 1],
  NodeStartError: ['start_failed', 500, 1],
  OpinionError: ['bad_opinion', 502, 1],
  OwnerKeyError: ['bad_owner_key', 500, 78],
  PageError: ['bad_catalog_page', 502, 1],
  PreludeFailed: ['prelude_failed', 500, 1],
  Refusal: ['import_refused', 400, 1],
  ReleaseError: ['bad_release', 400, 1],
  RequestTimeoutError: ['request_timeout', 504, 1],
  SampleTimeoutError: ['sample_timeout', 500, 1],
  SandboxClosedError: ['sandbox_closed', 503, 1],
  SandboxConfigError: ['bad_sandbox_config', 500, 1],
  SandboxLoadError: ['sandbox_load_failed', 500, 1],
  SchedulerStoppedError: ['scheduler_stopped', 503, 1],
  SchemaError: ['bad_schema', 400, 1],
  TaskFailed: ['sandbox_failed', 500, 1],
  TaskFailure: ['task_failed', 500, 1],
  TemplateError: ['bad_template', 400, 1],
  TimeoutError: ['timeout', 504, 1],
  TpmCommandError: ['tpm_command_failed', 500, 1],
  TpmParseError: ['bad_tpm_structure', 502, 1],
  UsageError: ['usage', 400, 2],
  WireError: ['bad_message', 502, 1],
  WorkflowError: ['bad_workflow', 400, 78],
}

/** `export class Name extends Base` at the start of a line, in every source file of src/. */
async function declaredErrorClasses(): Promise<Array<{ name: string; module: string }>> {
  const found: Array<{ name: string; module: string }> = []
  const entries = await readdir(join(ROOT, 'src'), { withFileTypes: true, recursive: true })
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue
    const file = join(e.parentPath, e.name)
    const text = await readFile(file, 'utf8')
    for (const [, name] of text.matchAll(
      /^(?:export )?class (\w+) extends (?:\w*Error|KithError|Refusal)\b/gm,
    ))
      found.push({ name: name as string, module: relative(ROOT, file) })
  }
  return found
}

describe('the error classes', () => {
  it('are every one a KithError, in the table of scripts/docs/error-reference.ts', async () => {
    const table = errorTable()
    const declared = await declaredErrorClasses()
    expect(declared.length).toBeGreaterThanOrEqual(43)
    for (const d of declared) {
      expect(Object.keys(ERROR_MODULES), `${d.module} defines ${d.name}`).toContain(d.module)
      expect(
        table.map((r) => `${r.module} ${r.name}`),
        `${d.name} is exported`,
      ).toContain(`${d.module} ${d.name}`)
    }
  })

  it('carry the codes, statuses and exit codes of the contract', () => {
    const table = errorTable()
    const actual = Object.fromEntries(table.map((r) => [r.name, [r.code, r.status, r.exitCode]]))
    expect(actual).toEqual(CONTRACT)
  })

  it('each have a code of their own, in snake_case', () => {
    const codes = errorTable().map((r) => r.code)
    expect(new Set(codes).size).toBe(codes.length)
    for (const code of codes) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/)
  })

  it('keep their names and default messages, and their instances the class defaults', () => {
    const busy = new BusyError()
    expect(busy).toBeInstanceOf(KithError)
    expect(busy).toBeInstanceOf(Error)
    expect([busy.name, busy.message, busy.code, busy.status, busy.exitCode]).toEqual([
      'BusyError',
      'the node is busy',
      'busy',
      503,
      1,
    ])
    expect(new RequestTimeoutError().message).toBe('the provider did not answer before the deadline')
    expect(new TimeoutError().name).toBe('TimeoutError')
  })

  it('take a code, status and cause given where they are thrown', () => {
    const cause = new Error('listen EADDRINUSE')
    const failed = new NodeStartError('address_in_use', 'network.listen: in use', { cause })
    expect([failed.code, failed.status, failed.cause]).toEqual(['address_in_use', 500, cause])
    const refusal = new HttpError(404, 'not_found', 'no task t1')
    expect([refusal.code, refusal.status, refusal.name]).toEqual(['not_found', 404, 'HttpError'])
  })
})

describe('errorCode and isKithError', () => {
  it('name kith errors by their code and anything else internal', () => {
    expect(errorCode(new SandboxClosedError())).toBe('sandbox_closed')
    expect(errorCode(new TypeError('x'))).toBe('internal')
    expect(errorCode('a string')).toBe('internal')
    expect(isKithError(new BusyError())).toBe(true)
    expect(isKithError(Object.assign(new Error('x'), { code: 'busy' }))).toBe(false)
  })

  it('hasErrorName knows third-party errors by name only', () => {
    expect(hasErrorName(new DOMException('late', 'TimeoutError'), 'TimeoutError')).toBe(true)
    expect(hasErrorName(new DOMException('stop', 'AbortError'), 'TimeoutError', 'AbortError')).toBe(true)
    expect(hasErrorName(new Error('x'), 'TimeoutError')).toBe(false)
    expect(hasErrorName(undefined, 'TimeoutError')).toBe(false)
  })
})

describe('toApiError', () => {
  it('answers a kith error with its status, code and message', () => {
    expect(toApiError(new HttpError(401, 'unauthorized', 'a valid bearer token is required'))).toEqual({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'a valid bearer token is required' } },
      unexpected: false,
    })
    expect(toApiError(new BusyError()).status).toBe(503)
  })

  it('hides the detail of anything else behind a 500 internal', () => {
    expect(toApiError(new Error('/var/lib/kith/secret: EACCES'))).toEqual({
      status: 500,
      body: { error: { code: 'internal', message: 'internal error' } },
      unexpected: true,
    })
  })
})

describe('the CLI line', () => {
  let stderr = ''
  const capture = () => {
    stderr = ''
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk)
      return true
    })
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr += `${args.join(' ')}\n`
    })
  }
  afterEach(() => vi.restoreAllMocks())

  it('is one line, kith: <code>: <message>, and the exit code is the error’s', () => {
    capture()
    // a usage error is about the command line: no code, as commander's own
    expect(reportError(new UsageError('--tier must be auto, 1, 2 or 3'))).toBe(EXIT.usage)
    expect(stderr).toBe('kith: --tier must be auto, 1, 2 or 3\n')
    capture()
    expect(
      reportError(new NodeStartError('address_in_use', 'network.listen: /ip4/127.0.0.1/tcp/7701 is in use')),
    ).toBe(1)
    expect(stderr).toBe('kith: address_in_use: network.listen: /ip4/127.0.0.1/tcp/7701 is in use\n')
  })

  it('adds the hint, and keeps a multi-line message on one line', () => {
    capture()
    const err = new KithError('first\nsecond', { code: 'busy', hint: 'try again in a minute', exitCode: 3 })
    expect(userMessage(err)).toEqual({ code: 'busy', message: 'first\nsecond (try again in a minute)' })
    expect(reportError(err)).toBe(3)
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(stderr).toMatch(/^kith: busy: first.*second \(try again in a minute\)\n$/)
  })

  it('prints a config’s problems as FILE:LINE lines and exits 78', () => {
    capture()
    const err = new ConfigError([
      { source: 'kith.yaml', line: 3, path: 'api.listen', message: 'not HOST:PORT' },
    ])
    expect(reportError(err)).toBe(78)
    expect(stderr).toBe('kith.yaml:3: api.listen: not HOST:PORT\n')
  })

  it('names an unexpected error internal, points at --debug, and prints no stack', () => {
    capture()
    expect(reportError(new RangeError('boom'))).toBe(1)
    expect(stderr).toBe('kith: internal: boom (run again with --debug to see where)\n')
  })
})

describe('docs/errors.md', () => {
  // that the page is current is docs-current.test.ts's check, as for every generated page
  it('lists the API refusals the routes throw', () => {
    const refusals = apiRefusals().map((r) => `${r.status} ${r.code}`)
    expect(refusals).toEqual(expect.arrayContaining(['401 unauthorized', '404 not_found', '400 bad_request']))
  })
})
