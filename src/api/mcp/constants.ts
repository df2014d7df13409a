/** Limits and defaults of the MCP server (docs/mcp.md). */

/** Most tools made from network capabilities; the rest stay reachable through find/call_capability. */
export const MAX_DYNAMIC_TOOLS = 500

/** Largest `arguments` of one tools/call, as JSON. */
export const MAX_ARGUMENT_BYTES = 256 * 1024

/**
 * Longest task or workflow run through MCP. The stdio server reaches the node through the API client,
 * which gives up after 30 s; this leaves the node time to answer with the task's own timeout outcome.
 */
export const MAX_TASK_TIMEOUT_MS = 25_000

/** A call that has had no answer from the backend after this long fails instead of hanging. */
export const CALL_GUARD_MS = 28_000

/** How long a confirmation prompt (elicitation) waits for the user. */
export const ELICIT_TIMEOUT_MS = 120_000

/** How often the tool list is compared with the live capabilities: in the node, and by `kith mcp`. */
export const LOCAL_POLL_MS = 1_000
export const REMOTE_POLL_MS = 2_000

/** Streamable HTTP sessions at once, and how long one may sit without a request or an open stream. */
export const MAX_SESSIONS = 16
export const SESSION_IDLE_MS = 10 * 60_000

/** Longest output text put in a tool result's text (the structured content has it all). */
export const MAX_RESULT_TEXT = 16 * 1024

/** The names of the fixed tools; a capability tool never takes one of them. */
export const FIXED_TOOL_NAMES = [
  'find_capabilities',
  'call_capability',
  'run_workflow',
  'list_peers',
  'get_task',
] as const
