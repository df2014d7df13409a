/**
 * Issue 23: a promise nobody awaits or catches ends the node when it rejects, so src/ is linted with types
 * for `no-floating-promises` (a bare `void` included) and `no-misused-promises`. These checks keep the rules
 * on for every file of src/ and show that they find what they are for.
 */
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers.ts'

const eslint = new ESLint({ cwd: ROOT })
const FLOATING = '@typescript-eslint/no-floating-promises'
const MISUSED = '@typescript-eslint/no-misused-promises'
/** an existing file of src/, so the project service knows it; its text is replaced by the probe's */
const PROBE = 'src/util/logger.ts'

describe('typed lint rules for src/', () => {
  it('are errors for src/ files, a void not excused', async () => {
    for (const file of ['src/execution/task-server.ts', 'src/cli/main.ts', 'src/node/node.ts']) {
      const { rules } = (await eslint.calculateConfigForFile(join(ROOT, file))) as {
        rules: Record<string, unknown[]>
      }
      expect(rules[FLOATING]?.[0]).toBe(2)
      expect(rules[FLOATING]?.[1]).toMatchObject({ ignoreVoid: false })
      expect(rules[MISUSED]?.[0]).toBe(2)
    }
  })

  it('report a voided promise and a promise where a callback returns nothing', async () => {
    const code = [
      'export async function send(): Promise<void> {}',
      'void send()',
      'setTimeout(async () => { await send() }, 1).unref()',
      "process.on('SIGHUP', async () => { await send() })",
      '',
    ].join('\n')
    const [result] = await eslint.lintText(code, { filePath: join(ROOT, PROBE) })
    const found = result!.messages.map((m) => m.ruleId ?? m.message)
    expect(found).toEqual([FLOATING, MISUSED, MISUSED])
  }, 60_000)
})
