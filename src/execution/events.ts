/**
 * What the execution plane publishes on the node's event bus (src/util/event-bus.ts): the task journal's
 * writes and the capability registry's changes.
 */

export interface ExecutionEvents {
  /** a task row was written, or a write of one was deferred (`GET /v1/events` names it `tasks`) */
  task: { id?: string }
  /** a capability was registered, replaced or dropped from the registry */
  capability: { id: string; change: 'registered' | 'unregistered' }
  /** tasks running plus waiting changed (the state sampler advertises it as `state.queue`) */
  queue: { size: number }
}
