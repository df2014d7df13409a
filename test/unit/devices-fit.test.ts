import { describe, expect, it } from 'vitest'
import type { Capability } from '../../src/discovery/descriptor.ts'
import { MAX_DESCRIPTOR_CAPS } from '../../src/discovery/descriptor.ts'
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

  it('fits the node’s own capabilities too, by entries and by bytes, so the copy can always be signed', () => {
    const small = Array.from({ length: 100 }, (_, i) => ({ ...cap(`own${i}`, 'script'), description: '' }))
    const byCount = fitDescriptor(small, [cap('d.set', 'device')])
    expect(byCount.offered).toHaveLength(MAX_DESCRIPTOR_CAPS)
    expect(byCount.offered.every((c) => c.kind === 'script')).toBe(true)
    expect(byCount.left).toBe(101 - MAX_DESCRIPTOR_CAPS)
    const large = Array.from({ length: 20 }, (_, i) => ({
      ...cap(`big${i}`, 'script'),
      description: 'x'.repeat(2000),
    }))
    const byBytes = fitDescriptor(large, [])
    expect(byBytes.offered.length).toBeLessThan(20)
    expect(byBytes.offered.length + byBytes.left).toBe(20)
  })
})
