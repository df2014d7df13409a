import { describe, expect, it } from 'vitest'
import type { Task } from '../src/types.ts'
import { evidence, latency } from '../src/views/tasks.tsx'

const task = (extra: Partial<Task>): Task => ({
  id: 't',
  direction: 'out',
  cap: 'c',
  status: 'ok',
  createdAt: 0,
  ...extra,
})

describe('evidence', () => {
  it('tells a TPM quote from a software receipt by the evidence check', () => {
    const check = (result: 'pass' | 'fail' | 'skipped', reason?: string) => [
      { name: 'evidence', result, ...(reason != null ? { reason } : {}) },
    ]
    expect(evidence(check('pass', 'tpm quote'))).toEqual({ receipt: 'yes', tpm: 'yes' })
    expect(evidence(check('pass', 'software receipt'))).toEqual({ receipt: 'yes', tpm: 'no' })
    expect(evidence(check('fail', 'bad signature'))).toEqual({ receipt: 'invalid', tpm: 'no' })
    expect(evidence([])).toEqual({ receipt: 'no', tpm: 'no' })
  })
})

describe('latency', () => {
  it('is end minus start, else the sum of the attempts', () => {
    expect(latency(task({ startedAt: 10, endedAt: 130 }))).toBe(120)
    const attempts = [
      { peer: 'a', local: false, status: 'timeout', ms: 1000 },
      { peer: 'b', local: false, status: 'ok', ms: 40 },
    ]
    expect(latency(task({ result: { ok: true, status: 'ok', attempts } }))).toBe(1040)
    expect(latency(task({}))).toBeUndefined()
  })
})
