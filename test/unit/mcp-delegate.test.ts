/** A tool bound to one provider: delegation with `provider` tries that peer only, never another's same id. */
import { describe, expect, it } from 'vitest'
import type { Capability } from '../../src/discovery/descriptor.ts'
import type { CapabilityIndex } from '../../src/discovery/matcher/index.ts'
import { delegate, type DelegateComponents } from '../../src/execution/delegate.ts'
import type { TaskClient } from '../../src/execution/task-client.ts'

const plug: Capability = {
  id: 'plug.switch',
  title: 'Plug',
  description: '',
  tags: [],
  kind: 'device',
  risk: 'medium',
  input: {},
  output: {},
}

function components(called: string[], failing: string[] = []): DelegateComponents {
  return {
    providers: {
      of: () => ['hall-hub', 'garage-hub'].map((peer) => ({ peer, capability: plug, local: false })),
    },
    index: {} as CapabilityIndex,
    client: {
      call: async (peer: string) => {
        called.push(peer)
        return failing.includes(peer)
          ? { status: 'error', error: { code: 'offline', message: 'device offline' } }
          : { status: 'ok', output: { confirmed: true } }
      },
    } as unknown as TaskClient,
    runLocal: async () => ({ status: 'error' }),
    newId: () => 'task-1',
  }
}

describe('delegation to one provider', () => {
  it('runs on the named provider only', async () => {
    const called: string[] = []
    const result = await delegate(components(called), {
      target: { capability: 'plug.switch' },
      input: {},
      timeoutMs: 1_000,
      provider: 'garage-hub',
    })
    expect(result).toMatchObject({ ok: true, provider: 'garage-hub' })
    expect(called).toEqual(['garage-hub'])
  })

  it('does not fall back to another provider when the named one fails, or offers nothing', async () => {
    const called: string[] = []
    const failed = await delegate(components(called, ['hall-hub']), {
      target: { capability: 'plug.switch' },
      input: {},
      timeoutMs: 1_000,
      provider: 'hall-hub',
    })
    expect(failed).toMatchObject({ ok: false, status: 'error' })
    expect(called).toEqual(['hall-hub'])
    const gone = await delegate(components([]), {
      target: { capability: 'plug.switch' },
      input: {},
      timeoutMs: 1_000,
      provider: 'attic-hub',
    })
    expect(gone).toMatchObject({ ok: false, status: 'no_provider' })
  })
})
