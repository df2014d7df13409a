/** `kith fleet owner init` and `kith init --owner` as users run them: a child process and real files. */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOwnerKey } from '../../src/fleet/owner.ts'
import { runCli, startCli, tempDir } from '../helpers.ts'

let root: string
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ dir: root, cleanup } = await tempDir('kith-owner-'))
})
afterAll(() => cleanup())

describe('kith fleet owner init', () => {
  it('writes a mode-0600 key, prints its id, refuses to replace it, and kith init --owner names it', async () => {
    const dir = join(root, 'owner')
    const res = await runCli(['fleet', 'owner', 'init', '--dir', dir])
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    const id = res.stdout.trim()
    expect(id).toMatch(/^12D3KooW\w+$/)
    const key = join(dir, 'owner.key')
    expect((await stat(key)).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect((await loadOwnerKey(key)).id).toBe(id)

    const before = await readFile(key, 'utf8')
    const again = await runCli(['fleet', 'owner', 'init', '--dir', dir])
    expect(again.code).toBe(78)
    expect(again.stderr).toMatch(/^kith: bad_owner_key: .*owner\.key: already exists; refusing to replace/)
    expect(again.stderr).toMatch(/keep it, or give another --dir/)
    expect(await readFile(key, 'utf8')).toBe(before)

    const node = join(root, 'node')
    const init = await runCli([
      'init',
      '--dir',
      node,
      '--owner',
      id,
      '--api',
      '127.0.0.1:0',
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
    ])
    expect(init.stderr).toBe('')
    expect(init.code).toBe(0)
    const config = join(node, 'kith.yaml')
    expect(await readFile(config, 'utf8')).toContain(`\nowner: ${id}\n`)
    const check = await runCli(['config', 'check', config])
    expect(check.stdout.trim()).toBe(`${config}: ok`)
    expect(check.code).toBe(0)

    // the running node shows the owner its config names
    const running = await startCli(config)
    const status = await runCli(['status', '--api', running.ready.api, '--json'])
    expect(JSON.parse(status.stdout)).toMatchObject({ owner: id })
    expect(await running.stop('SIGTERM')).toBe(0)
  })

  it('prints {"owner","key"} with --json', async () => {
    const dir = join(root, 'json')
    const res = await runCli(['fleet', 'owner', 'init', '--dir', dir, '--json'])
    expect(res.code).toBe(0)
    const out = JSON.parse(res.stdout) as { owner: string; key: string }
    expect(out.key).toBe(join(dir, 'owner.key'))
    expect((await loadOwnerKey(out.key)).id).toBe(out.owner)
  })

  it('kith init refuses an owner that is not a peer id and writes nothing', async () => {
    const dir = join(root, 'bad')
    const res = await runCli(['init', '--dir', dir, '--owner', 'someone'])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/--owner someone: not a valid libp2p peer id/)
    await expect(stat(dir)).rejects.toThrow(/ENOENT/)
  })
})
