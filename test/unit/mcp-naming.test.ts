import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FIXED_TOOL_NAMES } from '../../src/api/mcp/constants.ts'
import { type Offer, offerKey, TOOL_NAME, toolNames } from '../../src/api/mcp/naming.ts'

const FIXED = new Set<string>(FIXED_TOOL_NAMES)
const PEER_A = '12D3KooWGzcmJ8o4wYbXyq9PZ8rSXz6Dd8kAaaa111'
const PEER_B = '12D3KooWHx2u3LmrmZbqN5wsbqGz8Kp1xKbbbb222'

const named = (offers: Offer[]) => {
  const names = toolNames(offers, FIXED)
  return offers.map((o) => names.get(offerKey(o)))
}

describe('tool names', () => {
  it('names a capability with one provider by its id, dots made underscores', () => {
    expect(named([{ id: 'light.living-room', peer: PEER_A }])).toEqual(['light_living-room'])
  })

  it('gives each provider of a shared id its own tool, suffixed with the tail of its peer id', () => {
    const [a, b] = named([
      { id: 'double', peer: PEER_A },
      { id: 'double', peer: PEER_B },
    ])
    expect(a).toBe('double_aaa111')
    expect(b).toBe('double_bbb222')
  })

  it('lengthens the tails when two providers end alike', () => {
    const [a, b] = named([
      { id: 'double', peer: '12D3KooWxyz-same99' },
      { id: 'double', peer: '12D3KooWabc-same99' },
    ])
    expect(a).not.toBe(b)
    expect(a).toMatch(/^double_.*same99$/)
  })

  it('does not depend on the order offers arrive in', () => {
    const offers: Offer[] = [
      { id: 'double', peer: PEER_A },
      { id: 'a.b', peer: PEER_B },
      { id: 'a_b', peer: PEER_A },
      { id: 'double', peer: PEER_B },
    ]
    const forward = toolNames(offers, FIXED)
    const backward = toolNames([...offers].reverse(), FIXED)
    expect([...backward].sort()).toEqual([...forward].sort())
  })

  it('separates ids that sanitize alike, and never takes a fixed tool name', () => {
    const [dotted, underscored, fixed] = named([
      { id: 'a.b', peer: PEER_A },
      { id: 'a_b', peer: PEER_A },
      { id: 'list_peers', peer: PEER_A },
    ])
    expect(dotted).not.toBe(underscored)
    expect(dotted).toMatch(/^a_b_[0-9a-f]{6}$/)
    expect(fixed).toMatch(/^list_peers_[0-9a-f]{6}$/)
  })

  it('keeps 64-character ids within 64 characters, distinct, with several providers', () => {
    const long = 'x'.repeat(60)
    const offers: Offer[] = ['1', '2'].flatMap((n) => [
      { id: `${long}.${n}`.slice(0, 64), peer: PEER_A },
      { id: `${long}.${n}`.slice(0, 64), peer: PEER_B },
    ])
    const names = named(offers)
    expect(new Set(names).size).toBe(4)
    for (const name of names) expect(name).toMatch(TOOL_NAME)
  })

  it('always yields distinct names in the MCP charset', () => {
    const id = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/)
    const peer = fc.stringMatching(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{4,44}$/)
    fc.assert(
      fc.property(fc.array(fc.record({ id, peer }), { maxLength: 40 }), (offers) => {
        const names = toolNames(offers, FIXED)
        const unique = new Map(offers.map((o) => [offerKey(o), o]))
        expect(names.size).toBe(unique.size)
        expect(new Set(names.values()).size).toBe(names.size)
        for (const name of names.values()) {
          expect(name).toMatch(TOOL_NAME)
          expect(FIXED.has(name)).toBe(false)
        }
      }),
      { numRuns: 200 },
    )
  })
})
