import { describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/index.ts'
import { allLoopback, fastMessageId, mdnsEnabled } from '../../src/connectivity/host.ts'

describe('mDNS switch', () => {
  it('treats loopback-only listen addresses as having no LAN', () => {
    expect(allLoopback(['/ip4/127.0.0.1/tcp/7701'])).toBe(true)
    expect(allLoopback(['/ip6/::1/tcp/1', '/ip4/127.0.0.2/tcp/0'])).toBe(true)
    expect(allLoopback(['/ip4/127.0.0.1/tcp/1', '/p2p-circuit'])).toBe(true)
    expect(allLoopback(['/ip4/127.0.0.1/tcp/1', '/ip4/0.0.0.0/tcp/2'])).toBe(false)
    expect(allLoopback(['/ip4/192.168.1.5/tcp/7701'])).toBe(false)
  })

  it('is off by itself on loopback and on when the node listens on the LAN', () => {
    const loopback = configSchema.parse({}).network
    expect(mdnsEnabled(loopback)).toBe(false)
    const lan = configSchema.parse({ network: { listen: ['/ip4/0.0.0.0/tcp/7701'] } }).network
    expect(mdnsEnabled(lan)).toBe(true)
    const off = configSchema.parse({ network: { listen: ['/ip4/0.0.0.0/tcp/7701'], mdns: false } }).network
    expect(mdnsEnabled(off)).toBe(false)
  })
})

describe('gossipsub fast message id', () => {
  const bytes = (...b: number[]) => Uint8Array.from(b)
  const msg = { from: bytes(1, 2), seqno: bytes(3), topic: 't', data: bytes(4, 5), signature: bytes(6) }

  it('is the same for copies of one message and differs when any field differs, the signature included', () => {
    expect(fastMessageId({ ...msg })).toBe(fastMessageId(msg))
    const others = [
      { ...msg, signature: bytes(7) },
      { ...msg, data: bytes(4, 6) },
      { ...msg, seqno: bytes(4) },
      { ...msg, topic: 'u' },
      { ...msg, from: undefined },
      // field boundaries count: moving a byte from one field to the next is another message
      { ...msg, from: bytes(1), seqno: bytes(2, 3) },
    ]
    for (const other of others) expect(fastMessageId(other)).not.toBe(fastMessageId(msg))
  })
})
