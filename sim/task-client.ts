/**
 * The simulated stand-in for kith's TaskClient, the boundary where `delegate()` meets the network: a call
 * is a message to the provider, the provider's answer a message back, and no answer within `timeoutMs`
 * (virtual) rejects as the real client does, with a `RequestTimeoutError`. Every settlement wakes the
 * simulator, so delegation's continuations run before virtual time moves on.
 */
import type { TaskClient } from '../src/execution/task-client.ts'
import { RequestTimeoutError } from '../src/execution/task-errors.ts'
import type { TaskReply } from '../src/execution/task-wire.ts'
import type { Simulator } from './clock.ts'
import type { Network } from './network.ts'
import type { SimProvider } from './provider.ts'

/** Bytes counted for a task frame and for its reply (the frames are not encoded in the simulator). */
export const TASK_BYTES = 256

export interface SimClientInit {
  sim: Simulator
  net: Network
  /** the requester's node index */
  self: number
  providers: ReadonlyMap<string, SimProvider>
  /** told of every call made (canaries included) */
  onCall?: () => void
}

/**
 * @example
 * delegate({ ...components, client: simTaskClient({ sim, net, self: r.index, providers: byPeer }) }, request)
 */
export function simTaskClient(init: SimClientInit): TaskClient {
  const { sim, net, self, providers } = init
  const call = (peer: string, task: { cap: string; input: unknown; timeoutMs: number; id?: string }) =>
    new Promise<TaskReply>((resolve, reject) => {
      init.onCall?.()
      const provider = providers.get(peer)
      let settled = false
      const settle = (fn: () => void) => {
        if (settled) return
        settled = true
        sim.wake()
        fn()
      }
      sim.after(task.timeoutMs, () => settle(() => reject(new RequestTimeoutError('no answer in time'))))
      if (provider === undefined) return
      net.send(self, provider.index, 'task', TASK_BYTES, () => {
        const output = provider.answer(task.cap, (task.input as { x: number }).x)
        net.send(provider.index, self, 'reply', TASK_BYTES, () =>
          settle(() => resolve({ t: 'res', id: task.id ?? '', status: 'ok', output })),
        )
      })
    })
  // only `call` is used by delegate(); the real client's streams and keys have no place here
  return { call } as unknown as TaskClient
}
