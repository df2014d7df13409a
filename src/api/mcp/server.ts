/**
 * One MCP server (one per stdio process, one per streamable HTTP session) on the low-level SDK `Server`, whose
 * tools/list and tools/call handlers read the catalog at each request, so the tool list follows the network.
 *
 * Errors: an unknown tool and oversize arguments are protocol errors (JSON-RPC -32602); a bad input, a
 * missing confirmation, a provider that left, a failed or timed-out task are tool results with
 * `isError: true`, which the model reads and can act on (MCP 2025-11-25, "Error Handling").
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  type CallToolResult,
  CallToolRequestSchema,
  ElicitResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js'
import { VERSION } from '../../version.ts'
import { BackendError, type McpBackend } from './backend.ts'
import type { ToolCatalog, ToolSnapshot } from './catalog.ts'
import { confirmAction, type Elicit } from './confirm.ts'
import { ELICIT_TIMEOUT_MS, MAX_ARGUMENT_BYTES } from './constants.ts'
import { fixedHandlers, fixedTools } from './fixed-tools.ts'
import { guard, InputChecks, runCapability, type RunContext } from './run-capability.ts'
import { errorResult, failureResult } from './result.ts'

export interface McpServerInit {
  backend: McpBackend
  catalog: ToolCatalog
  /** shared by the servers of one node: schemas compile once */
  checks?: InputChecks
  log?: ErrorLog
}

/** Where failures of the server itself go (a pino logger fits). */
export interface ErrorLog {
  error(fields: Record<string, unknown>, message: string): void
}

const INSTRUCTIONS =
  'kith connects the hubs of a household into one network. Each capability live in it (scripts, device ' +
  'actions, sensor reads) is a tool named after its capability id, with its provider peer in the ' +
  'description; find_capabilities searches them by intent, call_capability runs one by id, run_workflow runs ' +
  'several steps. Results say which peer ran the task, at which verification tier, and the outcome. ' +
  "High-risk tools need the user's confirmation. The tool list changes as peers come and go."

const FIXED_SCHEMAS = new Map(fixedTools(0).map((t) => [t.name, t.inputSchema as Record<string, unknown>]))

/**
 * @example
 * const server = createMcpServer({ backend, catalog: new ToolCatalog(() => backend.providers()) })
 * await server.connect(new StdioServerTransport())
 */
export function createMcpServer(init: McpServerInit): Server {
  const { backend, catalog } = init
  const checks = init.checks ?? new InputChecks()
  const server = new Server(
    { name: 'kith', title: 'kith', version: VERSION },
    { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS },
  )

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    let snapshot: ToolSnapshot
    try {
      snapshot = await guard(catalog.snapshot(), 'the tool list')
    } catch (err) {
      // the node is unreachable (kith mcp): the fixed tools still answer, each saying what is wrong
      if (!(err instanceof BackendError)) throw err
      return { tools: fixedTools(0), _meta: { 'kith/error': err.message } }
    }
    return {
      tools: [...fixedTools(snapshot.omitted), ...snapshot.tools],
      ...(snapshot.omitted > 0 ? { _meta: { 'kith/omittedTools': snapshot.omitted } } : {}),
    }
  })

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params
    const args = request.params.arguments ?? {}
    const size = Buffer.byteLength(JSON.stringify(args))
    if (size > MAX_ARGUMENT_BYTES)
      throw new McpError(
        ErrorCode.InvalidParams,
        `The arguments of ${name} are ${size} bytes; the limit is ${MAX_ARGUMENT_BYTES}.`,
      )
    const elicitation = server.getClientCapabilities()?.elicitation
    // an empty elicitation capability means form mode (MCP 2025-06-18 clients)
    const canElicit =
      elicitation != null && (elicitation.form != null || Object.keys(elicitation).length === 0)
    const elicit: Elicit = (params) =>
      extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema, {
        timeout: ELICIT_TIMEOUT_MS,
      })
    const ctx: RunContext = {
      backend,
      checks,
      confirm: (what, confirmArgument) =>
        confirmAction({ what, confirmArgument, ...(canElicit ? { elicit } : {}) }),
    }
    try {
      const snapshot = await guard(catalog.snapshot(), 'the tool list')
      const fixed = fixedHandlers[name]
      if (fixed != null) {
        const problem = checks.check(FIXED_SCHEMAS.get(name) ?? {}, args)
        if (problem !== undefined) {
          const arguments_ = problem.replace(/^input/, 'arguments')
          return errorResult(`Input validation error for ${name}: ${arguments_}`, {
            error: { code: 'bad_input', message: arguments_ },
          })
        }
        return await fixed(args, ctx, snapshot)
      }
      const tool = snapshot.byName.get(name)
      if (tool == null) {
        const gone = catalog.retired(name)
        if (gone != null)
          return errorResult(
            `The tool ${name} is gone: peer ${gone.peer} no longer offers ${gone.capability.id} (it left the ` +
              'network or withdrew it). Nothing was run; list the tools again or use find_capabilities.',
            {
              error: {
                code: 'provider_gone',
                message: `${gone.peer} no longer offers ${gone.capability.id}`,
              },
            },
          )
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`)
      }
      // `confirm` is ours only on high-risk tools; elsewhere it may be the capability's own field
      const { confirm, ...rest } = tool.confirm ? args : { ...args, confirm: undefined }
      const input = tool.wrapped ? rest.input : tool.confirm ? rest : args
      return await runCapability(ctx, {
        id: tool.capability.id,
        capability: tool.capability,
        riskiest: tool.capability.risk,
        provider: tool.peer,
        input,
        confirmArgument: confirm,
      })
    } catch (err) {
      if (err instanceof McpError) throw err
      if (!(err instanceof BackendError)) init.log?.error({ err, tool: name }, 'MCP tool call failed')
      return failureResult(name, err)
    }
  })
  return server
}
