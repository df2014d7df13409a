import { describe, expect, it } from 'vitest'
import type { Capability } from '../../src/discovery/descriptor.ts'
import { fitDescriptor } from '../../src/discovery/fit-v1.ts'

const cap = (id: string, kind: Capability['kind']): Capability => ({
  id,
  title: `${id} title`,
  description: 'x'.repeat(200),
  tags: ['a', 'b'],
  kind,
  risk: 'low',
  input: { type: 'object' },
  output: { type: 'object' },
})

describe('fitDescriptor', () => {
  it('keeps everything that fits', () => {
    const { offered, left } = fitDescriptor(
      [cap('own', 'script')],
      [cap('d.set', 'device'), cap('d.t', 'sensor')],
    )
    expect(offered.map((c) => c.id)).toEqual(['own', 'd.set', 'd.t'])
    expect(left).toBe(0)
  })

  it('keeps the node’s own capabilities and device actions before sensors when a hub has many devices', () => {
    const sensors = Array.from({ length: 100 }, (_, i) => cap(`s${i}.temp`, 'sensor'))
    const actions = Array.from({ length: 20 }, (_, i) => cap(`a${i}.set`, 'device'))
    const { offered, left } = fitDescriptor([cap('own', 'script')], [...sensors, ...actions])
    expect(left).toBeGreaterThan(0)
    expect(offered[0]?.id).toBe('own')
    expect(offered.filter((c) => c.kind === 'device')).toHaveLength(20)
    expect(offered.length + left).toBe(121)
  })
})
