/** `kith config explain` as users run it: a child process, its stdout, stderr and exit code. */
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers.ts'

describe('kith config explain', () => {
  it('prints a key: path, type, default and description', async () => {
    const res = await runCli(['config', 'explain', 'api.maxConnections'])
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/^api\.maxConnections\n {2}type: +integer \(1 … 4096\)\n {2}default: +64\n/)
    expect(res.stdout).toContain('Sockets open at once.')
  })

  it('lists the keys of a section', async () => {
    const res = await runCli(['config', 'explain', 'network.relay'])
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/network\.relay\.client +boolean, default true/)
    expect(res.stdout).toMatch(/network\.relay\.server +boolean, default false/)
  })

  it('answers an unknown key with one line naming the nearest keys, exit code 2', async () => {
    const res = await runCli(['config', 'explain', 'network.maxConection'])
    expect(res.code).toBe(2)
    expect(res.stdout).toBe('')
    expect(res.stderr).toBe(
      'kith: no config key "network.maxConection"; did you mean network.maxConnections, api.maxConnections?\n',
    )
  })
})
