/** `kith start --init --demo` (what `npm start` runs): a fresh node with a virtual household to act on. */
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { runCli, startCli, tempDir, waitFor, type RunningNode } from '../helpers.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

it('starts a fresh node with its demo household, whose plug can be found and switched', async () => {
  const { dir, cleanup } = await tempDir()
  cleanups.push(cleanup)
  const node: RunningNode = await startCli(join(dir, 'kith.yaml'), {
    args: ['--init', '--demo'],
    env: { KITH_API: '127.0.0.1:0', KITH_NETWORK_LISTEN: '[/ip4/127.0.0.1/tcp/0]' },
  })
  cleanups.push(() => node.stop())
  const api = node.ready.api
  type Devices = { devices: Array<{ id: string; online: boolean; capabilities: string[] }> }
  let devices: Devices['devices'] = []
  await waitFor('four demo devices online', async () => {
    devices = ((await (await fetch(`${api}/v1/devices`)).json()) as Devices).devices
    return devices.filter((d) => d.online).length === 4
  })
  const plug = devices
    .find((d) => d.id.includes('desk_plug'))
    ?.capabilities.find((c) => c.endsWith('.switch'))
  expect(plug).toBeDefined()
  const found = await runCli(['find', 'switch the desk plug', '--json', '--api', api])
  expect(found.code).toBe(0)
  const res = await runCli(['call', plug as string, '--input', '{"on":true}', '--json', '--api', api])
  expect(res.code).toBe(0)
  expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, output: { confirmed: true } })
  expect(await node.stop()).toBe(0)
})
