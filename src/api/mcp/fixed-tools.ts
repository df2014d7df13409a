/**
 * The five tools every kith MCP server has, whatever is live: find, call, run a workflow, list peers, look up
 * a task. Their arguments are checked against the schemas listed here before a handler runs.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js'
import type { Capability } from '../../discovery/descriptor.ts'
import type { IntentConstraints } from '../../discovery/matcher/index.ts'
import type { ToolSnapshot } from './catalog.ts'
import { MAX_TASK_TIMEOUT_MS } from './constants.ts'
import { guard, runCapability, type RunContext } from './run-capability.ts'
import { errorResult, jsonResult, preview } from './result.ts'
import { tierForRisk } from './tool-shape.ts'
import { runWorkflowTool } from './workflow-tool.ts'

type Args = Record<string, unknown>
type Handler = (args: Args, ctx: RunContext, snapshot: ToolSnapshot) => Promise<CallToolResult>

const CAPABILITY_ID = {
  type: 'string',
  pattern: '^[a-z0-9][a-z0-9._-]{0,63}$',
  description: 'a capability id',
}

/** The fixed tools' definitions; `omitted` capabilities did not fit in the list and are reachable only here. */
export function fixedTools(omitted: number): Tool[] {
  const cut =
    omitted > 0
      ? ` The tool list is truncated: ${omitted} live capabilities have no tool of their own; find them here ` +
        'and run them with call_capability.'
      : ''
  return [
    {
      name: 'find_capabilities',
      title: 'Find capabilities',
      description:
        'Search every capability live in the kith network by intent (what you want done, in words), best ' +
        'first. Each match names its provider peer, kind, risk, the verification tier a call gets, and its ' +
        `tool name when it has one.${cut}`,
      inputSchema: {
        type: 'object',
        properties: {
          intent: { type: 'string', minLength: 1, maxLength: 1000, description: 'what you want done' },
          tags: { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: 16 },
          kind: { type: 'string', enum: ['script', 'device', 'sensor'] },
          local: { type: 'boolean', description: "true: only this node's; false: only other nodes'" },
          limit: { type: 'integer', minimum: 1, maximum: 50, default: 10 },
        },
        required: ['intent'],
        additionalProperties: false,
      },
      annotations: { title: 'Find capabilities', readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'call_capability',
      title: 'Call a capability',
      description:
        'Run a capability by id somewhere in the network (on `provider` only, when given; else the best live ' +
        'provider, falling back to the next on failure). The result says which peer ran it, the tier and the ' +
        "verification outcome. High-risk capabilities need the user's confirmation: a prompt where the client " +
        'supports it, else "confirm": true once the user has agreed.',
      inputSchema: {
        type: 'object',
        properties: {
          capability: CAPABILITY_ID,
          input: { description: "the capability's input, as its input schema describes" },
          tier: { enum: ['auto', 1, 2, 3], description: 'verification tier; auto follows the risk' },
          provider: { type: 'string', minLength: 1, maxLength: 128, description: 'a peer id' },
          confirm: { type: 'boolean', description: 'for high-risk capabilities, after the user agreed' },
          timeoutMs: { type: 'integer', minimum: 100, maximum: MAX_TASK_TIMEOUT_MS },
        },
        required: ['capability'],
        additionalProperties: false,
      },
      annotations: { title: 'Call a capability', destructiveHint: true, openWorldHint: true },
    },
    {
      name: 'run_workflow',
      title: 'Run a workflow',
      description:
        'Run a kith workflow across the network: named steps, each a capability or an intent, whose inputs may ' +
        'reference earlier outputs (${steps.<id>.output.<path>}, ${input.<path>}); steps without dependencies ' +
        'run in parallel. Give it as YAML text or as a JSON object: {name, timeoutMs?, steps: [{id, capability ' +
        `| intent, input?, needs?, timeoutMs?, budget?, tier?, optional?}], output?}. It may run at most ` +
        `${MAX_TASK_TIMEOUT_MS / 1000} s. Reports each step's provider, tier and fallbacks. Steps that may reach ` +
        'a high-risk capability need confirmation, as for call_capability.',
      inputSchema: {
        type: 'object',
        properties: {
          workflow: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'object' }] },
          input: { description: 'what ${input…} references read' },
          confirm: { type: 'boolean' },
        },
        required: ['workflow'],
        additionalProperties: false,
      },
      annotations: { title: 'Run a workflow', destructiveHint: true, openWorldHint: true },
    },
    {
      name: 'list_peers',
      title: 'List peers',
      description:
        'The kith peers this node is connected to, and every provider with live capabilities (how many each).',
      inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      annotations: { title: 'List peers', readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'get_task',
      title: 'Get a task',
      description: 'A task run through this node, by the id a call result gave: status, provider, output.',
      inputSchema: {
        type: 'object',
        properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
        required: ['id'],
        additionalProperties: false,
      },
      annotations: { title: 'Get a task', readOnlyHint: true, openWorldHint: false },
    },
  ]
}

