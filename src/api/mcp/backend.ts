/**
 * What the MCP tools need from a kith node. Two implementations: in the node itself (`POST /mcp`,
 * {@link localBackend}) and over the node's HTTP API (`kith mcp` over stdio, {@link remoteBackend}), so the
 * tools behave the same on both transports.
 */
import type { Capability } from '../../discovery/descriptor.ts'
import type { Intent, Match } from '../../discovery/matcher/index.ts'
import type { TaskRecord } from '../tasks.ts'
import { KithError } from '../../util/errors.ts'

/** One live descriptor, reduced to what tools are made of. */
export interface LiveProvider {
  peer: string
  /** the descriptor is the node's own */
  local: boolean
  caps: readonly Capability[]
}

export interface TaskRequest {
  capability: string
  input: unknown
  tier?: 1 | 2 | 3 | 'auto'
  /** only this peer may run it */
  provider?: string
  timeoutMs?: number
}

export interface WorkflowRequest {
  workflow: string
  file?: string
  input?: unknown
}

export interface McpBackend {
  /** every live descriptor held by the node, its own included */
  providers(): Promise<readonly LiveProvider[]>
  find(intent: Intent, limit: number): Promise<Match[]>
  runTask(request: TaskRequest): Promise<TaskRecord>
  runWorkflow(request: WorkflowRequest): Promise<Record<string, unknown>>
  peers(): Promise<Array<Record<string, unknown>>>
  /** undefined when the node knows no such task */
  getTask(id: string): Promise<Record<string, unknown> | undefined>
}

/** A refusal or failure of the backend that the caller should see as it is (bad workflow, node unreachable). */
export class BackendError extends KithError {
  static override readonly code = 'backend_failed'
  static override readonly status = 502
  static override readonly codeVaries = true
  constructor(code: string, message: string) {
    super(message, { code })
    this.name = 'BackendError'
  }
}
