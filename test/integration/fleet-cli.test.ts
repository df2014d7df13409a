/** `kith fleet render` through the real CLI: files, modes, output lines and exit codes. */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentity } from '../../src/connectivity/identity.ts'
import { ROOT, runCli, tempDir } from '../helpers.ts'

const FLEET = join(ROOT, 'test/fixtures/fleet/fleet.yaml')
let dir: string
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('kith-fleet-'))
})
afterAll(() => cleanup())

describe('kith fleet render', () => {
  it('writes DIR/<node>/kith.yaml with mode 0640 and a header, then leaves unchanged files alone', async () => {
    const out = join(dir, 'out')
    const first = await runCli(['fleet', 'render', FLEET, '--out', out])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    const files = ['hub', 'kitchen', 'garage'].map((n) => join(out, n, 'kith.yaml'))
    expect(first.stdout).toBe(files.map((f) => `wrote ${f}\n`).join(''))
    const hub = await readFile(files[0]!, 'utf8')
    // the same text as the golden file but for the header's path to the fleet file
    const golden = await readFile(join(ROOT, 'test/fixtures/fleet/expected/hub/kith.yaml'), 'utf8')
    const body = (text: string) => text.split('\n').slice(1).join('\n')
    expect(body(hub)).toBe(body(golden))
    expect(hub.split('\n')[0]).toMatch(
      /^# Rendered by `kith fleet render` from \S*fleet\.yaml \(node hub\)\.$/,
    )
    expect(hub).toMatch(/Do not edit by hand/)
    expect((await stat(files[0]!)).mode & 0o777).toBe(0o640)

    const second = await runCli(['fleet', 'render', FLEET, '--out', out, '--node', 'kitchen'])
    expect(second.stdout).toBe(`unchanged ${files[1]}\n`)
    // with its scripts and an identity beside it, the rendered directory is a node kith accepts
    const kitchen = join(out, 'kitchen')
    await mkdir(join(kitchen, 'scripts'))
    for (const script of ['summarize', 'weather', 'recipes'])
      await writeFile(join(kitchen, 'scripts', `${script}.js`), 'function run(input) { return input }\n')
    await createIdentity(join(kitchen, 'identity.key'))
    const check = await runCli(['config', 'check', files[1]!])
    expect(check.stderr).toBe('')
    expect(check.code).toBe(0)
  })

  it('checks without writing, prints one node with --stdout, and refuses bad usage', async () => {
    const out = join(dir, 'never')
    const check = await runCli(['fleet', 'render', FLEET, '--check', '--out', out])
    expect(check.code).toBe(0)
    expect(check.stdout).toBe('ok hub\nok kitchen\nok garage\n')
    await expect(stat(out)).rejects.toThrow()

    const one = await runCli(['fleet', 'render', FLEET, '--stdout', '--node', 'garage'])
    expect(one.code).toBe(0)
    expect(one.stdout).toMatch(/^# Rendered by `kith fleet render` from fleet\.yaml \(node garage\)\./)
    expect(one.stdout).toMatch(/\nname: garage-pi\n/)

    expect((await runCli(['fleet', 'render', FLEET, '--stdout'])).code).toBe(2)
    const unknown = await runCli(['fleet', 'render', FLEET, '--check', '--node', 'attic'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/no node named "attic"/)
  })

  it('exits 78 with FILE:LINE: path: problem and writes nothing when a node is invalid', async () => {
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'fleet: 1\ndefaults:\n  discovery: { ttl: 5 }\nnodes:\n  - name: a\n')
    const out = join(dir, 'bad-out')
    const res = await runCli(['fleet', 'render', bad, '--out', out])
    expect(res.code).toBe(78)
    expect(res.stderr).toMatch(new RegExp(`^${bad}:3: defaults\\.discovery\\.ttl: .*\\(node a\\)\\n$`))
    await expect(stat(out)).rejects.toThrow()
  })
})
