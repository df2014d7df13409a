import { describe, expect, it } from 'vitest'
import { agentVersion, nameFromAgent } from '../../src/connectivity/peer-names.ts'

describe('peer names in identify', () => {
  it('round-trips a configured name through the agent version', () => {
    expect(agentVersion('0.1.0', 'kitchen')).toBe('kith/0.1.0 name=kitchen')
    expect(nameFromAgent(agentVersion('0.1.0', 'kitchen'))).toBe('kitchen')
    expect(agentVersion('0.1.0')).toBe('kith/0.1.0')
    expect(nameFromAgent('kith/0.1.0')).toBeUndefined()
  })

  it('takes only names the config schema allows, from kith agents', () => {
    for (const agent of [
      undefined,
      'js-libp2p/3.0.0 UserAgent=node/24',
      'kith/0.1.0 name=<script>',
      'kith/0.1.0 name=-dash',
      'kith/0.1.0 name=kitchen extra',
      'kith/0.1.0 name=kit\u0000chen',
      `kith/0.1.0 name=${'a'.repeat(64)}`,
      `kith/${'9'.repeat(200)} name=kitchen`,
    ])
      expect(nameFromAgent(agent), String(agent)).toBeUndefined()
    expect(nameFromAgent(`kith/0.1.0 name=${'a'.repeat(63)}`)).toBe('a'.repeat(63))
    // a name this node could not have been configured with is not sent either
    expect(agentVersion('0.1.0', 'bad name')).toBe('kith/0.1.0')
  })
})