const riskiest = (offers: readonly { capability: Capability }[]): Capability['risk'] | undefined =>
  offers.some((o) => o.capability.risk === 'high')
    ? 'high'
    : offers.some((o) => o.capability.risk === 'medium')
      ? 'medium'
      : offers.length > 0
        ? 'low'
        : undefined

export const fixedHandlers: Record<string, Handler> = {
  async find_capabilities(args, ctx, snapshot) {
    const constraints: IntentConstraints = {}
    if (typeof args.kind === 'string') constraints.kind = args.kind as Capability['kind']
    if (typeof args.local === 'boolean') constraints.local = args.local
    const intent = {
      text: args.intent as string,
      ...(Array.isArray(args.tags) && args.tags.length > 0 ? { tags: args.tags as string[] } : {}),
      constraints,
    }
    const matches = await guard(
      ctx.backend.find(intent, (args.limit as number | undefined) ?? 10),
      'the search',
    )
    const found = matches.map((m) => ({
      capability: m.capability.id,
      title: m.capability.title,
      provider: m.peer,
      local: m.local,
      kind: m.capability.kind,
      risk: m.capability.risk,
      tier: tierForRisk(m.capability.risk),
      score: Math.round(m.score * 1000) / 1000,
      tool: snapshot.nameOf(m.peer, m.capability.id) ?? null,
    }))
    const lines = found.map(
      (f, i) =>
        `${i + 1}. ${f.capability} — ${f.title} — peer ${f.provider}${f.local ? ' (this node)' : ''}, ` +
        `${f.kind}, risk ${f.risk}, tier ${f.tier}${f.tool != null ? `, tool ${f.tool}` : ''}`,
    )
    return jsonResult(lines.length > 0 ? lines.join('\n') : 'No live capability matches.', { matches: found })
  },

  async call_capability(args, ctx, snapshot) {
    const id = args.capability as string
    const provider = args.provider as string | undefined
    const all = snapshot.offers.get(id) ?? []
    const offers = provider != null ? all.filter((o) => o.peer === provider) : all
    if (provider != null && offers.length === 0)
      return errorResult(
        `Peer ${provider} offers no live ${id}; nothing was run. Use find_capabilities to see who does.`,
        { error: { code: 'provider_gone', message: `${provider} offers no live ${id}` } },
      )
    return runCapability(ctx, {
      id,
      capability: offers[0]?.capability,
      riskiest: riskiest(offers),
      ...(provider != null ? { provider } : {}),
      input: args.input ?? {},
      ...(args.tier != null ? { tier: args.tier as 1 | 2 | 3 | 'auto' } : {}),
      ...(typeof args.timeoutMs === 'number' ? { timeoutMs: args.timeoutMs } : {}),
      confirmArgument: args.confirm,
    })
  },

  run_workflow: (args, ctx, snapshot) => runWorkflowTool(ctx, snapshot, args),

  async list_peers(_args, ctx, snapshot) {
    const peers = await guard(ctx.backend.peers(), 'the peer list')
    const counts = new Map<string, { local: boolean; capabilities: number }>()
    for (const offers of snapshot.offers.values())
      for (const o of offers) {
        const c = counts.get(o.peer)
        if (c != null) c.capabilities++
        else counts.set(o.peer, { local: o.local, capabilities: 1 })
      }
    const live = [...counts].map(([peer, c]) => ({ peer, ...c }))
    const text = [
      `${peers.length} connected peer(s):`,
      ...peers.map((p) => `- ${String(p.peerId)} ${String((p.addrs as string[] | undefined)?.[0] ?? '')}`),
      `${live.length} provider(s) with live capabilities:`,
      ...live.map((p) => `- ${p.peer}${p.local ? ' (this node)' : ''}: ${p.capabilities} capabilities`),
    ].join('\n')
    return jsonResult(text, { connected: peers, providers: live })
  },

  async get_task(args, ctx) {
    const id = args.id as string
    const task = await guard(ctx.backend.getTask(id), 'the task lookup')
    if (task == null)
      return errorResult(`No task ${id} is known to this node.`, {
        error: { code: 'not_found', message: `no task ${id}` },
      })
    const status = task.ok === true ? 'ok' : String(task.status ?? 'unknown')
    const who = task.provider != null ? ` on peer ${String(task.provider)}` : ''
    return jsonResult(`task ${id}: ${status}${who}\n${preview(task)}`, task)
  },
}
